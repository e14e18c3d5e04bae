import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256Bytes } from './hash.js';

/**
 * A content-addressed store for expensive, reusable work: trained θ* and Fisher inverses.
 * Each entry is one file `<kind>-<key>.bin`: a little-endian u32 header length, a JSON header
 * (with the payload's SHA-256), then float payload arrays back to back. Entries are written to a
 * temporary name and renamed, so a killed process never leaves a half-written entry; an entry
 * that fails its checksum is treated as absent (and replaced) rather than trusted.
 */
export interface CacheEntry<M> {
  meta: M;
  arrays: Float32Array[] | Float64Array[];
}

const MAGIC = 'SSSECACHE1';

export class ArtefactCache {
  constructor(readonly dir: string) {}

  private file(kind: string, key: string): string {
    return path.join(this.dir, `${kind}-${key}.bin`);
  }

  has(kind: string, key: string): boolean {
    return fs.existsSync(this.file(kind, key));
  }

  /** The stored entry, or null when absent or damaged. */
  read<M>(kind: string, key: string): { meta: M; arrays: Float32Array[] | Float64Array[] } | null {
    const file = this.file(kind, key);
    let buf: Buffer;
    try {
      buf = fs.readFileSync(file);
    } catch {
      return null;
    }
    try {
      const headerLength = buf.readUInt32LE(0);
      const header = JSON.parse(buf.subarray(4, 4 + headerLength).toString('utf8')) as {
        magic: string;
        dtype: 'float32' | 'float64';
        lengths: number[];
        sha256: string;
        meta: M;
      };
      if (header.magic !== MAGIC) return null;
      const width = header.dtype === 'float32' ? 4 : 8;
      const start = 4 + headerLength;
      const total = header.lengths.reduce((s, l) => s + l, 0);
      if (buf.length !== start + total * width) return null;
      // Copy into an aligned buffer: typed-array views need offsets that are multiples of width.
      const payload = new Uint8Array(total * width);
      payload.set(buf.subarray(start));
      if (sha256Bytes(payload) !== header.sha256) return null;
      const arrays: (Float32Array | Float64Array)[] = [];
      let offset = 0;
      for (const len of header.lengths) {
        arrays.push(
          header.dtype === 'float32'
            ? new Float32Array(payload.buffer, offset, len)
            : new Float64Array(payload.buffer, offset, len),
        );
        offset += len * width;
      }
      return { meta: header.meta, arrays: arrays as Float32Array[] | Float64Array[] };
    } catch {
      return null;
    }
  }

  write<M>(kind: string, key: string, meta: M, arrays: Float32Array[] | Float64Array[]): string {
    fs.mkdirSync(this.dir, { recursive: true });
    const dtype = arrays[0] instanceof Float64Array ? 'float64' : 'float32';
    const parts = (arrays as (Float32Array | Float64Array)[]).map(
      (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    );
    const payload = Buffer.concat(parts);
    const header = Buffer.from(
      JSON.stringify({ magic: MAGIC, dtype, lengths: arrays.map((a) => a.length), sha256: sha256Bytes(payload), meta }),
      'utf8',
    );
    const lengthField = Buffer.alloc(4);
    lengthField.writeUInt32LE(header.length, 0);
    const file = this.file(kind, key);
    const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    try {
      const fd = fs.openSync(tmp, 'w');
      try {
        fs.writeSync(fd, lengthField);
        fs.writeSync(fd, header);
        fs.writeSync(fd, payload);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    return file;
  }
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readFullyAt, sha256Bytes, sha256OfFileRange, writeFullyAt } from './hash.js';
import { isProcessAlive } from './pid.js';

/**
 * A content-addressed store for expensive, reusable work: trained θ* and Fisher inverses.
 * Each entry is one file `<kind>-<key>.bin`: a little-endian u32 header length, a JSON header
 * (with the payload's SHA-256), then float payload arrays back to back. Entries are written to a
 * temporary name and renamed, so a killed process never leaves a half-written entry; an entry
 * that fails its checksum is treated as absent (and replaced) rather than trusted.
 *
 * Entries written since the streamed reader (`open`) also carry one CRC-32 per array in the header
 * (`array_crc32`), so that a single array can be read at its offset and checked on its own: an
 * erasure then reads the Fisher blocks it needs, one at a time, instead of the whole file. Older
 * entries lack the field and are read whole (and checked by their SHA-256) on first use; readers
 * that predate the field ignore it. CRC-32 guards against damage, like the SHA-256 it complements;
 * neither is a defence against someone who can rewrite the cache.
 */
export interface CacheEntry<M> {
  meta: M;
  arrays: Float32Array[] | Float64Array[];
}

const MAGIC = 'SSSECACHE1';

/** An entry being written (ArtefactCache.writer). */
export interface CacheWriter {
  /** Writes array i (its length and dtype as declared) at its place in the entry. */
  put(i: number, array: Float32Array | Float64Array): void;
  /** Publishes the entry once every array is written; returns its file. */
  commit(): string;
  /** Drops the unpublished entry. */
  abort(): void;
}

interface Header<M> {
  magic: string;
  dtype: 'float32' | 'float64';
  lengths: number[];
  sha256: string;
  /** CRC-32 of each array's bytes (absent in entries from before the streamed reader). */
  array_crc32?: number[];
  meta: M;
}

type ZlibWithCrc = typeof zlib & { crc32?: (data: Uint8Array, value?: number) => number };

let crcTable: Int32Array | null = null;

/**
 * CRC-32 (IEEE, as zlib and gzip): zlib's native one where Node has it (≥ 20.15), else crc32Table.
 * `previous` continues a CRC over bytes that came before (crc32(b, crc32(a)) = crc32(a ‖ b)).
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  const native = (zlib as ZlibWithCrc).crc32;
  return native ? native(bytes, previous) >>> 0 : crc32Table(bytes, previous);
}

/** The same CRC-32 in JavaScript, byte by byte from a 256-entry table (for Node without zlib.crc32). */
export function crc32Table(bytes: Uint8Array, previous = 0): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c;
    }
  }
  let c = previous ^ -1;
  for (let i = 0; i < bytes.length; i++) c = (crcTable[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function checkPieces(dtype: 'float32' | 'float64', pieceLength: number): void {
  if (dtype !== 'float32') throw new Error('readArrayPieces: the entry is float64; pieces are read from float32 entries only');
  if (!(Number.isInteger(pieceLength) && pieceLength >= 1)) throw new Error(`readArrayPieces: pieceLength must be a whole number ≥ 1 (got ${pieceLength})`);
}

/** A stored entry opened for positioned reads: its header now, each array when asked for. */
export interface EntryReader<M> {
  readonly meta: M;
  readonly dtype: 'float32' | 'float64';
  readonly lengths: readonly number[];
  /** Bytes read from the file so far (header included). */
  readonly bytesRead: number;
  /**
   * Array i, read at its offset and checked against its CRC-32, or null when it is damaged.
   * `scratch` (at least the array's byte length) is reused instead of allocating, in which case
   * the result is a view on it, valid until the next read into the same scratch.
   */
  readArray(i: number, scratch?: ArrayBuffer): Float32Array | Float64Array | null;
  /**
   * Array i of a float32 entry, streamed in pieces of `pieceLength` elements (the last may be
   * shorter) through one small buffer: `visit` gets each piece and the index of its first element,
   * in order, while the CRC-32 is carried along. True when the whole array matched its CRC-32;
   * false when it is damaged, in which case what `visit` computed must be discarded. A consumer
   * that works through the array once (a matrix–vector product) then reads it while it is still in
   * cache and needs no array-sized buffer. A piece is a view on the reader's buffer, valid until
   * `visit` returns.
   */
  readArrayPieces(i: number, pieceLength: number, visit: (piece: Float32Array, first: number) => void): boolean;
  close(): void;
}

/**
 * Removes `<file>.tmp-<pid>-<time>` files whose writer process is gone (listCache's orphans): an
 * entry being written when its process was killed. A live writer's file (another request at work)
 * is left alone.
 */
export function removeOrphans(file: string): string[] {
  const prefix = `${path.basename(file)}.tmp-`;
  let files: CacheFile[];
  try {
    files = listCache(path.dirname(file));
  } catch {
    return []; // an unreadable directory: the writer's own errors will say what is wrong
  }
  const orphans = files.filter((f) => f.status === 'orphan' && f.name.startsWith(prefix));
  for (const f of orphans) fs.rmSync(path.join(path.dirname(file), f.name), { force: true });
  return orphans.map((f) => f.name);
}

/** One file of a cache directory: a published entry, or the temporary file of a writer. */
export interface CacheFile {
  name: string;
  kind: string;
  key: string;
  bytes: number;
  /** When it was last written. */
  modified: Date;
  /** entry: published; writing: a live process is writing it; orphan: its writer was killed. */
  status: 'entry' | 'writing' | 'orphan';
}

const ENTRY_NAME = /^(.+)-([^-]+)\.bin$/;
const TEMP_NAME = /^(.+)-([^-]+)\.bin\.tmp-(\d+)-\d+$/;

/**
 * The cache's files, newest first: entries (`<kind>-<key>.bin`) and writers' temporary files.
 * Files of other names are not the cache's and are not listed. A missing directory is empty.
 */
export function listCache(dir: string): CacheFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const files: CacheFile[] = [];
  for (const name of names) {
    const temp = TEMP_NAME.exec(name);
    const entry = temp ? null : ENTRY_NAME.exec(name);
    const match = temp ?? entry;
    if (!match) continue;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(path.join(dir, name));
    } catch {
      continue; // gone meanwhile (a writer published or aborted)
    }
    if (!stat.isFile()) continue;
    files.push({
      name,
      kind: match[1] as string,
      key: match[2] as string,
      bytes: stat.size,
      modified: stat.mtime,
      status: temp ? (isProcessAlive(Number(temp[3])) ? 'writing' : 'orphan') : 'entry',
    });
  }
  return files.sort((a, b) => b.modified.getTime() - a.modified.getTime() || a.name.localeCompare(b.name));
}

export class ArtefactCache {
  constructor(readonly dir: string) {}

  private file(kind: string, key: string): string {
    return path.join(this.dir, `${kind}-${key}.bin`);
  }

  /**
   * Bytes free for this user on the disk that holds the cache (the directory is created first),
   * or null where the platform cannot tell.
   */
  freeBytes(): number | null {
    try {
      fs.mkdirSync(this.dir, { recursive: true });
      const s = fs.statfsSync(this.dir);
      return s.bavail * s.bsize;
    } catch {
      return null;
    }
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
      // Typed-array views need offsets that are multiples of width: entries written by
      // `writer` pad their header so the payload is aligned, and are viewed in place; others are
      // copied into an aligned buffer.
      let payload: Uint8Array;
      if ((buf.byteOffset + start) % width === 0) payload = new Uint8Array(buf.buffer, buf.byteOffset + start, total * width);
      else {
        payload = new Uint8Array(total * width);
        payload.set(buf.subarray(start));
      }
      if (sha256Bytes(payload) !== header.sha256) return null;
      const arrays: (Float32Array | Float64Array)[] = [];
      let offset = 0;
      for (const len of header.lengths) {
        arrays.push(
          header.dtype === 'float32'
            ? new Float32Array(payload.buffer, payload.byteOffset + offset, len)
            : new Float64Array(payload.buffer, payload.byteOffset + offset, len),
        );
        offset += len * width;
      }
      return { meta: header.meta, arrays: arrays as Float32Array[] | Float64Array[] };
    } catch {
      return null;
    }
  }

  /**
   * Opens an entry for positioned reads: reads and checks its header and size only. Null when
   * absent or damaged. An entry without per-array checksums is read whole and checked here.
   */
  open<M>(kind: string, key: string): EntryReader<M> | null {
    const file = this.file(kind, key);
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return null;
    }
    let keep = false;
    try {
      const size = fs.fstatSync(fd).size;
      const lengthField = Buffer.alloc(4);
      if (size < 4 || fs.readSync(fd, lengthField, 0, 4, 0) !== 4) return null;
      const headerLength = lengthField.readUInt32LE(0);
      if (headerLength > size - 4) return null;
      const headerBytes = Buffer.alloc(headerLength);
      if (fs.readSync(fd, headerBytes, 0, headerLength, 4) !== headerLength) return null;
      const header = JSON.parse(headerBytes.toString('utf8')) as Header<M>;
      if (header.magic !== MAGIC || !Array.isArray(header.lengths)) return null;
      const width = header.dtype === 'float32' ? 4 : 8;
      const start = 4 + headerLength;
      const total = header.lengths.reduce((s, l) => s + l, 0);
      if (size !== start + total * width) return null;
      const crcs = header.array_crc32;
      if (!Array.isArray(crcs) || crcs.length !== header.lengths.length) {
        // An entry from before per-array checksums: read and check it whole, serve from memory.
        const whole = this.read<M>(kind, key);
        if (!whole) return null;
        const arrays = whole.arrays as (Float32Array | Float64Array)[];
        return {
          meta: whole.meta,
          dtype: header.dtype,
          lengths: header.lengths,
          bytesRead: size,
          readArray: (i) => arrays[i] ?? null,
          readArrayPieces: (i, pieceLength, visit) => {
            checkPieces(header.dtype, pieceLength);
            const array = arrays[i];
            if (!(array instanceof Float32Array)) return false;
            for (let first = 0; first < array.length; first += pieceLength) visit(array.subarray(first, first + pieceLength), first);
            return true;
          },
          close: () => undefined,
        };
      }
      const offsets: number[] = [];
      let offset = start;
      for (const len of header.lengths) {
        offsets.push(offset);
        offset += len * width;
      }
      let bytesRead = 4 + headerLength;
      let pieceBuffer: Float32Array | null = null;
      let open = true;
      keep = true;
      return {
        meta: header.meta,
        dtype: header.dtype,
        lengths: header.lengths,
        get bytesRead() {
          return bytesRead;
        },
        readArray(i: number, scratch?: ArrayBuffer): Float32Array | Float64Array | null {
          if (!open) throw new Error(`${file}: read after close`);
          const len = header.lengths[i];
          const at = offsets[i];
          if (len === undefined || at === undefined) return null;
          const bytes = len * width;
          const target = scratch && scratch.byteLength >= bytes ? new Uint8Array(scratch, 0, bytes) : new Uint8Array(bytes);
          if (!readFullyAt(fd, target, at)) return null;
          bytesRead += bytes;
          if (crc32(target) !== crcs[i]) return null;
          return width === 4 ? new Float32Array(target.buffer, 0, len) : new Float64Array(target.buffer, 0, len);
        },
        readArrayPieces(i: number, pieceLength: number, visit: (piece: Float32Array, first: number) => void): boolean {
          if (!open) throw new Error(`${file}: read after close`);
          const len = header.lengths[i];
          const at = offsets[i];
          checkPieces(header.dtype, pieceLength);
          if (len === undefined || at === undefined) return false;
          // One buffer per reader, reused from array to array: a fresh one per array cost its
          // page faults and zeroing on every block of an erasure.
          if (!pieceBuffer || pieceBuffer.length < Math.min(len, pieceLength)) pieceBuffer = new Float32Array(Math.min(len, pieceLength));
          const buffer = pieceBuffer;
          const bytes = new Uint8Array(buffer.buffer);
          let crc = 0;
          for (let first = 0; first < len; first += pieceLength) {
            const count = Math.min(pieceLength, len - first);
            const piece = bytes.subarray(0, count * 4);
            if (!readFullyAt(fd, piece, at + first * 4)) return false;
            bytesRead += piece.length;
            crc = crc32(piece, crc);
            visit(buffer.subarray(0, count), first);
          }
          return crc === crcs[i];
        },
        close(): void {
          if (open) fs.closeSync(fd);
          open = false;
        },
      };
    } catch {
      return null;
    } finally {
      if (!keep) fs.closeSync(fd);
    }
  }

  write<M>(kind: string, key: string, meta: M, arrays: Float32Array[] | Float64Array[]): string {
    const dtype = arrays[0] instanceof Float64Array ? 'float64' : 'float32';
    const list = arrays as (Float32Array | Float64Array)[];
    const w = this.writer(kind, key, meta, dtype, list.map((a) => a.length));
    try {
      list.forEach((a, i) => w.put(i, a));
      return w.commit();
    } catch (e) {
      w.abort();
      throw e;
    }
  }

  /**
   * Writes an entry array by array, in any order, as the arrays are computed (a streamed Fisher
   * build hands over each block and reuses its memory), so that the entry never has to be whole
   * in memory. The header is written last, into room reserved for its largest possible size
   * (padded with spaces, which JSON allows, so that the payload also starts 8-byte aligned); the
   * payload's SHA-256 is computed by reading it back from the file. Until `commit` the entry
   * lives under a temporary name, which `abort` (or a killed process) leaves unpublished. What a
   * killed process left of the same entry (a network's F̂⁻¹ is most of a GB) is removed here.
   */
  writer<M>(kind: string, key: string, meta: M, dtype: 'float32' | 'float64', lengths: number[]): CacheWriter {
    fs.mkdirSync(this.dir, { recursive: true });
    removeOrphans(this.file(kind, key));
    const width = dtype === 'float32' ? 4 : 8;
    const headerFor = (sha256: string, crcs: number[]): string =>
      JSON.stringify({ magic: MAGIC, dtype, lengths, sha256, array_crc32: crcs, meta } satisfies Header<M>);
    // The longest header: a SHA-256 is always 64 hex digits, a CRC-32 at most 10 decimal ones.
    const longest = Buffer.byteLength(headerFor('0'.repeat(64), lengths.map(() => 0xffffffff)), 'utf8');
    const headerRoom = Math.ceil((4 + longest) / 8) * 8 - 4;
    const start = 4 + headerRoom;
    const offsets: number[] = [];
    let total = 0;
    for (const len of lengths) {
      offsets.push(start + total * width);
      total += len;
    }
    const crcs: (number | null)[] = lengths.map(() => null);
    const file = this.file(kind, key);
    const tmp = `${file}.tmp-${process.pid}-${Date.now()}`;
    let fd: number | null = fs.openSync(tmp, 'w+');
    const close = (): void => {
      if (fd !== null) fs.closeSync(fd);
      fd = null;
    };
    return {
      put(i: number, array: Float32Array | Float64Array): void {
        if (fd === null) throw new Error('ArtefactCache.writer: the entry is already committed or aborted');
        const len = lengths[i];
        if (len === undefined || array.length !== len || (width === 4) !== array instanceof Float32Array) {
          throw new Error(`ArtefactCache.writer: array ${i} does not match the entry's ${lengths.length} ${dtype} arrays`);
        }
        const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
        writeFullyAt(fd, bytes, offsets[i] as number);
        crcs[i] = crc32(bytes);
      },
      commit(): string {
        if (fd === null) throw new Error('ArtefactCache.writer: the entry is already committed or aborted');
        const missing = crcs.findIndex((c) => c === null);
        if (missing >= 0) throw new Error(`ArtefactCache.writer: array ${missing} was never written`);
        try {
          const sha256 = sha256OfFileRange(fd, start, start + total * width, `ArtefactCache.writer: ${tmp}`);
          const header = Buffer.from(headerFor(sha256, crcs as number[]).padEnd(headerRoom, ' '), 'utf8');
          const lengthField = Buffer.alloc(4);
          lengthField.writeUInt32LE(headerRoom, 0);
          fs.writeSync(fd, lengthField, 0, 4, 0);
          fs.writeSync(fd, header, 0, header.length, 4);
          fs.fsyncSync(fd);
          close();
          fs.renameSync(tmp, file);
          return file;
        } catch (e) {
          close();
          fs.rmSync(tmp, { force: true });
          throw e;
        }
      },
      abort(): void {
        close();
        fs.rmSync(tmp, { force: true });
      },
    };
  }
}

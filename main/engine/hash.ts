import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

/** SHA-256 (hex) over the raw bytes of one or more typed arrays or buffers, in order. */
export function sha256Bytes(...parts: ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

/** Canonical JSON: object keys sorted at every level, so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
      return sorted;
    }
    return v;
  });
}

export function sha256Json(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/** SHA-256 (hex) of bytes [start, end) of an open file, read back in 1 MB pieces. */
export function sha256OfFileRange(fd: number, start: number, end: number, what: string): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(Math.min(1 << 20, Math.max(1, end - start)));
  for (let at = start; at < end; ) {
    const r = fs.readSync(fd, chunk, 0, Math.min(chunk.length, end - at), at);
    if (r <= 0) throw new Error(`${what}: shorter than written (${at} of ${end} bytes)`);
    hash.update(chunk.subarray(0, r));
    at += r;
  }
  return hash.digest('hex');
}

/** Fills `bytes` from `position` of an open file (fs.readSync may read less per call); false when the file ends first. */
export function readFullyAt(fd: number, bytes: Uint8Array, position: number): boolean {
  for (let got = 0; got < bytes.length; ) {
    const r = fs.readSync(fd, bytes, got, bytes.length - got, position + got);
    if (r === 0) return false;
    got += r;
  }
  return true;
}

/** Writes all of `bytes` at `position` of an open file (fs.writeSync may write less per call). */
export function writeFullyAt(fd: number, bytes: Uint8Array, position: number): void {
  let written = 0;
  while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, position + written);
}

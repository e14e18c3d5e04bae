/**
 * Byte-level and file helpers shared by the NPY and IDX readers and writers (internal to data/).
 *
 * Typed arrays always use the host's byte order and need an aligned buffer, while file bytes come
 * in a fixed order at arbitrary offsets inside a Node Buffer (which may be a slice of a shared
 * pool). So every numeric read goes through one copy into a fresh ArrayBuffer, swapped in place
 * when the orders differ: one pass, no per-element allocation.
 */
import fs from 'node:fs';
import { DataError } from '../errors.js';

/** True on every platform Node ships for today except s390x / big-endian PowerPC. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copies `src` into a fresh, aligned ArrayBuffer in host byte order. `littleEndian` is the order
 * of `src`; groups of `itemSize` bytes are reversed when it differs from the host's.
 */
export function toHostOrder(src: Uint8Array, itemSize: number, littleEndian: boolean): ArrayBuffer {
  const out = new Uint8Array(src.length);
  out.set(src);
  if (itemSize > 1 && littleEndian !== HOST_LITTLE_ENDIAN) swapBytesInPlace(out, itemSize);
  return out.buffer;
}

/**
 * The bytes of a typed array in the requested byte order, as a new Buffer (never a view, so the
 * caller may swap or concatenate freely).
 */
export function fromHostOrder(
  data: ArrayBufferView,
  itemSize: number,
  littleEndian: boolean,
): Buffer {
  const out = Buffer.alloc(data.byteLength);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (itemSize > 1 && littleEndian !== HOST_LITTLE_ENDIAN) swapBytesInPlace(out, itemSize);
  return out;
}

/** Reverses every `itemSize`-byte group (2, 4 or 8) of `bytes` in place. */
export function swapBytesInPlace(bytes: Uint8Array, itemSize: number): void {
  const n = bytes.length - (bytes.length % itemSize);
  for (let i = 0; i < n; i += itemSize) {
    for (let a = i, b = i + itemSize - 1; a < b; a++, b--) {
      const t = bytes[a] as number;
      bytes[a] = bytes[b] as number;
      bytes[b] = t;
    }
  }
}

/** Product of the dimensions, or -1 when it is not a safe integer (a corrupt header). */
export function shapeSize(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) {
    size *= dim;
    if (!Number.isSafeInteger(size)) return -1;
  }
  return size;
}

/** "[3,4,5]": how error messages print a shape. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** fs.readFileSync with a DataError that names the file instead of a bare ENOENT. */
export function readFileOrThrow(path: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(path, 'file not found');
    if (code === 'EISDIR') throw new DataError(path, 'is a folder, expected a file');
    throw new DataError(path, `cannot read the file (${code ?? String(e)})`);
  }
}

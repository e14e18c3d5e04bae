/**
 * IDX files (the MNIST / Fashion-MNIST container), raw or gzip-compressed.
 *
 * Format (http://yann.lecun.com/exdb/mnist/): two zero bytes, a type byte, the number of
 * dimensions, then each dimension as a big-endian uint32, then the data in C order, big-endian.
 */
import zlib from 'node:zlib';
import { DataError, SsseError } from '../errors.js';
import { formatShape, fromHostOrder, readFileOrThrow, shapeSize, toHostOrder } from './bytes.js';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxArray {
  type: IdxType;
  shape: number[];
  /** C order (row-major), length = product of shape. */
  data: IdxData;
}

const TYPES: ReadonlyArray<{ code: number; type: IdxType; itemSize: number }> = [
  { code: 0x08, type: 'uint8', itemSize: 1 },
  { code: 0x09, type: 'int8', itemSize: 1 },
  { code: 0x0b, type: 'int16', itemSize: 2 },
  { code: 0x0c, type: 'int32', itemSize: 4 },
  { code: 0x0d, type: 'float32', itemSize: 4 },
  { code: 0x0e, type: 'float64', itemSize: 8 },
];

/** Reads an IDX file, gunzipping it first when it starts with the gzip magic (1f 8b). */
export function readIdx(path: string): IdxArray {
  return parseIdx(readFileOrThrow(path), path);
}

/** Parses IDX bytes (raw or gzip); `file` only names it in error messages. */
export function parseIdx(buf: Buffer, file: string): IdxArray {
  const raw = isGzip(buf) ? gunzip(buf, file) : buf;
  if (raw.length < 4 || raw[0] !== 0 || raw[1] !== 0) {
    throw new DataError(file, 'not an IDX file (bad magic; expected two zero bytes, a type byte and a dimension count)');
  }
  const typeCode = raw[2] as number;
  const typeInfo = TYPES.find((t) => t.code === typeCode);
  if (!typeInfo) {
    throw new DataError(file, `unknown IDX data type 0x${typeCode.toString(16).padStart(2, '0')} (bad magic?)`);
  }
  const ndims = raw[3] as number;
  if (ndims === 0) throw new DataError(file, 'IDX header declares 0 dimensions');
  const headerLength = 4 + 4 * ndims;
  if (raw.length < headerLength) {
    throw new DataError(file, `truncated IDX header: ${ndims} dimensions need ${headerLength} bytes, file has ${raw.length}`);
  }
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(raw.readUInt32BE(4 + 4 * i));
  const size = shapeSize(shape);
  if (size < 0) throw new DataError(file, `shape ${formatShape(shape)} is too large`);

  const expected = size * typeInfo.itemSize;
  const actual = raw.length - headerLength;
  if (actual !== expected) {
    throw new DataError(
      file,
      `data is ${actual} bytes but shape ${formatShape(shape)} of ${typeInfo.type} needs ${expected} bytes` +
        (actual < expected ? ' (file truncated?)' : ''),
    );
  }
  const buffer = toHostOrder(raw.subarray(headerLength), typeInfo.itemSize, false);
  return { type: typeInfo.type, shape, data: makeData(typeInfo.type, buffer) };
}

/** Encodes an array as raw (uncompressed) IDX bytes; gzip the result for a .gz file. */
export function encodeIdx(array: IdxArray): Buffer {
  const typeInfo = TYPES.find((t) => t.type === array.type);
  if (!typeInfo) throw new SsseError('BAD_ARGUMENT', `encodeIdx: unsupported type '${String(array.type)}'`);
  const { shape, data } = array;
  if (shape.length === 0 || shape.length > 255) {
    throw new SsseError('BAD_ARGUMENT', `encodeIdx: shape ${formatShape(shape)} must have 1 to 255 dimensions`);
  }
  if (!shape.every((dim) => Number.isInteger(dim) && dim >= 0 && dim <= 0xffffffff)) {
    throw new SsseError('BAD_ARGUMENT', `encodeIdx: shape ${formatShape(shape)} has an invalid dimension`);
  }
  if (shapeSize(shape) !== data.length || data.BYTES_PER_ELEMENT !== typeInfo.itemSize) {
    throw new SsseError(
      'BAD_ARGUMENT',
      `encodeIdx: ${data.length} elements of ${data.BYTES_PER_ELEMENT} bytes do not fit shape ${formatShape(shape)} of ${array.type}`,
    );
  }
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = typeInfo.code;
  header[3] = shape.length;
  shape.forEach((dim, i) => header.writeUInt32BE(dim, 4 + 4 * i));
  return Buffer.concat([header, fromHostOrder(data, typeInfo.itemSize, false)]);
}

function makeData(type: IdxType, buffer: ArrayBuffer): IdxData {
  switch (type) {
    case 'uint8':
      return new Uint8Array(buffer);
    case 'int8':
      return new Int8Array(buffer);
    case 'int16':
      return new Int16Array(buffer);
    case 'int32':
      return new Int32Array(buffer);
    case 'float32':
      return new Float32Array(buffer);
    case 'float64':
      return new Float64Array(buffer);
  }
}

function isGzip(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

function gunzip(buf: Buffer, file: string): Buffer {
  try {
    return zlib.gunzipSync(buf);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new DataError(file, `corrupt or truncated gzip data (${reason})`);
  }
}

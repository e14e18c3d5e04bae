/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), read and written synchronously.
 *
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *   "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for 2.0/3.0), then an
 *   ASCII (1.0/2.0) or UTF-8 (3.0) Python dict literal {'descr', 'fortran_order', 'shape'}, padded
 *   with spaces and a newline, then the raw C-order data.
 *
 * Only plain numeric dtypes are supported; everything else is refused with a DataError naming the
 * file and the dtype, since silently reinterpreting bytes is the worst failure a data loader can have.
 */
import fs from 'node:fs';
import { DataError, SsseError } from '../errors.js';
import { HOST_LITTLE_ENDIAN, formatShape, fromHostOrder, readFileOrThrow, shapeSize, toHostOrder } from './bytes.js';

export type NpyDtype =
  | 'float32'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'bool';

/** bool is stored as a Uint8Array of 0/1; int64 as a Float64Array of exact integers (|v| ≤ 2^53). */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

export interface NpyArray {
  dtype: NpyDtype;
  /** [] for a 0-d array (one element). */
  shape: number[];
  /** C order (row-major), length = product of shape. */
  data: NpyData;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** numpy pads the header so that the data starts at a multiple of 64 bytes. */
const HEADER_ALIGN = 64;

interface DtypeInfo {
  dtype: NpyDtype;
  itemSize: number;
}

/** Kind letter + item size (the descr without its byte-order character) → supported dtype. */
const DESCR_TO_DTYPE: Readonly<Record<string, DtypeInfo>> = {
  f4: { dtype: 'float32', itemSize: 4 },
  f8: { dtype: 'float64', itemSize: 8 },
  i1: { dtype: 'int8', itemSize: 1 },
  i2: { dtype: 'int16', itemSize: 2 },
  i4: { dtype: 'int32', itemSize: 4 },
  i8: { dtype: 'int64', itemSize: 8 },
  u1: { dtype: 'uint8', itemSize: 1 },
  u2: { dtype: 'uint16', itemSize: 2 },
  u4: { dtype: 'uint32', itemSize: 4 },
  b1: { dtype: 'bool', itemSize: 1 },
};

/** What the writer puts in 'descr' for each dtype (little-endian, numpy's own spelling). */
const DTYPE_TO_DESCR: Readonly<Record<NpyDtype, string>> = {
  float32: '<f4',
  float64: '<f8',
  int8: '|i1',
  int16: '<i2',
  int32: '<i4',
  int64: '<i8',
  uint8: '|u1',
  uint16: '<u2',
  uint32: '<u4',
  bool: '|b1',
};

const SUPPORTED = Object.keys(DTYPE_TO_DESCR).join(', ');

/** Names for the numpy kinds we refuse, so the error says what the file actually holds. */
const KIND_NAMES: Readonly<Record<string, string>> = {
  c: 'complex',
  O: 'Python objects',
  U: 'unicode strings',
  S: 'byte strings',
  a: 'byte strings',
  V: 'raw void/record data',
  M: 'datetime64',
  m: 'timedelta64',
  f: 'floating point of this size',
  i: 'integers of this size',
  u: 'unsigned integers of this size',
  b: 'bool of this size',
};

/** Reads and parses a .npy file. A missing or unreadable file is a DataError naming it. */
export function readNpy(path: string): NpyArray {
  return parseNpy(readFileOrThrow(path), path);
}

/** Parses the bytes of a .npy file; `file` only names it in error messages. */
export function parseNpy(buf: Buffer, file: string): NpyArray {
  if (buf.length < 8 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw new DataError(file, 'not an NPY file (bad magic; expected "\\x93NUMPY")');
  }
  const major = buf[6] as number;
  const minor = buf[7] as number;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new DataError(file, `unsupported NPY format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const lengthBytes = major === 1 ? 2 : 4;
  const preamble = 8 + lengthBytes;
  if (buf.length < preamble) {
    throw new DataError(file, `truncated NPY header: file is ${buf.length} bytes`);
  }
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const dataOffset = preamble + headerLength;
  if (buf.length < dataOffset) {
    throw new DataError(
      file,
      `truncated NPY header: it declares ${headerLength} bytes but the file has only ${buf.length - preamble} after the preamble`,
    );
  }
  const headerText = buf.toString(major === 3 ? 'utf8' : 'latin1', preamble, dataOffset);
  const { info, littleEndian, shape, fortranOrder } = interpretHeader(headerText, file);
  if (fortranOrder && shape.filter((dim) => dim > 1).length > 1) {
    throw new DataError(file, 'Fortran order is not supported; save with C order (e.g. np.ascontiguousarray)');
  }

  const size = shapeSize(shape);
  if (size < 0) throw new DataError(file, `shape ${formatShape(shape)} is too large`);
  const expected = size * info.itemSize;
  const actual = buf.length - dataOffset;
  if (actual !== expected) {
    throw new DataError(
      file,
      `data is ${actual} bytes but shape ${formatShape(shape)} of ${info.dtype} needs ${expected} bytes` +
        (actual < expected ? ' (file truncated?)' : ''),
    );
  }
  const data = decodeData(buf.subarray(dataOffset), info, littleEndian, size, file);
  return { dtype: info.dtype, shape, data };
}

/** Encodes an array as an NPY 1.0 file, the way numpy.save writes it. */
export function encodeNpy(array: NpyArray): Buffer {
  const { dtype, shape, data } = array;
  const descr = DTYPE_TO_DESCR[dtype];
  if (descr === undefined) throw badArgument(`unsupported dtype '${String(dtype)}'; supported: ${SUPPORTED}`);
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw badArgument(`shape ${formatShape(shape)} has an invalid dimension`);
  }
  const size = shapeSize(shape);
  if (size !== data.length) {
    throw badArgument(`shape ${formatShape(shape)} has ${size} elements but data has ${data.length}`);
  }
  checkDataType(dtype, data);
  return Buffer.concat([encodeNpyHeader(dtype, shape), encodeData(dtype, data)]);
}

/**
 * The NPY 1.0 preamble and header of an array of this dtype and shape: what precedes its data
 * (little-endian, C order) in the file, for writers that stream the data after it.
 */
export function encodeNpyHeader(dtype: NpyArray['dtype'], shape: number[]): Buffer {
  const descr = DTYPE_TO_DESCR[dtype];
  if (descr === undefined) throw badArgument(`unsupported dtype '${String(dtype)}'; supported: ${SUPPORTED}`);
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw badArgument(`shape ${formatShape(shape)} has an invalid dimension`);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // 10-byte preamble + dict + padding + '\n' must be a multiple of 64 (numpy's alignment).
  const unpadded = 10 + dict.length + 1;
  const header = dict + ' '.repeat((HEADER_ALIGN - (unpadded % HEADER_ALIGN)) % HEADER_ALIGN) + '\n';
  if (header.length > 0xffff) throw badArgument(`shape ${formatShape(shape)} makes a header too long for NPY 1.0`);

  const preamble = Buffer.alloc(10);
  MAGIC.copy(preamble, 0);
  preamble[6] = 1;
  preamble[7] = 0;
  preamble.writeUInt16LE(header.length, 8);
  return Buffer.concat([preamble, Buffer.from(header, 'latin1')]);
}

/** Writes `array` to `path` as NPY 1.0 (not atomically: the caller handles temp files/renames). */
export function writeNpy(path: string, array: NpyArray): void {
  fs.writeFileSync(path, encodeNpy(array));
}

// ---------------------------------------------------------------------------------------------
// Header

interface Header {
  info: DtypeInfo;
  /** Byte order of the data in the file. */
  littleEndian: boolean;
  shape: number[];
  fortranOrder: boolean;
}

function interpretHeader(text: string, file: string): Header {
  let value: PyValue;
  try {
    value = parsePyLiteral(text);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new DataError(file, `cannot parse the NPY header ${JSON.stringify(clip(text))}: ${reason}`);
  }
  if (!isDict(value)) throw new DataError(file, `the NPY header is not a dict: ${JSON.stringify(clip(text))}`);
  const descr = value['descr'];
  const fortran = value['fortran_order'];
  const shape = value['shape'];
  if (descr === undefined || fortran === undefined || shape === undefined) {
    throw new DataError(file, `the NPY header lacks 'descr', 'fortran_order' or 'shape': ${JSON.stringify(clip(text))}`);
  }
  if (typeof fortran !== 'boolean') throw new DataError(file, `the NPY header's 'fortran_order' is not True/False`);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new DataError(file, `the NPY header's 'shape' is not a tuple of non-negative integers`);
  }
  return { ...dtypeFromDescr(descr, file), shape: shape as number[], fortranOrder: fortran };
}

/** '<' and '|' are little-endian (or irrelevant), '>' big-endian; '=' means the writer's host. */
function dtypeFromDescr(descr: PyValue, file: string): { info: DtypeInfo; littleEndian: boolean } {
  if (typeof descr !== 'string') {
    throw new DataError(file, `unsupported dtype: structured (record) arrays are not supported; supported: ${SUPPORTED}`);
  }
  const match = /^([<>|=])?([a-zA-Z])(\d*)$/.exec(descr);
  const key = match ? `${match[2]}${match[3]}` : '';
  const info = DESCR_TO_DTYPE[key];
  if (!match || !info) {
    const kind = match ? KIND_NAMES[match[2] as string] : undefined;
    throw new DataError(file, `unsupported dtype '${descr}'${kind ? ` (${kind})` : ''}; supported: ${SUPPORTED}`);
  }
  if (match[1] === '|' && info.itemSize > 1) {
    throw new DataError(file, `dtype '${descr}' has no byte order ('|') although its items are ${info.itemSize} bytes`);
  }
  const order = match[1];
  const littleEndian = order === '>' ? false : order === '=' ? HOST_LITTLE_ENDIAN : true;
  return { info, littleEndian };
}

function clip(text: string): string {
  const trimmed = text.trimEnd();
  return trimmed.length > 200 ? `${trimmed.slice(0, 200)}…` : trimmed;
}

// ---------------------------------------------------------------------------------------------
// A minimal Python-literal parser: dicts, tuples, lists, strings, integers, True/False/None.
// That is all numpy writes into an NPY header; anything else is a parse error.

type PyValue = string | number | boolean | null | PyValue[] | PyDict;
interface PyDict {
  [key: string]: PyValue;
}

function isDict(v: PyValue): v is PyDict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos] as string)) pos++;
  };
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${pos}`);
  };
  const expect = (ch: string): void => {
    skipSpace();
    if (text[pos] !== ch) fail(`expected '${ch}'`);
    pos++;
  };

  const parseValue = (): PyValue => {
    skipSpace();
    const ch = text[pos];
    if (ch === undefined) return fail('unexpected end');
    if (ch === '{') return parseDict();
    if (ch === '(') return parseSequence(')');
    if (ch === '[') return parseSequence(']');
    if (ch === "'" || ch === '"') return parseString();
    const word = /^(?:-?\d+L?|True|False|None)/.exec(text.slice(pos))?.[0];
    if (word === undefined) return fail(`unexpected ${JSON.stringify(ch)}`);
    pos += word.length;
    if (word === 'True') return true;
    if (word === 'False') return false;
    if (word === 'None') return null;
    return Number(word.replace(/L$/, '')); // Python 2 wrote long integers as 3L
  };

  const parseString = (): string => {
    const quote = text[pos++];
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') pos++;
      out += text[pos++] ?? '';
    }
    if (pos >= text.length) fail('unterminated string');
    pos++;
    return out;
  };

  const parseSequence = (close: string): PyValue[] => {
    pos++;
    const items: PyValue[] = [];
    for (;;) {
      skipSpace();
      if (text[pos] === close) break;
      items.push(parseValue());
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== close) fail(`expected ',' or '${close}'`);
    }
    pos++;
    return items;
  };

  const parseDict = (): PyDict => {
    pos++;
    const dict: PyDict = {};
    for (;;) {
      skipSpace();
      if (text[pos] === '}') break;
      const key = parseValue();
      if (typeof key !== 'string') fail('dict key is not a string');
      expect(':');
      dict[key as string] = parseValue();
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') fail("expected ',' or '}'");
    }
    pos++;
    return dict;
  };

  const value = parseValue();
  skipSpace();
  if (pos !== text.length) fail('unexpected text after the dict');
  return value;
}

// ---------------------------------------------------------------------------------------------
// Data

function decodeData(bytes: Uint8Array, info: DtypeInfo, littleEndian: boolean, size: number, file: string): NpyData {
  switch (info.dtype) {
    case 'float32':
      return new Float32Array(toHostOrder(bytes, 4, littleEndian));
    case 'float64':
      return new Float64Array(toHostOrder(bytes, 8, littleEndian));
    case 'int8':
      return new Int8Array(toHostOrder(bytes, 1, littleEndian));
    case 'int16':
      return new Int16Array(toHostOrder(bytes, 2, littleEndian));
    case 'int32':
      return new Int32Array(toHostOrder(bytes, 4, littleEndian));
    case 'uint8':
      return new Uint8Array(toHostOrder(bytes, 1, littleEndian));
    case 'uint16':
      return new Uint16Array(toHostOrder(bytes, 2, littleEndian));
    case 'uint32':
      return new Uint32Array(toHostOrder(bytes, 4, littleEndian));
    case 'bool': {
      const out = new Uint8Array(toHostOrder(bytes, 1, littleEndian));
      for (let i = 0; i < out.length; i++) {
        if ((out[i] as number) > 1) throw new DataError(file, `bool element ${i} has byte value ${out[i]}, expected 0 or 1`);
      }
      return out;
    }
    case 'int64':
      return decodeInt64(bytes, littleEndian, size, file);
  }
}

/**
 * int64 → Float64Array. Reading two 32-bit halves through a DataView avoids one BigInt per element
 * and works whatever the host's byte order.
 */
function decodeInt64(bytes: Uint8Array, littleEndian: boolean, size: number, file: string): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(size);
  const loOffset = littleEndian ? 0 : 4;
  const hiOffset = littleEndian ? 4 : 0;
  for (let i = 0; i < size; i++) {
    const hi = view.getInt32(i * 8 + hiOffset, littleEndian);
    const lo = view.getUint32(i * 8 + loOffset, littleEndian);
    // |value| ≤ 2^53 (every such integer is exact in a double) iff hi ∈ [−2^21, 2^21), or the
    // value is exactly 2^53 (hi = 2^21, lo = 0).
    if ((hi < -0x200000 || hi >= 0x200000) && !(hi === 0x200000 && lo === 0)) {
      const big = view.getBigInt64(i * 8, littleEndian);
      throw new DataError(file, `int64 element ${i} is ${big}, beyond 2^53 (cannot be represented exactly)`);
    }
    out[i] = hi * 4294967296 + lo;
  }
  return out;
}

/** An array's data as NPY stores it (little-endian), for writers that stream it after encodeNpyHeader. */
export function encodeData(dtype: NpyDtype, data: NpyData): Buffer {
  if (dtype === 'int64') {
    const out = Buffer.alloc(data.length * 8);
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (!Number.isInteger(v) || Math.abs(v) > 2 ** 53) {
        throw badArgument(`int64 element ${i} is ${v}, not an integer within ±2^53`);
      }
      out.writeBigInt64LE(BigInt(v), i * 8);
    }
    return out;
  }
  return fromHostOrder(data, data.BYTES_PER_ELEMENT, true);
}

/** The typed array must be the one NpyArray documents for the dtype. */
function checkDataType(dtype: NpyDtype, data: NpyData): void {
  const expected: Record<NpyDtype, string> = {
    float32: 'Float32Array',
    float64: 'Float64Array',
    int8: 'Int8Array',
    int16: 'Int16Array',
    int32: 'Int32Array',
    int64: 'Float64Array',
    uint8: 'Uint8Array',
    uint16: 'Uint16Array',
    uint32: 'Uint32Array',
    bool: 'Uint8Array',
  };
  const actual = Object.prototype.toString.call(data).slice(8, -1);
  if (actual !== expected[dtype]) throw badArgument(`dtype ${dtype} needs a ${expected[dtype]}, got a ${actual}`);
  if (dtype === 'bool') {
    for (let i = 0; i < data.length; i++) {
      if ((data[i] as number) > 1) throw badArgument(`bool element ${i} is ${data[i]}, expected 0 or 1`);
    }
  }
}

function badArgument(message: string): SsseError {
  return new SsseError('BAD_ARGUMENT', `encodeNpy: ${message}`);
}

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeNpy, parseNpy, readNpy, writeNpy, type NpyArray } from '../../../main/engine/data/npy.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-npy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * Builds an NPY file by hand, independently of encodeNpy: magic, version, header length
 * (uint16 for 1.0, uint32 for 2.0/3.0), the header text as given, then the data bytes.
 */
function handBuilt(version: 1 | 2 | 3, header: string, data: Buffer): Buffer {
  const text = Buffer.from(header, version === 3 ? 'utf8' : 'latin1');
  const lengthField = Buffer.alloc(version === 1 ? 2 : 4);
  if (version === 1) lengthField.writeUInt16LE(text.length);
  else lengthField.writeUInt32LE(text.length);
  return Buffer.concat([Buffer.from('\x93NUMPY', 'latin1'), Buffer.from([version, 0]), lengthField, text, data]);
}

function header(descr: string, shape: string, fortran = 'False'): string {
  return `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;
}

const FILE = '/data/x.npy';

describe('NPY round trip', () => {
  const cases: NpyArray[] = [
    { dtype: 'float32', shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, 4, Infinity, -0]) },
    { dtype: 'float64', shape: [3], data: new Float64Array([Math.PI, -1e300, 5e-324]) },
    { dtype: 'int8', shape: [2, 2], data: new Int8Array([-128, 127, 0, -1]) },
    { dtype: 'int16', shape: [2], data: new Int16Array([-32768, 32767]) },
    { dtype: 'int32', shape: [1, 3], data: new Int32Array([-2147483648, 2147483647, 7]) },
    { dtype: 'int64', shape: [4], data: new Float64Array([-(2 ** 53), 2 ** 53, -1, 2 ** 32 + 5]) },
    { dtype: 'uint8', shape: [2, 1, 2], data: new Uint8Array([0, 255, 1, 128]) },
    { dtype: 'uint16', shape: [2], data: new Uint16Array([0, 65535]) },
    { dtype: 'uint32', shape: [2], data: new Uint32Array([0, 4294967295]) },
    { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
    { dtype: 'float32', shape: [], data: new Float32Array([42]) },
    { dtype: 'float64', shape: [0, 5], data: new Float64Array(0) },
  ];
  for (const array of cases) {
    test(`${array.dtype} of shape [${array.shape.join(',')}] survives writeNpy → readNpy`, () => {
      const file = path.join(tmp, `rt-${array.dtype}-${array.shape.join('x')}.npy`);
      writeNpy(file, array);
      const back = readNpy(file);
      assert.equal(back.dtype, array.dtype);
      assert.deepEqual(back.shape, array.shape);
      assert.equal(back.data.constructor, array.data.constructor);
      assert.deepEqual(Array.from(back.data), Array.from(array.data));
    });
  }

  test('the header is version 1.0, padded to 64 bytes with a trailing newline, as numpy writes it', () => {
    const buf = encodeNpy({ dtype: 'float32', shape: [2, 3], data: new Float32Array(6) });
    const headerLength = buf.readUInt16LE(8);
    assert.equal(buf[6], 1);
    assert.equal(buf[7], 0);
    assert.equal((10 + headerLength) % 64, 0);
    assert.equal(buf[10 + headerLength - 1], 0x0a);
    // numpy 2.x, np.save(f, np.zeros((2, 3), np.float32)): the first 128 bytes, verbatim.
    const numpyHeader =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + ' '.repeat(58) + '\n';
    assert.equal(buf.toString('latin1', 10, 10 + headerLength), numpyHeader);
    assert.equal(buf.length, 128 + 6 * 4);
  });

  test('1-D shapes are written as a one-element tuple "(n,)"', () => {
    const buf = encodeNpy({ dtype: 'uint8', shape: [5], data: new Uint8Array(5) });
    assert.match(buf.toString('latin1', 10, 80), /'descr': '\|u1'.*'shape': \(5,\)/);
  });

  test('encodeNpy refuses data that does not fit the shape or the dtype', () => {
    assert.throws(() => encodeNpy({ dtype: 'float32', shape: [2, 2], data: new Float32Array(3) }), {
      code: 'BAD_ARGUMENT',
      message: /shape \[2,2\] has 4 elements but data has 3/,
    });
    assert.throws(() => encodeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) }), {
      code: 'BAD_ARGUMENT',
      message: /float32 needs a Float32Array/,
    });
    assert.throws(() => encodeNpy({ dtype: 'int64', shape: [1], data: new Float64Array([2 ** 53 + 2]) }), {
      code: 'BAD_ARGUMENT',
      message: /int64 element 0/,
    });
  });
});

describe('parseNpy on hand-built files', () => {
  test('version 1.0 little-endian int16', () => {
    const data = Buffer.alloc(4);
    data.writeInt16LE(-300, 0);
    data.writeInt16LE(1234, 2);
    const a = parseNpy(handBuilt(1, header('<i2', '(2,)'), data), FILE);
    assert.equal(a.dtype, 'int16');
    assert.deepEqual(a.shape, [2]);
    assert.deepEqual(Array.from(a.data), [-300, 1234]);
  });

  test('version 2.0 (uint32 header length) float64 matrix', () => {
    const data = Buffer.alloc(32);
    [1.5, -2, 3.25, 1e-10].forEach((v, i) => data.writeDoubleLE(v, i * 8));
    const a = parseNpy(handBuilt(2, header('<f8', '(2, 2)'), data), FILE);
    assert.equal(a.dtype, 'float64');
    assert.deepEqual(a.shape, [2, 2]);
    assert.deepEqual(Array.from(a.data), [1.5, -2, 3.25, 1e-10]);
  });

  test('version 3.0 (UTF-8 header) bool, and extra header keys and whitespace are tolerated', () => {
    const text = `{ "descr" : "|b1" , "fortran_order" : False , "shape" : ( 3 , ) , "note": 'é' }   \n`;
    const a = parseNpy(handBuilt(3, text, Buffer.from([1, 0, 1])), FILE);
    assert.equal(a.dtype, 'bool');
    assert.deepEqual(Array.from(a.data), [1, 0, 1]);
  });

  test('a 0-d array (shape ()) has one element', () => {
    const data = Buffer.alloc(4);
    data.writeFloatLE(2.5);
    const a = parseNpy(handBuilt(1, header('<f4', '()'), data), FILE);
    assert.deepEqual(a.shape, []);
    assert.deepEqual(Array.from(a.data), [2.5]);
  });

  test('big-endian float32, float64, int32, uint16 and int64 are byte-swapped', () => {
    const f4 = Buffer.alloc(8);
    f4.writeFloatBE(1.25, 0);
    f4.writeFloatBE(-3.5, 4);
    assert.deepEqual(Array.from(parseNpy(handBuilt(1, header('>f4', '(2,)'), f4), FILE).data), [1.25, -3.5]);

    const f8 = Buffer.alloc(16);
    f8.writeDoubleBE(Math.E, 0);
    f8.writeDoubleBE(-1e200, 8);
    assert.deepEqual(Array.from(parseNpy(handBuilt(1, header('>f8', '(1, 2)'), f8), FILE).data), [Math.E, -1e200]);

    const i4 = Buffer.alloc(8);
    i4.writeInt32BE(-123456789, 0);
    i4.writeInt32BE(42, 4);
    assert.deepEqual(Array.from(parseNpy(handBuilt(1, header('>i4', '(2,)'), i4), FILE).data), [-123456789, 42]);

    const u2 = Buffer.alloc(4);
    u2.writeUInt16BE(65535, 0);
    u2.writeUInt16BE(258, 2);
    assert.deepEqual(Array.from(parseNpy(handBuilt(1, header('>u2', '(2,)'), u2), FILE).data), [65535, 258]);

    const i8 = Buffer.alloc(16);
    i8.writeBigInt64BE(-(2n ** 40n) - 3n, 0);
    i8.writeBigInt64BE(9n, 8);
    const a = parseNpy(handBuilt(1, header('>i8', '(2,)'), i8), FILE);
    assert.equal(a.dtype, 'int64');
    assert.deepEqual(Array.from(a.data), [-(2 ** 40) - 3, 9]);
  });

  test('a Python 2 header with long integers (3L) parses', () => {
    const a = parseNpy(handBuilt(1, header('|u1', '(3L,)'), Buffer.from([7, 8, 9])), FILE);
    assert.deepEqual(a.shape, [3]);
  });

  test('Fortran order is refused for a real matrix, with advice', () => {
    const buf = handBuilt(1, header('<f4', '(2, 3)', 'True'), Buffer.alloc(24));
    assert.throws(() => parseNpy(buf, FILE), {
      name: 'DataError',
      code: 'BAD_INPUT',
      message: /^\/data\/x\.npy: Fortran order is not supported; save with C order/,
    });
  });

  test('Fortran order is harmless for a vector (same layout) and is accepted', () => {
    const a = parseNpy(handBuilt(1, header('|u1', '(3,)', 'True'), Buffer.from([1, 2, 3])), FILE);
    assert.deepEqual(Array.from(a.data), [1, 2, 3]);
  });
});

describe('parseNpy rejects malformed files, naming the file', () => {
  const good = handBuilt(1, header('<f4', '(2,)'), Buffer.alloc(8));

  test('bad magic', () => {
    assert.throws(() => parseNpy(Buffer.from('PK\x03\x04 not numpy at all'), FILE), {
      name: 'DataError',
      message: /^\/data\/x\.npy: not an NPY file \(bad magic/,
    });
  });

  test('empty file', () => {
    assert.throws(() => parseNpy(Buffer.alloc(0), FILE), { message: /^\/data\/x\.npy: not an NPY file/ });
  });

  test('unsupported version', () => {
    const buf = Buffer.from(good);
    buf[6] = 4;
    assert.throws(() => parseNpy(buf, FILE), { message: /^\/data\/x\.npy: unsupported NPY format version 4\.0/ });
  });

  test('truncated header: preamble cut short', () => {
    assert.throws(() => parseNpy(good.subarray(0, 9), FILE), { message: /^\/data\/x\.npy: truncated NPY header/ });
  });

  test('truncated header: header length beyond the end of the file', () => {
    assert.throws(() => parseNpy(good.subarray(0, 40), FILE), {
      message: /^\/data\/x\.npy: truncated NPY header: it declares \d+ bytes/,
    });
  });

  test('unparsable header dict', () => {
    const buf = handBuilt(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)\n", Buffer.alloc(8));
    assert.throws(() => parseNpy(buf, FILE), { message: /^\/data\/x\.npy: cannot parse the NPY header/ });
    const junk = handBuilt(1, "{'descr': <f4}\n", Buffer.alloc(8));
    assert.throws(() => parseNpy(junk, FILE), { message: /^\/data\/x\.npy: cannot parse the NPY header/ });
  });

  test('header without shape', () => {
    const buf = handBuilt(1, "{'descr': '<f4', 'fortran_order': False}\n", Buffer.alloc(8));
    assert.throws(() => parseNpy(buf, FILE), { message: /^\/data\/x\.npy: the NPY header lacks/ });
  });

  test('negative or fractional dimension', () => {
    const buf = handBuilt(1, header('<f4', '(-2,)'), Buffer.alloc(8));
    assert.throws(() => parseNpy(buf, FILE), { message: /^\/data\/x\.npy: the NPY header's 'shape'/ });
  });

  for (const [descr, kind] of [
    ['<c16', 'complex'],
    ['|O', 'Python objects'],
    ['<U5', 'unicode strings'],
    ['<f2', 'floating point of this size'],
    ['<u8', 'unsigned integers of this size'],
    ['<M8', 'datetime64'],
  ] as const) {
    test(`unsupported dtype '${descr}' is named`, () => {
      const buf = handBuilt(1, header(descr, '(1,)'), Buffer.alloc(16));
      assert.throws(() => parseNpy(buf, FILE), {
        message: new RegExp(`^/data/x\\.npy: unsupported dtype '${descr.replace('|', '\\|')}' \\(${kind}\\); supported: float32`),
      });
    });
  }

  test('structured (record) dtype', () => {
    const buf = handBuilt(1, "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,), }\n", Buffer.alloc(8));
    assert.throws(() => parseNpy(buf, FILE), { message: /^\/data\/x\.npy: unsupported dtype: structured/ });
  });

  test('data shorter than the shape needs', () => {
    const buf = handBuilt(1, header('<f4', '(3, 4)'), Buffer.alloc(40));
    assert.throws(() => parseNpy(buf, FILE), {
      message: /^\/data\/x\.npy: data is 40 bytes but shape \[3,4\] of float32 needs 48 bytes \(file truncated\?\)/,
    });
  });

  test('data longer than the shape needs', () => {
    const buf = handBuilt(1, header('<f4', '(3,)'), Buffer.alloc(16));
    assert.throws(() => parseNpy(buf, FILE), { message: /^\/data\/x\.npy: data is 16 bytes but shape \[3\] of float32 needs 12/ });
  });

  test('int64 beyond 2^53', () => {
    const data = Buffer.alloc(16);
    data.writeBigInt64LE(1n, 0);
    data.writeBigInt64LE(2n ** 53n + 1n, 8);
    assert.throws(() => parseNpy(handBuilt(1, header('<i8', '(2,)'), data), FILE), {
      message: /^\/data\/x\.npy: int64 element 1 is 9007199254740993, beyond 2\^53/,
    });
    data.writeBigInt64LE(-(2n ** 62n), 8);
    assert.throws(() => parseNpy(handBuilt(1, header('<i8', '(2,)'), data), FILE), { message: /int64 element 1/ });
  });

  test('bool bytes other than 0/1', () => {
    assert.throws(() => parseNpy(handBuilt(1, header('|b1', '(2,)'), Buffer.from([1, 2])), FILE), {
      message: /^\/data\/x\.npy: bool element 1 has byte value 2/,
    });
  });

  test('readNpy on a missing file names it', () => {
    const missing = path.join(tmp, 'nope.npy');
    assert.throws(() => readNpy(missing), { name: 'DataError', message: new RegExp(`^${escape(missing)}: file not found`) });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

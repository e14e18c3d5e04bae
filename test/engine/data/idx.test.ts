import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { encodeIdx, parseIdx, readIdx, type IdxArray } from '../../../main/engine/data/idx.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-idx-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const FILE = '/data/train-images-idx3-ubyte';

/** An IDX header built by hand: 0, 0, type, ndims, then each dimension as a big-endian uint32. */
function idxHeader(type: number, dims: number[]): Buffer {
  const buf = Buffer.alloc(4 + 4 * dims.length);
  buf[2] = type;
  buf[3] = dims.length;
  dims.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  return buf;
}

describe('IDX round trip', () => {
  const cases: IdxArray[] = [
    { type: 'uint8', shape: [2, 2, 3], data: new Uint8Array([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]) },
    { type: 'int8', shape: [3], data: new Int8Array([-128, 0, 127]) },
    { type: 'int16', shape: [2], data: new Int16Array([-32768, 32767]) },
    { type: 'int32', shape: [1, 2], data: new Int32Array([-2147483648, 123456789]) },
    { type: 'float32', shape: [2], data: new Float32Array([1.5, -0.25]) },
    { type: 'float64', shape: [2], data: new Float64Array([Math.PI, -1e300]) },
  ];
  for (const array of cases) {
    for (const gzip of [false, true]) {
      test(`${array.type}${gzip ? ' (gzip)' : ''} survives encodeIdx → readIdx`, () => {
        const file = path.join(tmp, `rt-${array.type}${gzip ? '.gz' : ''}`);
        const raw = encodeIdx(array);
        fs.writeFileSync(file, gzip ? zlib.gzipSync(raw) : raw);
        const back = readIdx(file);
        assert.equal(back.type, array.type);
        assert.deepEqual(back.shape, array.shape);
        assert.equal(back.data.constructor, array.data.constructor);
        assert.deepEqual(Array.from(back.data), Array.from(array.data));
      });
    }
  }

  test('encodeIdx writes the MNIST header layout', () => {
    const raw = encodeIdx({ type: 'uint8', shape: [1, 28, 28], data: new Uint8Array(784) });
    assert.deepEqual([...raw.subarray(0, 4)], [0, 0, 0x08, 3]);
    assert.equal(raw.readUInt32BE(4), 1);
    assert.equal(raw.readUInt32BE(8), 28);
    assert.equal(raw.readUInt32BE(12), 28);
    assert.equal(raw.length, 16 + 784);
  });
});

describe('parseIdx on hand-built files', () => {
  test('big-endian int16 and float32 are byte-swapped', () => {
    const i2 = Buffer.alloc(4);
    i2.writeInt16BE(-2, 0);
    i2.writeInt16BE(513, 2);
    const a = parseIdx(Buffer.concat([idxHeader(0x0b, [2]), i2]), FILE);
    assert.equal(a.type, 'int16');
    assert.deepEqual(Array.from(a.data), [-2, 513]);

    const f4 = Buffer.alloc(8);
    f4.writeFloatBE(0.5, 0);
    f4.writeFloatBE(-8, 4);
    const b = parseIdx(Buffer.concat([idxHeader(0x0d, [1, 2]), f4]), FILE);
    assert.deepEqual(b.shape, [1, 2]);
    assert.deepEqual(Array.from(b.data), [0.5, -8]);
  });

  test('a labels file (idx1 ubyte)', () => {
    const a = parseIdx(Buffer.concat([idxHeader(0x08, [4]), Buffer.from([9, 0, 0, 3])]), FILE);
    assert.deepEqual(a.shape, [4]);
    assert.deepEqual(Array.from(a.data), [9, 0, 0, 3]);
  });
});

describe('parseIdx rejects malformed files, naming the file', () => {
  test('bad magic (non-zero leading bytes)', () => {
    assert.throws(() => parseIdx(Buffer.from([1, 2, 8, 1, 0, 0, 0, 0]), FILE), {
      name: 'DataError',
      code: 'BAD_INPUT',
      message: /^\/data\/train-images-idx3-ubyte: not an IDX file \(bad magic/,
    });
  });

  test('unknown type byte', () => {
    assert.throws(() => parseIdx(Buffer.concat([idxHeader(0x0a, [1]), Buffer.alloc(1)]), FILE), {
      message: /^\/data\/train-images-idx3-ubyte: unknown IDX data type 0x0a/,
    });
  });

  test('file shorter than the magic', () => {
    assert.throws(() => parseIdx(Buffer.from([0, 0]), FILE), { message: /^\/data\/train-images-idx3-ubyte: not an IDX file/ });
  });

  test('truncated header', () => {
    const buf = idxHeader(0x08, [10, 28, 28]).subarray(0, 10);
    assert.throws(() => parseIdx(buf, FILE), {
      message: /^\/data\/train-images-idx3-ubyte: truncated IDX header: 3 dimensions need 16 bytes, file has 10/,
    });
  });

  test('truncated data', () => {
    const buf = Buffer.concat([idxHeader(0x08, [10, 28, 28]), Buffer.alloc(28 * 28 * 9)]);
    assert.throws(() => parseIdx(buf, FILE), {
      message: /^\/data\/train-images-idx3-ubyte: data is 7056 bytes but shape \[10,28,28\] of uint8 needs 7840 bytes \(file truncated\?\)/,
    });
  });

  test('trailing bytes after the data', () => {
    const buf = Buffer.concat([idxHeader(0x08, [2]), Buffer.alloc(3)]);
    assert.throws(() => parseIdx(buf, FILE), { message: /data is 3 bytes but shape \[2\] of uint8 needs 2 bytes$/ });
  });

  test('truncated gzip stream', () => {
    const gz = zlib.gzipSync(Buffer.concat([idxHeader(0x08, [100]), Buffer.alloc(100, 7)]));
    assert.throws(() => parseIdx(gz.subarray(0, gz.length - 10), FILE), {
      message: /^\/data\/train-images-idx3-ubyte: corrupt or truncated gzip data/,
    });
  });

  test('missing file', () => {
    const missing = path.join(tmp, 'absent-idx1-ubyte.gz');
    assert.throws(() => readIdx(missing), { name: 'DataError', message: /absent-idx1-ubyte\.gz: file not found$/ });
  });
});

import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { loadDataset } from '../../../main/engine/data/dataset.js';
import { encodeIdx, readIdx } from '../../../main/engine/data/idx.js';
import { writeNpy, type NpyArray } from '../../../main/engine/data/npy.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-dataset-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const REPO = path.resolve(__dirname, '../../..');
const BUNDLED = path.join(REPO, 'data', 'fashion-mnist-3k');
const DEBIAN = '/usr/share/datasets/fashion-mnist';

let counter = 0;
/** A fresh folder holding the given files: NpyArray → .npy, string/Buffer → written as is. */
function folder(files: Record<string, NpyArray | string | Buffer>): string {
  const dir = path.join(tmp, `case-${++counter}`);
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    if (typeof content === 'string' || Buffer.isBuffer(content)) fs.writeFileSync(file, content);
    else writeNpy(file, content);
  }
  return dir;
}

function f32(n: number, d: number, fill: (i: number, j: number) => number = (i, j) => i + j / 10): NpyArray {
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = fill(i, j);
  return { dtype: 'float32', shape: [n, d], data };
}

function classes(ids: number[]): NpyArray {
  return { dtype: 'int64', shape: [ids.length], data: Float64Array.from(ids) };
}

function binary(rows: number[][]): NpyArray {
  const A = rows[0]?.length ?? 0;
  return { dtype: 'uint8', shape: [rows.length, A], data: Uint8Array.from(rows.flat()) };
}

/** `${dir}/${name}: ` at the start of an error message, regex-escaped. */
function at(dir: string, name: string): string {
  return `^${path.join(dir, name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `;
}

describe('npy layout', () => {
  test('binary attribute labels: shapes, names, default ids and file fingerprints', () => {
    const dir = folder({ 'features.npy': f32(3, 2), 'labels.npy': binary([[1, 0], [0, 1], [1, 1]]) });
    const ds = loadDataset(dir);
    assert.equal(ds.format, 'npy');
    assert.equal(ds.dir, dir);
    assert.equal(ds.d, 2);
    assert.equal(ds.A, 2);
    assert.equal(ds.numClasses, null);
    assert.deepEqual(ds.attributeNames, ['attribute 0', 'attribute 1']);
    assert.equal(ds.train.n, 3);
    assert.deepEqual(Array.from(ds.train.features), Array.from(f32(3, 2).data));
    assert.deepEqual(Array.from(ds.train.labels), [1, 0, 0, 1, 1, 1]);
    assert.equal(ds.train.classIds, null);
    assert.deepEqual(ds.ids, ['0', '1', '2']);
    assert.equal(ds.test, null);
    assert.deepEqual(
      ds.files.map((f) => path.basename(f.path)),
      ['features.npy', 'labels.npy'],
    );
    for (const f of ds.files) {
      const bytes = fs.readFileSync(f.path);
      assert.equal(f.bytes, bytes.length);
      assert.equal(f.sha256, createHash('sha256').update(bytes).digest('hex'));
    }
  });

  test('class-id labels become one-vs-rest attributes, A = max id + 1', () => {
    const dir = folder({ 'features.npy': f32(4, 1), 'labels.npy': classes([2, 0, 2, 1]) });
    const ds = loadDataset(dir);
    assert.equal(ds.A, 3);
    assert.equal(ds.numClasses, 3);
    assert.deepEqual(ds.attributeNames, ['class 0', 'class 1', 'class 2']);
    assert.deepEqual(Array.from(ds.train.classIds ?? []), [2, 0, 2, 1]);
    assert.deepEqual(Array.from(ds.train.labels), [0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0]);
  });

  test('class ids stored as exact floats and as uint8 are accepted', () => {
    for (const labels of [
      { dtype: 'float64', shape: [3], data: new Float64Array([0, 1, 3]) },
      { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 1, 3]) },
    ] as NpyArray[]) {
      const ds = loadDataset(folder({ 'features.npy': f32(3, 2), 'labels.npy': labels }));
      assert.equal(ds.A, 4);
      assert.deepEqual(Array.from(ds.train.classIds ?? []), [0, 1, 3]);
    }
  });

  test('binary labels in bool and float dtypes are accepted', () => {
    const dsBool = loadDataset(
      folder({ 'features.npy': f32(2, 1), 'labels.npy': { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) } }),
    );
    assert.deepEqual(Array.from(dsBool.train.labels), [1, 0, 0, 1]);
    const dsFloat = loadDataset(
      folder({ 'features.npy': f32(2, 1), 'labels.npy': { dtype: 'float32', shape: [2, 1], data: new Float32Array([0, 1]) } }),
    );
    assert.equal(dsFloat.A, 1);
    assert.deepEqual(Array.from(dsFloat.train.labels), [0, 1]);
  });

  test('float64 features are converted to float32', () => {
    const dir = folder({
      'features.npy': { dtype: 'float64', shape: [2, 2], data: new Float64Array([0.1, 0.2, 1e-3, -7]) },
      'labels.npy': classes([0, 1]),
    });
    const ds = loadDataset(dir);
    assert.ok(ds.train.features instanceof Float32Array);
    assert.deepEqual(Array.from(ds.train.features), Array.from(new Float32Array([0.1, 0.2, 1e-3, -7])));
  });

  test('attributes.txt names the attributes', () => {
    const dir = folder({
      'features.npy': f32(2, 1),
      'labels.npy': binary([[1, 0], [0, 1]]),
      'attributes.txt': 'Smiling\r\n  Eyeglasses \n',
    });
    assert.deepEqual(loadDataset(dir).attributeNames, ['Smiling', 'Eyeglasses']);
  });

  test('with class ids, attributes.txt may name classes the training labels never use', () => {
    const dir = folder({ 'features.npy': f32(2, 1), 'labels.npy': classes([0, 1]), 'attributes.txt': 'a\nb\nc\n' });
    const ds = loadDataset(dir);
    assert.equal(ds.A, 3);
    assert.equal(ds.numClasses, 3);
    assert.deepEqual(ds.attributeNames, ['a', 'b', 'c']);
    assert.deepEqual(Array.from(ds.train.labels), [1, 0, 0, 0, 1, 0]);
  });

  test('ids.txt: whitespace trimmed, CRLF and a trailing newline allowed', () => {
    const dir = folder({ 'features.npy': f32(3, 1), 'labels.npy': classes([0, 1, 0]), 'ids.txt': ' img_a \r\nimg_b\r\nimg_c\r\n' });
    const ds = loadDataset(dir);
    assert.deepEqual(ds.ids, ['img_a', 'img_b', 'img_c']);
    assert.deepEqual(
      ds.files.map((f) => path.basename(f.path)),
      ['features.npy', 'labels.npy', 'ids.txt'],
    );
  });

  test('a test split is loaded with the same kind of labels', () => {
    const dir = folder({
      'features.npy': f32(4, 3),
      'labels.npy': classes([0, 1, 2, 1]),
      'test_features.npy': f32(2, 3, () => 0.5),
      'test_labels.npy': classes([2, 2]),
    });
    const ds = loadDataset(dir);
    assert.ok(ds.test);
    assert.equal(ds.test.n, 2);
    assert.deepEqual(Array.from(ds.test.features), [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    assert.deepEqual(Array.from(ds.test.classIds ?? []), [2, 2]);
    assert.deepEqual(Array.from(ds.test.labels), [0, 0, 1, 0, 0, 1]);
    assert.equal(ds.files.length, 4);
  });

  test('limitTrain and limitTest keep the first rows of every array', () => {
    const dir = folder({
      'features.npy': f32(5, 2),
      'labels.npy': classes([0, 1, 2, 0, 1]),
      'ids.txt': 'a\nb\nc\nd\ne\n',
      'test_features.npy': f32(3, 2),
      'test_labels.npy': classes([1, 1, 0]),
    });
    const ds = loadDataset(dir, { limitTrain: 2, limitTest: 1 });
    assert.equal(ds.train.n, 2);
    assert.deepEqual(Array.from(ds.train.features), [0, 0.1, 1, 1.1].map(Math.fround));
    assert.deepEqual(Array.from(ds.train.classIds ?? []), [0, 1]);
    assert.equal(ds.train.labels.length, 2 * 3);
    assert.equal(ds.A, 3, 'a limit never changes the number of classes');
    assert.deepEqual(ds.ids, ['a', 'b']);
    assert.equal(ds.test?.n, 1);
    assert.deepEqual(Array.from(ds.test?.classIds ?? []), [1]);
    // The limited arrays are compact copies, not views of the whole file, in shared memory (the
    // Fisher build's worker threads read them without a copy each).
    assert.equal(ds.train.features.buffer.byteLength, 4 * 4);
    assert.ok(ds.train.features.buffer instanceof SharedArrayBuffer);
    assert.ok(ds.test?.features.buffer instanceof SharedArrayBuffer);
    const whole = loadDataset(dir);
    assert.ok(whole.train.features.buffer instanceof SharedArrayBuffer, 'npy features, not limited');
    assert.equal(whole.train.features.buffer.byteLength, 5 * 2 * 4);
  });
});

describe('npy layout errors name the file and the row or field', () => {
  test('missing folder, a file given as the folder, and an empty folder', () => {
    const missing = path.join(tmp, 'no-such-folder');
    assert.throws(() => loadDataset(missing), { name: 'DataError', code: 'BAD_INPUT', message: new RegExp(`${at(tmp, 'no-such-folder')}folder not found`) });
    const dir = folder({ 'x.txt': 'hello' });
    assert.throws(() => loadDataset(path.join(dir, 'x.txt')), { message: new RegExp(`${at(dir, 'x.txt')}is not a folder`) });
    const empty = folder({});
    assert.throws(() => loadDataset(empty), {
      message: new RegExp(`^${empty.replace(/[.\\]/g, '\\$&')}: no dataset found: expected features\\.npy .*train-images-idx3-ubyte`),
    });
  });

  test('labels.npy missing', () => {
    const dir = folder({ 'features.npy': f32(2, 2) });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'labels.npy')}file not found`) });
  });

  test('features of the wrong rank', () => {
    const dir = folder({
      'features.npy': { dtype: 'float32', shape: [3, 4, 5], data: new Float32Array(60) },
      'labels.npy': classes([0, 1, 2]),
    });
    assert.throws(() => loadDataset(dir), {
      message: new RegExp(`${at(dir, 'features.npy')}expected a 2-D array \\(n×d\\), got shape \\[3,4,5\\]`),
    });
  });

  test('integer features are refused', () => {
    const dir = folder({ 'features.npy': { dtype: 'int32', shape: [1, 1], data: new Int32Array(1) }, 'labels.npy': classes([0]) });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'features.npy')}expected float32 or float64 features, got int32`) });
  });

  test('labels with fewer rows than features', () => {
    const dir = folder({ 'features.npy': f32(3000, 1), 'labels.npy': classes(new Array<number>(2999).fill(0)) });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'labels.npy')}has 2999 rows but features\\.npy has 3000`) });
  });

  test('NaN, infinite and float32-overflowing features name the first bad row and column', () => {
    const nan = folder({ 'features.npy': f32(20, 5, (i, j) => (i === 17 && j === 3 ? NaN : 1)), 'labels.npy': classes(new Array<number>(20).fill(0)) });
    assert.throws(() => loadDataset(nan), { message: new RegExp(`${at(nan, 'features.npy')}row 17, column 3 is NaN`) });
    const inf = folder({ 'features.npy': f32(3, 2, (i, j) => (i === 2 && j === 0 ? -Infinity : 1)), 'labels.npy': classes([0, 0, 0]) });
    assert.throws(() => loadDataset(inf), { message: new RegExp(`${at(inf, 'features.npy')}row 2, column 0 is -Infinity`) });
    const big = folder({
      'features.npy': { dtype: 'float64', shape: [2, 2], data: new Float64Array([0, 0, 0, 1e39]) },
      'labels.npy': classes([0, 0]),
    });
    assert.throws(() => loadDataset(big), { message: new RegExp(`${at(big, 'features.npy')}row 1, column 1 is 1e\\+39, too large for float32`) });
  });

  test('binary labels that are not 0/1 name the row, column and value', () => {
    const dir = folder({ 'features.npy': f32(3, 1), 'labels.npy': binary([[0, 1], [1, 0], [0, 2]]) });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'labels.npy')}row 2, column 1 is 2; binary labels must be 0 or 1`) });
    const half = folder({ 'features.npy': f32(1, 1), 'labels.npy': { dtype: 'float32', shape: [1, 1], data: new Float32Array([0.5]) } });
    assert.throws(() => loadDataset(half), { message: new RegExp(`${at(half, 'labels.npy')}row 0, column 0 is 0.5`) });
  });

  test('negative, fractional and NaN class ids name the row', () => {
    const neg = folder({ 'features.npy': f32(3, 1), 'labels.npy': classes([0, -1, 2]) });
    assert.throws(() => loadDataset(neg), { message: new RegExp(`${at(neg, 'labels.npy')}row 1: class id -1 is negative`) });
    const frac = folder({ 'features.npy': f32(3, 1), 'labels.npy': { dtype: 'float32', shape: [3], data: new Float32Array([0, 1, 2.5]) } });
    assert.throws(() => loadDataset(frac), { message: new RegExp(`${at(frac, 'labels.npy')}row 2: class id 2.5 is not an integer`) });
    const nan = folder({ 'features.npy': f32(1, 1), 'labels.npy': { dtype: 'float64', shape: [1], data: new Float64Array([NaN]) } });
    assert.throws(() => loadDataset(nan), { message: new RegExp(`${at(nan, 'labels.npy')}row 0: class id NaN is not an integer`) });
  });

  test('a 1-D bool label array is ambiguous', () => {
    const dir = folder({ 'features.npy': f32(2, 1), 'labels.npy': { dtype: 'bool', shape: [2], data: new Uint8Array([0, 1]) } });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'labels.npy')}a 1-D bool array is ambiguous`) });
  });

  test('labels of rank 3', () => {
    const dir = folder({ 'features.npy': f32(2, 1), 'labels.npy': { dtype: 'uint8', shape: [2, 1, 1], data: new Uint8Array(2) } });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'labels.npy')}expected n class ids \\(1-D\\) or an n×A array`) });
  });

  test('n = 0, d = 0 and A = 0', () => {
    const n0 = folder({ 'features.npy': f32(0, 3), 'labels.npy': classes([]) });
    assert.throws(() => loadDataset(n0), { message: new RegExp(`${at(n0, 'features.npy')}has no rows \\(n = 0\\)`) });
    const d0 = folder({ 'features.npy': f32(2, 0), 'labels.npy': classes([0, 1]) });
    assert.throws(() => loadDataset(d0), { message: new RegExp(`${at(d0, 'features.npy')}has no feature columns \\(d = 0\\)`) });
    const a0 = folder({ 'features.npy': f32(2, 1), 'labels.npy': { dtype: 'uint8', shape: [2, 0], data: new Uint8Array(0) } });
    assert.throws(() => loadDataset(a0), { message: new RegExp(`${at(a0, 'labels.npy')}has no columns \\(A = 0\\)`) });
  });

  test('ids.txt: duplicate ids name both lines and the id', () => {
    const dir = folder({ 'features.npy': f32(4, 1), 'labels.npy': classes([0, 1, 0, 1]), 'ids.txt': 'a\nb\nc\nb\n' });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'ids.txt')}line 4 repeats the id "b" of line 2`) });
  });

  test('ids.txt: an empty line is named', () => {
    const dir = folder({ 'features.npy': f32(3, 1), 'labels.npy': classes([0, 1, 0]), 'ids.txt': 'a\n  \nc\n' });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'ids.txt')}line 2 is empty`) });
  });

  test('ids.txt: count must match the rows', () => {
    const dir = folder({ 'features.npy': f32(3, 1), 'labels.npy': classes([0, 1, 0]), 'ids.txt': 'a\nb\n' });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'ids.txt')}has 2 ids but features\\.npy has 3 rows`) });
  });

  test('attributes.txt: count must match the attribute columns; names unique', () => {
    const dir = folder({ 'features.npy': f32(2, 1), 'labels.npy': binary([[1, 0], [0, 1]]), 'attributes.txt': 'only one\n' });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'attributes.txt')}has 1 names but labels\\.npy has 2 attribute columns`) });
    const few = folder({ 'features.npy': f32(2, 1), 'labels.npy': classes([0, 4]), 'attributes.txt': 'a\nb\n' });
    assert.throws(() => loadDataset(few), { message: new RegExp(`${at(few, 'attributes.txt')}has 2 names but labels\\.npy uses class id 4`) });
    const dup = folder({ 'features.npy': f32(2, 1), 'labels.npy': binary([[1, 0], [0, 1]]), 'attributes.txt': 'x\nx\n' });
    assert.throws(() => loadDataset(dup), { message: new RegExp(`${at(dup, 'attributes.txt')}line 2 repeats the name "x" of line 1`) });
  });

  test('test split: both files or neither', () => {
    const dir = folder({ 'features.npy': f32(2, 1), 'labels.npy': classes([0, 1]), 'test_features.npy': f32(1, 1) });
    assert.throws(() => loadDataset(dir), {
      message: new RegExp(`${at(dir, 'test_labels.npy')}file not found; test_features\\.npy exists, and a test split needs both`),
    });
    const other = folder({ 'features.npy': f32(2, 1), 'labels.npy': classes([0, 1]), 'test_labels.npy': classes([0]) });
    assert.throws(() => loadDataset(other), { message: new RegExp(`${at(other, 'test_features.npy')}file not found`) });
  });

  test('test split: d mismatch', () => {
    const dir = folder({ 'features.npy': f32(2, 3), 'labels.npy': classes([0, 1]), 'test_features.npy': f32(1, 4), 'test_labels.npy': classes([0]) });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'test_features.npy')}has 4 features per row but features\\.npy has 3`) });
  });

  test('test split: rows mismatch between test features and labels', () => {
    const dir = folder({ 'features.npy': f32(2, 1), 'labels.npy': classes([0, 1]), 'test_features.npy': f32(3, 1), 'test_labels.npy': classes([0]) });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'test_labels.npy')}has 1 rows but test_features\\.npy has 3`) });
  });

  test('test split: label kind, attribute count and class range must match training', () => {
    const kind = folder({ 'features.npy': f32(2, 1), 'labels.npy': classes([0, 1]), 'test_features.npy': f32(1, 1), 'test_labels.npy': binary([[0, 1]]) });
    assert.throws(() => loadDataset(kind), {
      message: new RegExp(`${at(kind, 'test_labels.npy')}holds binary attributes \\(2-D\\) but labels\\.npy holds class ids \\(1-D\\)`),
    });
    const cols = folder({
      'features.npy': f32(2, 1),
      'labels.npy': binary([[0, 1], [1, 0]]),
      'test_features.npy': f32(1, 1),
      'test_labels.npy': binary([[0, 1, 1]]),
    });
    assert.throws(() => loadDataset(cols), { message: new RegExp(`${at(cols, 'test_labels.npy')}has 3 attribute columns but labels\\.npy has 2`) });
    const range = folder({ 'features.npy': f32(2, 1), 'labels.npy': classes([0, 1]), 'test_features.npy': f32(3, 1), 'test_labels.npy': classes([1, 0, 2]) });
    assert.throws(() => loadDataset(range), {
      message: new RegExp(`${at(range, 'test_labels.npy')}row 2: class id 2 is not a training class \\(classes are 0\\.\\.1\\)`),
    });
  });

  test('limits: above the rows available, not positive, or a test limit without a test split', () => {
    const dir = folder({ 'features.npy': f32(3, 1), 'labels.npy': classes([0, 1, 0]) });
    assert.throws(() => loadDataset(dir, { limitTrain: 4 }), {
      code: 'BAD_ARGUMENT',
      message: new RegExp(`${at(dir, 'features.npy')}limitTrain = 4 but the file has only 3 rows`),
    });
    assert.throws(() => loadDataset(dir, { limitTrain: 0 }), { code: 'BAD_ARGUMENT', message: /limitTrain must be a positive integer, got 0/ });
    assert.throws(() => loadDataset(dir, { limitTrain: 1.5 }), { code: 'BAD_ARGUMENT', message: /limitTrain must be a positive integer/ });
    assert.throws(() => loadDataset(dir, { limitTest: 1 }), { code: 'BAD_ARGUMENT', message: /limitTest = 1 was given but the dataset has no test split/ });
    assert.equal(loadDataset(dir, { limitTrain: 3 }).train.n, 3);
  });
});

describe('idx layout', () => {
  /** n images of rows×cols with pixel (i, p) = (i * 7 + p) mod 256, and labels i mod 3. */
  function idxFiles(prefix: 'train' | 't10k', n: number, rows: number, cols: number, gzip: boolean): Record<string, Buffer> {
    const pixels = new Uint8Array(n * rows * cols);
    for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.floor(i / (rows * cols)) * 7 + (i % (rows * cols))) % 256;
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 3);
    const wrap = (b: Buffer): Buffer => (gzip ? zlib.gzipSync(b) : b);
    const ext = gzip ? '.gz' : '';
    return {
      [`${prefix}-images-idx3-ubyte${ext}`]: wrap(encodeIdx({ type: 'uint8', shape: [n, rows, cols], data: pixels })),
      [`${prefix}-labels-idx1-ubyte${ext}`]: wrap(encodeIdx({ type: 'uint8', shape: [n], data: labels })),
    };
  }

  for (const gzip of [true, false]) {
    test(`images are scaled by /255 and labels become classes (${gzip ? 'gzip' : 'raw'})`, () => {
      const dir = folder({ ...idxFiles('train', 4, 2, 3, gzip), ...idxFiles('t10k', 2, 2, 3, gzip) });
      const ds = loadDataset(dir);
      assert.equal(ds.format, 'idx');
      assert.equal(ds.d, 6);
      assert.equal(ds.train.n, 4);
      assert.equal(ds.A, 3);
      assert.equal(ds.numClasses, 3);
      assert.deepEqual(Array.from(ds.train.classIds ?? []), [0, 1, 2, 0]);
      assert.equal(ds.train.features[7], Math.fround(8 / 255)); // image 1, pixel 1: 1·7 + 1
      assert.equal(ds.test?.n, 2);
      assert.equal(ds.files.length, 4);
      assert.deepEqual(ds.ids, ['0', '1', '2', '3']);
    });
  }

  test('test images with a different size are refused', () => {
    const dir = folder({ ...idxFiles('train', 2, 2, 3, true), ...idxFiles('t10k', 2, 3, 3, true) });
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 't10k-images-idx3-ubyte.gz')}has 9 features per row but train-images-idx3-ubyte\\.gz has 6`) });
  });

  test('labels file missing, and a test split with only images', () => {
    const files = idxFiles('train', 2, 2, 2, true);
    const noLabels = folder({ 'train-images-idx3-ubyte.gz': files['train-images-idx3-ubyte.gz'] as Buffer });
    assert.throws(() => loadDataset(noLabels), { message: new RegExp(`${at(noLabels, 'train-labels-idx1-ubyte[.gz]').replace('[.gz]', '\\[\\.gz\\]')}file not found`) });
    const test = idxFiles('t10k', 1, 2, 2, true);
    const half = folder({ ...files, 't10k-images-idx3-ubyte.gz': test['t10k-images-idx3-ubyte.gz'] as Buffer });
    assert.throws(() => loadDataset(half), { message: /t10k-labels-idx1-ubyte\[\.gz\]: file not found; t10k-images-idx3-ubyte exists/ });
  });

  test('image and label counts must agree', () => {
    const files = idxFiles('train', 3, 2, 2, false);
    files['train-labels-idx1-ubyte'] = encodeIdx({ type: 'uint8', shape: [2], data: new Uint8Array(2) });
    const dir = folder(files);
    assert.throws(() => loadDataset(dir), { message: new RegExp(`${at(dir, 'train-labels-idx1-ubyte')}has 2 rows but train-images-idx3-ubyte has 3`) });
  });

  test('images that are not n×rows×cols ubyte are refused', () => {
    const files = idxFiles('train', 2, 2, 2, false);
    files['train-images-idx3-ubyte'] = encodeIdx({ type: 'float32', shape: [2, 4], data: new Float32Array(8) });
    const dir = folder(files);
    assert.throws(() => loadDataset(dir), {
      message: new RegExp(`${at(dir, 'train-images-idx3-ubyte')}expected an n×rows×cols ubyte image array \\(idx3\\), got float32 of shape \\[2,4\\]`),
    });
  });
});

describe('bundled Fashion-MNIST slice (data/fashion-mnist-3k)', () => {
  test('loads with n = 3000, d = 784, A = 10, test n = 1000, features in [0, 1], quickly', () => {
    const start = performance.now();
    const ds = loadDataset(BUNDLED);
    const ms = performance.now() - start;
    assert.equal(ds.format, 'idx');
    assert.equal(ds.train.n, 3000);
    assert.equal(ds.d, 784);
    assert.equal(ds.A, 10);
    assert.equal(ds.numClasses, 10);
    assert.equal(ds.test?.n, 1000);
    assert.equal(ds.train.features.length, 3000 * 784);
    assert.equal(ds.train.labels.length, 3000 * 10);
    assert.ok(ds.train.features.buffer instanceof SharedArrayBuffer, 'IDX features are decoded into shared memory');
    assert.equal(ds.train.features.buffer.byteLength, 3000 * 784 * 4);
    for (const split of [ds.train, ds.test]) {
      let min = Infinity;
      let max = -Infinity;
      for (const v of split?.features ?? []) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      assert.equal(min, 0);
      assert.equal(max, 1);
    }
    // Every class occurs in the training slice.
    const counts = new Array<number>(10).fill(0);
    for (const c of ds.train.classIds ?? []) counts[c] = (counts[c] ?? 0) + 1;
    assert.ok(counts.every((c) => c > 200), `class counts ${counts.join(',')}`);
    assert.equal(ds.files.length, 4);
    assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
  });

  test('the files are small', () => {
    const total = fs.readdirSync(BUNDLED).reduce((sum, f) => sum + fs.statSync(path.join(BUNDLED, f)).size, 0);
    assert.ok(total < 2_000_000, `${total} bytes`);
  });

  test('limitTrain keeps the first rows', () => {
    const full = loadDataset(BUNDLED);
    const ds = loadDataset(BUNDLED, { limitTrain: 100, limitTest: 10 });
    assert.equal(ds.train.n, 100);
    assert.equal(ds.A, 10);
    assert.deepEqual(Array.from(ds.train.classIds ?? []), Array.from(full.train.classIds ?? []).slice(0, 100));
    assert.deepEqual(ds.train.features, full.train.features.slice(0, 100 * 784));
    assert.equal(ds.ids.length, 100);
    assert.equal(ds.test?.n, 10);
  });

  test('rows are the first rows of the full Fashion-MNIST files', { skip: !fs.existsSync(DEBIAN) && `${DEBIAN} not installed` }, () => {
    const ds = loadDataset(BUNDLED);
    const trainLabels = readIdx(path.join(DEBIAN, 'train-labels-idx1-ubyte.gz'));
    const testLabels = readIdx(path.join(DEBIAN, 't10k-labels-idx1-ubyte.gz'));
    assert.equal(trainLabels.shape[0], 60000);
    assert.deepEqual(Array.from(ds.train.classIds ?? []), Array.from(trainLabels.data.subarray(0, 3000)));
    assert.deepEqual(Array.from(ds.test?.classIds ?? []), Array.from(testLabels.data.subarray(0, 1000)));
    const trainImages = readIdx(path.join(DEBIAN, 'train-images-idx3-ubyte.gz'));
    const firstImages = trainImages.data.subarray(0, 3000 * 784);
    for (let i = 0; i < firstImages.length; i++) {
      if (ds.train.features[i] !== Math.fround((firstImages[i] as number) / 255)) {
        assert.fail(`pixel ${i} differs`);
      }
    }
  });
});

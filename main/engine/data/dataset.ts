/**
 * Loads a training (and optional test) set from a folder, in one of two layouts:
 *
 * npy:  features.npy  n×d float32/float64
 *       labels.npy    n×A of 0/1 (binary attributes), or n class ids (one-vs-rest attributes)
 *       test_features.npy + test_labels.npy   optional, both or neither
 * idx:  train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz]   (MNIST / Fashion-MNIST)
 *       t10k-images-idx3-ubyte[.gz] + t10k-labels-idx1-ubyte[.gz]     optional, both or neither
 *       images n×rows×cols ubyte are scaled to [0, 1] by /255; labels are class ids.
 * both: ids.txt        optional, one unique id per training row (default: the row index)
 *       attributes.txt optional, one name per attribute (or class)
 *
 * Every file is validated in full (shape, dtype, NaN/∞, label values, ids) before anything is
 * returned, and every problem is a DataError naming the file and the row or column at fault.
 * Rows are numbered from 0 (like the default ids); lines of text files from 1.
 *
 * limitTrain / limitTest keep the FIRST N rows of each split, so a limit is deterministic and
 * matches `head`. The number of classes is taken from the whole train label file, so a limit
 * never changes A.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DataError, SsseError } from '../errors.js';
import { formatShape, readFileOrThrow } from './bytes.js';
import { firstNonFinite } from './finite.js';
import { parseIdx, type IdxArray } from './idx.js';
import { parseNpy, type NpyArray } from './npy.js';
import type { Dataset, SourceFile, Split } from './types.js';

export interface LoadOptions {
  /** Keep only the first N training rows (1 ≤ N ≤ n). */
  limitTrain?: number;
  /** Keep only the first N test rows (1 ≤ N ≤ test n); an error when there is no test split. */
  limitTest?: number;
}

/** A guard against a corrupt label file asking for a huge n×A one-hot matrix. */
const MAX_CLASSES = 65536;

const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** Numeric arrays as both readers return them. */
type Numeric = ArrayLike<number>;

interface RawFeatures {
  file: string;
  n: number;
  d: number;
  data: Float32Array;
}

type RawLabels =
  | { kind: 'classes'; file: string; n: number; ids: Int32Array; maxId: number }
  | { kind: 'binary'; file: string; n: number; A: number; values: Uint8Array };

interface RawSplit {
  features: RawFeatures;
  labels: RawLabels;
}

/** Reads each file once, recording its SHA-256 and size for the dataset fingerprint. */
class SourceReader {
  readonly files: SourceFile[] = [];
  read(file: string): Buffer {
    const buf = readFileOrThrow(file);
    this.files.push({ path: file, sha256: createHash('sha256').update(buf).digest('hex'), bytes: buf.length });
    return buf;
  }
}

/** Loads and validates the dataset in `dir`; see the module comment for the layouts. */
export function loadDataset(dir: string, options: LoadOptions = {}): Dataset {
  checkLimit('limitTrain', options.limitTrain);
  checkLimit('limitTest', options.limitTest);
  checkFolder(dir);

  const reader = new SourceReader();
  const format = detectFormat(dir);
  const { train, test } = format === 'npy' ? readNpyLayout(dir, reader) : readIdxLayout(dir, reader);

  if (test) {
    if (test.features.d !== train.features.d) {
      throw new DataError(
        test.features.file,
        `has ${test.features.d} features per row but ${path.basename(train.features.file)} has ${train.features.d}`,
      );
    }
    checkTestLabels(train.labels, test.labels);
  }

  const idsFile = path.join(dir, 'ids.txt');
  const ids = exists(idsFile) ? readIds(reader, idsFile, train.features) : null;
  const namesFile = path.join(dir, 'attributes.txt');
  const names = exists(namesFile) ? readNames(reader, namesFile, train.labels) : null;

  const A = train.labels.kind === 'binary' ? train.labels.A : Math.max(train.labels.maxId + 1, names?.length ?? 0);
  if (test?.labels.kind === 'classes' && test.labels.maxId >= A) {
    const row = test.labels.ids.findIndex((id) => id >= A);
    throw new DataError(
      test.labels.file,
      `row ${row}: class id ${test.labels.ids[row]} is not a training class (classes are 0..${A - 1})`,
    );
  }
  const attributeNames =
    names ?? Array.from({ length: A }, (_, i) => (train.labels.kind === 'classes' ? `class ${i}` : `attribute ${i}`));

  const trainN = applyLimit('limitTrain', options.limitTrain, train);
  let testSplit: Split | null = null;
  if (test) {
    testSplit = makeSplit(test, applyLimit('limitTest', options.limitTest, test), A);
  } else if (options.limitTest !== undefined) {
    throw new SsseError('BAD_ARGUMENT', `${dir}: limitTest = ${options.limitTest} was given but the dataset has no test split`);
  }

  return {
    dir,
    format,
    d: train.features.d,
    A,
    attributeNames,
    numClasses: train.labels.kind === 'classes' ? A : null,
    train: makeSplit(train, trainN, A),
    ids: (ids ?? Array.from({ length: train.features.n }, (_, i) => String(i))).slice(0, trainN),
    test: testSplit,
    files: reader.files,
  };
}

// ---------------------------------------------------------------------------------------------
// Layouts

function detectFormat(dir: string): 'npy' | 'idx' {
  if (exists(path.join(dir, 'features.npy'))) return 'npy';
  if (findIdx(dir, IDX_FILES.trainImages) !== null) return 'idx';
  throw new DataError(
    dir,
    'no dataset found: expected features.npy + labels.npy (npy layout) or ' +
      'train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz] (IDX layout)',
  );
}

function readNpyLayout(dir: string, reader: SourceReader): { train: RawSplit; test: RawSplit | null } {
  const train = readNpySplit(reader, path.join(dir, 'features.npy'), path.join(dir, 'labels.npy'));
  const testFeatures = path.join(dir, 'test_features.npy');
  const testLabels = path.join(dir, 'test_labels.npy');
  const hasFeatures = exists(testFeatures);
  if (hasFeatures !== exists(testLabels)) {
    const [present, missing] = hasFeatures ? [testFeatures, testLabels] : [testLabels, testFeatures];
    throw new DataError(missing, `file not found; ${path.basename(present)} exists, and a test split needs both`);
  }
  return { train, test: hasFeatures ? readNpySplit(reader, testFeatures, testLabels) : null };
}

function readNpySplit(reader: SourceReader, featuresFile: string, labelsFile: string): RawSplit {
  const features = npyFeatures(parseNpy(reader.read(featuresFile), featuresFile), featuresFile);
  if (!exists(labelsFile)) {
    throw new DataError(labelsFile, `file not found; ${path.basename(featuresFile)} needs its labels beside it`);
  }
  const labels = npyLabels(parseNpy(reader.read(labelsFile), labelsFile), labelsFile);
  checkRows(labels.file, labels.n, features);
  return { features, labels };
}

function readIdxLayout(dir: string, reader: SourceReader): { train: RawSplit; test: RawSplit | null } {
  const train = readIdxSplit(reader, dir, IDX_FILES.trainImages, IDX_FILES.trainLabels);
  const hasImages = findIdx(dir, IDX_FILES.testImages) !== null;
  const hasLabels = findIdx(dir, IDX_FILES.testLabels) !== null;
  if (hasImages !== hasLabels) {
    const [present, missing] = hasImages
      ? [IDX_FILES.testImages, IDX_FILES.testLabels]
      : [IDX_FILES.testLabels, IDX_FILES.testImages];
    throw new DataError(path.join(dir, `${missing}[.gz]`), `file not found; ${present} exists, and a test split needs both`);
  }
  return { train, test: hasImages ? readIdxSplit(reader, dir, IDX_FILES.testImages, IDX_FILES.testLabels) : null };
}

function readIdxSplit(reader: SourceReader, dir: string, imagesName: string, labelsName: string): RawSplit {
  const imagesFile = findIdx(dir, imagesName);
  if (imagesFile === null) throw new DataError(path.join(dir, `${imagesName}[.gz]`), 'file not found');
  const labelsFile = findIdx(dir, labelsName);
  if (labelsFile === null) {
    throw new DataError(path.join(dir, `${labelsName}[.gz]`), `file not found; ${path.basename(imagesFile)} needs its labels beside it`);
  }
  const features = idxImages(parseIdx(reader.read(imagesFile), imagesFile), imagesFile);
  const labelArray = parseIdx(reader.read(labelsFile), labelsFile);
  if (labelArray.shape.length !== 1 || labelArray.type === 'float32' || labelArray.type === 'float64') {
    throw new DataError(
      labelsFile,
      `expected a 1-D integer array of class ids (idx1), got ${labelArray.type} of shape ${formatShape(labelArray.shape)}`,
    );
  }
  const labels = classLabels(labelArray.data, labelsFile);
  checkRows(labels.file, labels.n, features);
  return { features, labels };
}

/** The uncompressed name wins when both exist: it is the one a user unpacked to edit or inspect. */
function findIdx(dir: string, name: string): string | null {
  for (const candidate of [path.join(dir, name), path.join(dir, `${name}.gz`)]) {
    if (exists(candidate)) return candidate;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Features

function npyFeatures(array: NpyArray, file: string): RawFeatures {
  if (array.shape.length !== 2) {
    throw new DataError(file, `expected a 2-D array (n×d), got shape ${formatShape(array.shape)}`);
  }
  if (array.dtype !== 'float32' && array.dtype !== 'float64') {
    throw new DataError(file, `expected float32 or float64 features, got ${array.dtype}; save with .astype(np.float32)`);
  }
  const [n, d] = array.shape as [number, number];
  checkNotEmpty(file, n, d);
  // tfjs computes in float32; a float64 file is converted once here (the typed-array constructor
  // does it natively), then every value is checked after conversion, which also catches float64
  // values too large for float32.
  const data = array.data instanceof Float32Array ? array.data : new Float32Array(array.data);
  const bad = firstNonFinite(data);
  if (bad >= 0) {
    const source = array.data[bad] as number;
    const what = Number.isNaN(source) ? 'NaN' : Number.isFinite(source) ? `${source}, too large for float32` : `${source}`;
    throw new DataError(file, `row ${Math.floor(bad / d)}, column ${bad % d} is ${what}; features must be finite`);
  }
  return { file, n, d, data };
}

function idxImages(array: IdxArray, file: string): RawFeatures {
  if (array.type !== 'uint8' || array.shape.length !== 3) {
    throw new DataError(
      file,
      `expected an n×rows×cols ubyte image array (idx3), got ${array.type} of shape ${formatShape(array.shape)}`,
    );
  }
  const [n, rows, cols] = array.shape as [number, number, number];
  const d = rows * cols;
  checkNotEmpty(file, n, d);
  // A 256-entry table makes the /255 scaling a lookup and guarantees identical values everywhere.
  const scale = new Float32Array(256);
  for (let v = 0; v < 256; v++) scale[v] = v / 255;
  const src = array.data;
  const data = new Float32Array(new SharedArrayBuffer(src.length * 4));
  for (let i = 0; i < src.length; i++) data[i] = scale[src[i] as number] as number;
  return { file, n, d, data };
}


// ---------------------------------------------------------------------------------------------
// Labels

function npyLabels(array: NpyArray, file: string): RawLabels {
  if (array.shape.length === 2) return binaryLabels(array, file);
  if (array.shape.length === 1) {
    if (array.dtype === 'bool') {
      throw new DataError(
        file,
        'a 1-D bool array is ambiguous: save class ids as integers, or binary attributes as an n×1 array',
      );
    }
    return classLabels(array.data, file);
  }
  throw new DataError(
    file,
    `expected n class ids (1-D) or an n×A array of 0/1 (2-D), got shape ${formatShape(array.shape)}`,
  );
}

function binaryLabels(array: NpyArray, file: string): RawLabels {
  const [n, A] = array.shape as [number, number];
  if (n === 0) throw new DataError(file, 'has no rows (n = 0)');
  if (A === 0) throw new DataError(file, 'has no columns (A = 0); there must be at least one attribute');
  const src = array.data;
  const values = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i] as number;
    if (v !== 0 && v !== 1) {
      throw new DataError(file, `row ${Math.floor(i / A)}, column ${i % A} is ${v}; binary labels must be 0 or 1`);
    }
    values[i] = v;
  }
  return { kind: 'binary', file, n, A, values };
}

/** Class ids: exact non-negative integers (an integer dtype, or floats such as 3.0). */
function classLabels(src: Numeric, file: string): RawLabels {
  const n = src.length;
  if (n === 0) throw new DataError(file, 'has no rows (n = 0)');
  const ids = new Int32Array(n);
  let maxId = 0;
  for (let row = 0; row < n; row++) {
    const v = src[row] as number;
    if (!Number.isInteger(v)) throw new DataError(file, `row ${row}: class id ${v} is not an integer`);
    if (v < 0) throw new DataError(file, `row ${row}: class id ${v} is negative`);
    if (v >= MAX_CLASSES) throw new DataError(file, `row ${row}: class id ${v} is too large (at most ${MAX_CLASSES} classes)`);
    ids[row] = v;
    if (v > maxId) maxId = v;
  }
  return { kind: 'classes', file, n, ids, maxId };
}

/** Test labels must be of the same kind as the training labels (class ids < numClasses is checked later). */
function checkTestLabels(train: RawLabels, test: RawLabels): void {
  if (train.kind !== test.kind) {
    const describe = (l: RawLabels): string => (l.kind === 'classes' ? 'class ids (1-D)' : 'binary attributes (2-D)');
    throw new DataError(test.file, `holds ${describe(test)} but ${path.basename(train.file)} holds ${describe(train)}`);
  }
  if (train.kind === 'binary' && test.kind === 'binary' && train.A !== test.A) {
    throw new DataError(test.file, `has ${test.A} attribute columns but ${path.basename(train.file)} has ${train.A}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Text files

/** Lines of a text file: BOM and one trailing newline dropped, each line trimmed; no line may be empty. */
function readLines(reader: SourceReader, file: string): string[] {
  const lines = reader
    .read(file)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '') throw new DataError(file, `line ${i + 1} is empty`);
    return trimmed;
  });
}

/** One line per line number that repeats an earlier one → error naming both lines. */
function checkUnique(file: string, lines: string[], what: string): void {
  const firstLine = new Map<string, number>();
  lines.forEach((line, i) => {
    const earlier = firstLine.get(line);
    if (earlier !== undefined) {
      throw new DataError(file, `line ${i + 1} repeats the ${what} "${line}" of line ${earlier}; ${what}s must be unique`);
    }
    firstLine.set(line, i + 1);
  });
}

function readIds(reader: SourceReader, file: string, features: RawFeatures): string[] {
  const ids = readLines(reader, file);
  if (ids.length !== features.n) {
    throw new DataError(file, `has ${ids.length} ids but ${path.basename(features.file)} has ${features.n} rows`);
  }
  checkUnique(file, ids, 'id');
  return ids;
}

function readNames(reader: SourceReader, file: string, labels: RawLabels): string[] {
  const names = readLines(reader, file);
  if (labels.kind === 'binary' && names.length !== labels.A) {
    throw new DataError(file, `has ${names.length} names but ${path.basename(labels.file)} has ${labels.A} attribute columns`);
  }
  // With class ids, attributes.txt may name classes that the training labels never use.
  if (labels.kind === 'classes' && names.length <= labels.maxId) {
    throw new DataError(
      file,
      `has ${names.length} names but ${path.basename(labels.file)} uses class id ${labels.maxId} (needs at least ${labels.maxId + 1})`,
    );
  }
  checkUnique(file, names, 'name');
  return names;
}

// ---------------------------------------------------------------------------------------------
// Checks and assembly

function checkRows(file: string, n: number, features: RawFeatures): void {
  if (n !== features.n) {
    throw new DataError(file, `has ${n} rows but ${path.basename(features.file)} has ${features.n}`);
  }
}

function checkNotEmpty(file: string, n: number, d: number): void {
  if (n === 0) throw new DataError(file, 'has no rows (n = 0)');
  if (d === 0) throw new DataError(file, 'has no feature columns (d = 0)');
}

function checkLimit(name: string, limit: number | undefined): void {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new SsseError('BAD_ARGUMENT', `loadDataset: ${name} must be a positive integer, got ${String(limit)}`);
  }
}

/** Rows kept: the limit, which may not exceed the rows available (clamping would hide a typo). */
function applyLimit(name: string, limit: number | undefined, split: RawSplit): number {
  const { n, file } = split.features;
  if (limit === undefined) return n;
  if (limit > n) {
    throw new SsseError('BAD_ARGUMENT', `${file}: ${name} = ${limit} but the file has only ${n} rows`);
  }
  return limit;
}

/**
 * The features in a SharedArrayBuffer (a copy unless they already are): worker threads (the
 * Fisher build's, fisherPool.ts) then read the same memory instead of each getting a copy of the
 * data. Nothing else changes: a Float32Array on shared memory behaves as any other. Features never
 * cross a process boundary (where shared memory cannot go); only results do.
 */
function shared(data: Float32Array): Float32Array {
  if (data.buffer instanceof SharedArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  const out = new Float32Array(new SharedArrayBuffer(data.byteLength));
  out.set(data);
  return out;
}

function makeSplit(raw: RawSplit, n: number, A: number): Split {
  const { d } = raw.features;
  // A copy when limited, so the unused rows can be garbage-collected; shared memory either way
  // (see `shared`).
  const features = shared(n === raw.features.n ? raw.features.data : raw.features.data.subarray(0, n * d));
  const labels = raw.labels;
  if (labels.kind === 'binary') {
    return { n, features, labels: n === labels.n ? labels.values : labels.values.slice(0, n * A), classIds: null };
  }
  const classIds = n === labels.n ? labels.ids : labels.ids.slice(0, n);
  const oneHot = new Uint8Array(n * A);
  for (let i = 0; i < n; i++) oneHot[i * A + (classIds[i] as number)] = 1;
  return { n, features, labels: oneHot, classIds };
}

function checkFolder(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new DataError(dir, 'folder not found');
  }
  if (!stat.isDirectory()) throw new DataError(dir, 'is not a folder; give the folder that holds the dataset files');
}

function exists(file: string): boolean {
  return fs.existsSync(file);
}

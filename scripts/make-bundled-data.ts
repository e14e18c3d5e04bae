/**
 * Builds data/fashion-mnist-3k: the FIRST 3,000 training and the FIRST 1,000 test images and labels
 * of Fashion-MNIST, as gzip IDX files with the standard names and headers that state the reduced
 * counts. Deterministic: same source files → byte-identical output (Node's gzip writes no
 * timestamp; level 9).
 *
 *   npx tsx scripts/make-bundled-data.ts [src] [dest]
 *
 * src defaults to /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist package),
 * dest to data/fashion-mnist-3k. LICENSE and README.md in dest are maintained by hand.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { encodeIdx, readIdx, type IdxArray } from '../main/engine/data/idx.js';

const TRAIN_ROWS = 3000;
const TEST_ROWS = 1000;

const FILES: ReadonlyArray<{ name: string; rows: number }> = [
  { name: 'train-images-idx3-ubyte', rows: TRAIN_ROWS },
  { name: 'train-labels-idx1-ubyte', rows: TRAIN_ROWS },
  { name: 't10k-images-idx3-ubyte', rows: TEST_ROWS },
  { name: 't10k-labels-idx1-ubyte', rows: TEST_ROWS },
];

/** The first `rows` records of an IDX array (records run along the first dimension). */
function firstRows(array: IdxArray, rows: number): IdxArray {
  const [total, ...rest] = array.shape;
  if (total === undefined || total < rows) {
    throw new Error(`need ${rows} records, the source has ${String(total)}`);
  }
  const perRow = rest.reduce((a, b) => a * b, 1);
  return { type: array.type, shape: [rows, ...rest], data: array.data.slice(0, rows * perRow) };
}

function main(): void {
  const src = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
  const dest = process.argv[3] ?? path.join('data', 'fashion-mnist-3k');
  fs.mkdirSync(dest, { recursive: true });
  let totalBytes = 0;
  for (const { name, rows } of FILES) {
    const source = [path.join(src, `${name}.gz`), path.join(src, name)].find((f) => fs.existsSync(f));
    if (source === undefined) throw new Error(`${path.join(src, name)}[.gz]: file not found`);
    const reduced = firstRows(readIdx(source), rows);
    const gz = zlib.gzipSync(encodeIdx(reduced), { level: 9 });
    const target = path.join(dest, `${name}.gz`);
    // Write beside, then rename, so an interrupted run never leaves a half-written file.
    fs.writeFileSync(`${target}.tmp`, gz);
    fs.renameSync(`${target}.tmp`, target);
    totalBytes += gz.length;
    console.log(`${target}: shape [${reduced.shape.join(',')}], ${gz.length} bytes`);
  }
  console.log(`total ${totalBytes} bytes`);
}

main();

/**
 * Small, fast fixtures for the audit store's tests: a synthetic npy dataset (features, class
 * labels from a random linear model, ids.txt, a test split) in a temporary folder, and a
 * command-line runner that captures what a command prints.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { encodeNpy } from '../../main/engine/data/npy.js';
import { main } from '../../main/cli/ssse.js';
import { randomFeatures, randomMatrix } from './reference.js';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ssse-${prefix}-`));
}

/**
 * Writes a dataset of n training and nTest test rows, d features, `classes` classes whose
 * labels are the argmax of a random linear score (so a linear model learns them well but not
 * perfectly, like real data). Ids are "s0000", "s0001", …
 */
export function writeDataset(dir: string, options: { n?: number; nTest?: number; d?: number; classes?: number; seed?: number } = {}): string {
  const { n = 120, nTest = 40, d = 10, classes = 3, seed = 1 } = options;
  fs.mkdirSync(dir, { recursive: true });
  const w = randomMatrix(d, classes, seed + 100);
  const split = (rows: number, s: number): { x: Float32Array; y: Int32Array } => {
    const x = randomFeatures(rows, d, s, 0.2);
    const noise = randomMatrix(rows, classes, s + 7);
    const y = new Int32Array(rows);
    for (let i = 0; i < rows; i++) {
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < classes; c++) {
        let score = 0.3 * (noise[i * classes + c] as number);
        for (let j = 0; j < d; j++) score += (x[i * d + j] as number) * (w[j * classes + c] as number);
        if (score > bestScore) {
          bestScore = score;
          best = c;
        }
      }
      y[i] = best;
    }
    return { x, y };
  };
  const train = split(n, seed);
  const test = split(nTest, seed + 50);
  fs.writeFileSync(path.join(dir, 'features.npy'), encodeNpy({ dtype: 'float32', shape: [n, d], data: train.x }));
  fs.writeFileSync(path.join(dir, 'labels.npy'), encodeNpy({ dtype: 'int32', shape: [n], data: train.y }));
  fs.writeFileSync(path.join(dir, 'test_features.npy'), encodeNpy({ dtype: 'float32', shape: [nTest, d], data: test.x }));
  fs.writeFileSync(path.join(dir, 'test_labels.npy'), encodeNpy({ dtype: 'int32', shape: [nTest], data: test.y }));
  fs.writeFileSync(path.join(dir, 'ids.txt'), `${Array.from({ length: n }, (_, i) => `s${String(i).padStart(4, '0')}`).join('\n')}\n`);
  return dir;
}

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `ssse ARGS…` in this process, capturing stdout and stderr. */
export async function ssse(...args: string[]): Promise<CliResult> {
  const out = new Capture();
  const err = new Capture();
  const code = await main(args, { out, err: err as unknown as NodeJS.WriteStream });
  return { code, out: out.text, err: err.text };
}

/** Writes a removal file (one id per line) and returns its path. */
export function removalFile(dir: string, name: string, ids: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, ids.length ? `${ids.join('\n')}\n` : '');
  return file;
}

export interface PopulatedStore {
  dir: string;
  data: string;
  db: string;
  /** Ids erased by request #1 (m@1 → m@2). */
  erased: string[];
}

/**
 * A store with one dataset, model m trained (m@1), certified and calibrated, and one verified
 * erasure of 12 samples (request #1, m@1 → m@2). About a second on the cpu backend.
 */
export async function populatedStore(prefix: string): Promise<PopulatedStore> {
  const dir = tempDir(prefix);
  const data = writeDataset(path.join(dir, 'data'));
  const db = path.join(dir, 'ssse.db');
  const erased = Array.from({ length: 12 }, (_, i) => `s${String(3 + 7 * i).padStart(4, '0')}`);
  const steps: string[][] = [
    ['model', 'train', '--dataset', data, '--name', 'm', '--backend', 'cpu'],
    ['certify', '--model', 'm', '--calibrate', '--calibrate-fraction', '0.1', '--epsilon-sweep', '0.5,1,2'],
    ['erase', '--model', 'm@1', '--remove', removalFile(dir, 'first.txt', erased), '--subject', 'alice@example.com', '--ground', 'GDPR Art. 17(1)(a)', '--epsilon-sweep', '0.5,1,2'],
  ];
  for (const step of steps) {
    const r = await ssse(...step, '--db', db, '--actor', 'dpo');
    if (r.code !== 0) throw new Error(`populatedStore: ssse ${step.join(' ')} failed (${r.code}): ${r.out}${r.err}`);
  }
  return { dir, data, db, erased };
}

/** A copy of a store (database and artefact folder) in a new folder, for tampering with. */
export function copyStore(store: PopulatedStore, prefix: string): PopulatedStore {
  const dir = tempDir(prefix);
  const db = path.join(dir, 'ssse.db');
  fs.copyFileSync(store.db, db);
  fs.cpSync(`${store.db}.artefacts`, `${db}.artefacts`, { recursive: true });
  return { ...store, dir, db };
}

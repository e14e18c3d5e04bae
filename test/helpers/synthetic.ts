/**
 * Small learnable datasets for pipeline tests: features in [0, 1) with some exact zeros (like
 * pixels), class labels from a random linear teacher plus noise (so one-vs-rest attributes are
 * learnable but not separable), one-hot attributes. Built in memory as a Dataset, or written as
 * an npy-layout folder for the command line. Uses only test/helpers/reference.ts's generators.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeNpy } from '../../main/engine/data/npy.js';
import type { Dataset, Split } from '../../main/engine/data/types.js';
import { gaussian, randomFeatures } from './reference.js';

export interface SyntheticOptions {
  n: number;
  nTest: number;
  d: number;
  classes: number;
  seed: number;
  /** Logit noise: larger makes the classes overlap more. */
  noise?: number;
}

function split(features: Float32Array, classIds: Int32Array, n: number, classes: number): Split {
  const labels = new Uint8Array(n * classes);
  for (let i = 0; i < n; i++) labels[i * classes + (classIds[i] as number)] = 1;
  return { n, features, labels, classIds };
}

function classesOf(features: Float32Array, n: number, d: number, teacher: Float64Array, classes: number, noise: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = noise();
      for (let j = 0; j < d; j++) s += (features[i * d + j] as number) * (teacher[c * d + j] as number);
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

export function syntheticDataset(o: SyntheticOptions): Dataset {
  const g = gaussian(o.seed);
  const teacher = Float64Array.from({ length: o.classes * o.d }, () => 3 * g());
  const noiseScale = o.noise ?? 1.5;
  const noise = () => noiseScale * g();
  const train = randomFeatures(o.n, o.d, o.seed + 1);
  const test = randomFeatures(o.nTest, o.d, o.seed + 2);
  return {
    dir: `synthetic-${o.seed}`,
    format: 'npy',
    d: o.d,
    A: o.classes,
    attributeNames: Array.from({ length: o.classes }, (_, c) => `class ${c}`),
    numClasses: o.classes,
    train: split(train, classesOf(train, o.n, o.d, teacher, o.classes, noise), o.n, o.classes),
    ids: Array.from({ length: o.n }, (_, i) => String(i)),
    test: o.nTest > 0 ? split(test, classesOf(test, o.nTest, o.d, teacher, o.classes, noise), o.nTest, o.classes) : null,
    files: [],
  };
}

/** Writes `ds` as an npy-layout dataset folder (features.npy, labels.npy as class ids, test_*). */
export function writeNpyDataset(dir: string, ds: Dataset): void {
  fs.mkdirSync(dir, { recursive: true });
  const write = (name: string, s: Split) => {
    fs.writeFileSync(path.join(dir, `${name}features.npy`), encodeNpy({ dtype: 'float32', shape: [s.n, ds.d], data: s.features }));
    fs.writeFileSync(path.join(dir, `${name}labels.npy`), encodeNpy({ dtype: 'int32', shape: [s.n], data: s.classIds as Int32Array }));
  };
  write('', ds.train);
  if (ds.test) write('test_', ds.test);
}

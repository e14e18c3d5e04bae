import type { Dataset, Split } from '../../main/engine/data/types.js';
import type { NetworkEraseConfig } from '../../main/engine/nn/erase.js';
import { randomFeatures, xorshift32 } from './reference.js';

/**
 * A tiny classification problem for end-to-end network tests: three classes, each a noisy blob
 * around its own mean over 12 features, so that a small MLP learns them in a few epochs.
 */
export const TINY_CLASSES = 3;
export const TINY_FEATURES = 12;

export function tinySplit(n: number, seed: number): Split {
  const C = TINY_CLASSES;
  const D = TINY_FEATURES;
  const u = xorshift32(seed);
  const noise = randomFeatures(n, D, seed + 1, 0);
  const classIds = Int32Array.from({ length: n }, () => Math.floor(u() * C));
  const features = new Float32Array(n * D);
  const labels = new Uint8Array(n * C);
  for (let i = 0; i < n; i++) {
    const c = classIds[i] as number;
    labels[i * C + c] = 1;
    for (let j = 0; j < D; j++) features[i * D + j] = (j % C === c ? 1 : 0) + 0.8 * (noise[i * D + j] as number);
  }
  return { n, features, labels, classIds };
}

/** 90 training and 30 test samples of the tiny problem, as the loader would give them. */
export function tinyDataset(): Dataset {
  const train = tinySplit(90, 5);
  return {
    dir: 'synthetic',
    format: 'npy',
    d: TINY_FEATURES,
    A: TINY_CLASSES,
    attributeNames: ['class 0', 'class 1', 'class 2'],
    numClasses: TINY_CLASSES,
    train,
    ids: Array.from({ length: train.n }, (_, i) => `s${i}`),
    test: tinySplit(30, 7),
    files: [],
  };
}

/** An erasure configuration for the tiny problem: mlp:6, 4 epochs, blocks of 40. */
export function tinyNetworkConfig(epsilonGrid: number[], overrides: Partial<NetworkEraseConfig> = {}): NetworkEraseConfig {
  return {
    source: { kind: 'spec', spec: { kind: 'mlp', hidden: [6] }, imageShape: null },
    sgd: { epochs: 4, batchSize: 10, lr: 0.1, momentum: 0.9, lrSchedule: 'cosine', l2: 1e-4, seed: 0 },
    fisherBatch: 3,
    blockSize: 40,
    damping: 1e-3,
    fisherMethod: 'auto',
    memoryBudget: 2 ** 30,
    epsilon: null,
    epsilonGrid,
    verify: 'retrain',
    retrainSeeds: 0,
    cacheDir: null,
    ...overrides,
  };
}

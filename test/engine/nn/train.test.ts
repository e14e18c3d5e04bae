import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { disposeNetwork } from '../../../main/engine/nn/network.js';
import { buildNetwork } from '../../../main/engine/nn/spec.js';
import { epochBatches, epochLearningRate, epochOrder, trainNetwork, type ClassData, type SgdConfig } from '../../../main/engine/nn/train.js';
import type { ProgressEvent } from '../../../main/engine/progress.js';
import { randomFeatures, xorshift32 } from '../../helpers/reference.js';

before(async () => {
  await initBackend('wasm');
});

const SGD: SgdConfig = { epochs: 3, batchSize: 8, lr: 0.1, momentum: 0.9, lrSchedule: 'cosine', l2: 1e-4, seed: 4 };

function data(n: number, d: number, C: number, seed: number): ClassData {
  const u = xorshift32(seed);
  return { features: randomFeatures(n, d, seed), classIds: Int32Array.from({ length: n }, () => Math.floor(u() * C)), n };
}

test('the same seed and data reproduce θ* bit for bit; another seed does not', async () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [9] }, [7], 3);
  try {
    const train = data(50, 7, 3, 1);
    const before = tf.memory().numTensors;
    const a = await trainNetwork(net, train, SGD);
    const b = await trainNetwork(net, train, SGD);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks (the optimizer’s state included)');
    assert.deepEqual(Buffer.from(a.theta.buffer), Buffer.from(b.theta.buffer));
    assert.deepEqual(a.epochLoss, b.epochLoss);
    assert.equal(a.steps, 3 * Math.ceil(50 / 8));
    const c = await trainNetwork(net, train, { ...SGD, seed: 5 });
    assert.notDeepEqual(Buffer.from(a.theta.buffer), Buffer.from(c.theta.buffer));
    // Training learns: the last epoch's loss is below the first's.
    assert.ok((a.epochLoss.at(-1) as number) < (a.epochLoss[0] as number));
  } finally {
    disposeNetwork(net);
  }
});

test('retraining sees θ*’s order of samples with S struck out, in batches of the same size', () => {
  const n = 30;
  const excluded = new Uint8Array(n);
  for (const i of [3, 7, 8, 21]) excluded[i] = 1;
  for (let epoch = 0; epoch < 2; epoch++) {
    const full = epochOrder(n, 4, epoch);
    assert.deepEqual([...full].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    const batches = epochBatches(n, 4, epoch, 8, excluded);
    assert.deepEqual(batches.map((b) => b.length), [8, 8, 8, 2]);
    assert.deepEqual(batches.flatMap((b) => [...b]), full.filter((i) => excluded[i] === 0));
  }
  assert.notDeepEqual(epochOrder(n, 4, 0), epochOrder(n, 4, 1), 'each epoch has its own order');
});

test('retraining without S is reproducible and differs from θ*', async () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [5] }, [6], 3);
  try {
    const train = data(40, 6, 3, 2);
    const star = await trainNetwork(net, train, SGD);
    const r1 = await trainNetwork(net, train, SGD, { exclude: [0, 5, 9] });
    const r2 = await trainNetwork(net, train, SGD, { exclude: [9, 0, 5] });
    assert.deepEqual(r1.theta, r2.theta);
    assert.notDeepEqual(r1.theta, star.theta);
    assert.equal(r1.steps, 3 * Math.ceil(37 / 8));
  } finally {
    disposeNetwork(net);
  }
});

test('training reports progress per step and stops when cancelled', async () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [4] }, [5], 2);
  try {
    const train = data(64, 5, 2, 3);
    const events: ProgressEvent[] = [];
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    await assert.rejects(
      trainNetwork(net, train, SGD, {
        phase: 'retrain',
        onProgress: (e) => {
          events.push(e);
          if (e.done === 5) controller.abort();
        },
        signal: controller.signal,
      }),
      { code: 'CANCELLED', message: /retrain was cancelled/ },
    );
    assert.equal(tf.memory().numTensors, before, 'a cancelled training leaks nothing');
    assert.deepEqual(events.map((e) => e.done), [0, 1, 2, 3, 4, 5]);
    assert.ok(events.every((e) => e.phase === 'retrain' && e.total === 3 * 8));
  } finally {
    disposeNetwork(net);
  }
});

test('bad settings are refused naming the flag; a diverging run names the step', async () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [4] }, [5], 2);
  try {
    const train = data(16, 5, 2, 3);
    await assert.rejects(trainNetwork(net, train, { ...SGD, epochs: 0 }), /--epochs: expected a whole number ≥ 1, got 0/);
    await assert.rejects(trainNetwork(net, train, { ...SGD, momentum: 1 }), /--momentum/);
    await assert.rejects(trainNetwork(net, train, { ...SGD, lr: -1 }), /--lr/);
    await assert.rejects(trainNetwork(net, train, SGD, { exclude: [16] }), /excluded row 16/);
    await assert.rejects(trainNetwork(net, train, { ...SGD, lr: 1e30, lrSchedule: 'constant' }), { code: 'NUMERIC', message: /loss became .* at epoch 1, step \d+; lower --lr/ });
  } finally {
    disposeNetwork(net);
  }
});

test('the cosine schedule starts at η and decays towards 0; constant stays', () => {
  const cfg = { lr: 0.2, epochs: 4, lrSchedule: 'cosine' as const };
  assert.equal(epochLearningRate(cfg, 0), 0.2);
  assert.ok(Math.abs(epochLearningRate(cfg, 2) - 0.1) < 1e-15);
  assert.ok(epochLearningRate(cfg, 3) < 0.03);
  assert.equal(epochLearningRate({ ...cfg, lrSchedule: 'constant' }, 3), 0.2);
});

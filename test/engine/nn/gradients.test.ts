import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { fisherGroups, fisherRows, meanNllGradient, removalGradient } from '../../../main/engine/nn/gradients.js';
import { disposeNetwork, getParams, initialParams, setParams } from '../../../main/engine/nn/network.js';
import { buildNetwork } from '../../../main/engine/nn/spec.js';
import type { ClassData } from '../../../main/engine/nn/train.js';
import { gaussian, randomFeatures, xorshift32 } from '../../helpers/reference.js';
import { cnnSmallLogitsRef, finiteDifferenceGradient, meanNllRef, mlpLogitsRef, mlpParamCount } from '../../helpers/networkReference.js';

before(async () => {
  await initBackend('wasm');
});

function classData(n: number, d: number, C: number, seed: number): ClassData {
  const u = xorshift32(seed);
  return { features: randomFeatures(n, d, seed), classIds: Int32Array.from({ length: n }, () => Math.floor(u() * C)), n };
}

/** Random parameters large enough that the network is far from its symmetric start. */
function randomTheta(p: number, seed: number, scale: number): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: p }, () => scale * g());
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

test('per-sample MLP gradients match float64 finite differences of an independent forward pass', () => {
  const d = 6;
  const hidden = [5, 4];
  const C = 3;
  const net = buildNetwork({ kind: 'mlp', hidden }, [d], C);
  try {
    assert.equal(net.p, mlpParamCount(d, hidden, C));
    const theta = randomTheta(net.p, 11, 0.7);
    setParams(net, theta);
    const data = classData(4, d, C, 5);
    for (const row of [0, 1, 2, 3]) {
      const engine = meanNllGradient(net, data, [row]);
      const x = Array.from(data.features.subarray(row * d, (row + 1) * d));
      const y = data.classIds[row] as number;
      const fd = finiteDifferenceGradient((t) => meanNllRef([mlpLogitsRef(t, x, hidden, C)], [y]), Float64Array.from(theta), 1e-6);
      // Central differences in float64 with h = 1e-6 are accurate to ~1e-9 here; the engine works
      // in float32 (u = 6e-8) through two layers of ≤ 6-term sums, so 1e-5 of the largest entry
      // allows for float32 rounding while a wrong term or sign (an O(1) error) fails.
      assert.ok(maxAbs(fd) > 1e-2, 'the gradient is not trivially zero');
      assert.ok(maxAbsDiff(engine, fd) <= 1e-5 * Math.max(1, maxAbs(fd)), `row ${row}: max |Δ| ${maxAbsDiff(engine, fd)}`);
    }
  } finally {
    disposeNetwork(net);
  }
});

test('per-sample cnn:small gradients on wasm (with the engine’s Conv2DBackpropFilter) match finite differences', () => {
  const [h, w, c, C] = [10, 11, 2, 3];
  const net = buildNetwork({ kind: 'cnn', preset: 'small' }, [h, w, c], C);
  try {
    const theta = randomTheta(net.p, 3, 0.5);
    setParams(net, theta);
    const data = classData(2, h * w * c, C, 9);
    for (const row of [0, 1]) {
      const engine = meanNllGradient(net, data, [row]);
      const x = Array.from(data.features.subarray(row * h * w * c, (row + 1) * h * w * c));
      const fd = finiteDifferenceGradient(
        (t) => meanNllRef([cnnSmallLogitsRef(t, x, h, w, c, C)], [data.classIds[row] as number]),
        Float64Array.from(theta),
        1e-6,
      );
      // Sums here run over up to 72 terms (3·3·8) in float32: 1e-4 of the largest entry is still
      // three orders below an error in the kernel (a wrong patch or offset changes entries by O(1)).
      assert.ok(maxAbs(fd) > 1e-2);
      assert.ok(maxAbsDiff(engine, fd) <= 1e-4 * Math.max(1, maxAbs(fd)), `row ${row}: max |Δ| ${maxAbsDiff(engine, fd)}`);
    }
  } finally {
    disposeNetwork(net);
  }
});

test('fisherGroups covers every row once, in batches of m (the last smaller); m = 1 keeps D’s order', () => {
  const groups = fisherGroups(23, 5, 7);
  assert.deepEqual(groups.map((g) => g.length), [5, 5, 5, 5, 3]);
  assert.deepEqual([...groups.flatMap((g) => [...g])].sort((a, b) => a - b), Array.from({ length: 23 }, (_, i) => i));
  assert.deepEqual(fisherGroups(4, 1, 7).map((g) => [...g]), [[0], [1], [2], [3]]);
  assert.deepEqual(fisherGroups(23, 5, 7), groups, 'the grouping is a function of the seed');
  assert.throws(() => fisherGroups(10, 0, 0), /--fisher-batch/);
});

test('mini-batch Fisher rows equal the mean of their samples’ per-sample rows', async () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [7] }, [5], 4);
  try {
    setParams(net, randomTheta(net.p, 2, 0.6));
    const data = classData(13, 5, 4, 3);
    const before = tf.memory().numTensors;
    const perSample = await fisherRows(net, data, fisherGroups(13, 1, 0), 1);
    const groups = fisherGroups(13, 4, 1);
    const batched = await fisherRows(net, data, groups, 4);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
    assert.equal(batched.N, 4);
    groups.forEach((group, j) => {
      const mean = new Float64Array(net.p);
      for (const i of group) for (let t = 0; t < net.p; t++) mean[t] = (mean[t] as number) + (perSample.rows[i * net.p + t] as number) / group.length;
      const row = batched.rows.subarray(j * net.p, (j + 1) * net.p);
      // Both are float32 backpropagations of the same sums in a different grouping: they differ
      // by rounding only (a few ulps of entries of size ≤ 1).
      assert.ok(maxAbsDiff(row, mean) <= 1e-6 * Math.max(1, maxAbs(mean)), `group ${j}: ${maxAbsDiff(row, mean)}`);
    });
  } finally {
    disposeNetwork(net);
  }
});

test('the removal gradient is the sum of per-sample gradients plus k·λ·θ, in chunks', async () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [3] }, [4], 3);
  try {
    const theta = randomTheta(net.p, 8, 0.5);
    setParams(net, theta);
    const data = classData(9, 4, 3, 4);
    const rows = [1, 4, 5, 8, 2];
    const l2 = 0.01;
    const got = await removalGradient(net, data, rows, l2, getParams(net), undefined, 2);
    const want = new Float64Array(net.p);
    for (const i of rows) {
      const g = meanNllGradient(net, data, [i]);
      for (let t = 0; t < net.p; t++) want[t] = (want[t] as number) + (g[t] as number);
    }
    for (let t = 0; t < net.p; t++) want[t] = (want[t] as number) + rows.length * l2 * (theta[t] as number);
    assert.ok(maxAbsDiff(got, want) <= 1e-6 * Math.max(1, maxAbs(want)));
    await assert.rejects(removalGradient(net, data, [], l2, theta), /empty/);
  } finally {
    disposeNetwork(net);
  }
});

test('initialParams is seeded Glorot-uniform for kernels and zero for biases', () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [20] }, [30], 5);
  try {
    const a = initialParams(net, 1);
    assert.deepEqual(a, initialParams(net, 1));
    assert.notDeepEqual(a, initialParams(net, 2));
    const [k1, b1] = net.params;
    const limit = Math.sqrt(6 / (30 + 20));
    const kernel = a.subarray(k1!.offset, k1!.offset + k1!.size);
    assert.ok(maxAbs(kernel) <= limit && maxAbs(kernel) > 0.9 * limit);
    assert.equal(maxAbs(a.subarray(b1!.offset, b1!.offset + b1!.size)), 0);
  } finally {
    disposeNetwork(net);
  }
});

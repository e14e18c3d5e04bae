import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { solveBlockFisher } from '../../../main/engine/nn/blockFisher.js';
import { blockPermutation } from '../../../main/engine/nn/blockOrder.js';
import type { FisherRows } from '../../../main/engine/nn/gradients.js';
import { disposeNetwork, type ParamTensor } from '../../../main/engine/nn/network.js';
import { buildNetwork } from '../../../main/engine/nn/spec.js';
import { denseWeightedGram, gaussJordanInverse, gaussian, matVecRef, relFrob } from '../../helpers/reference.js';

before(async () => {
  await initBackend('wasm');
});

function tensors(...specs: [string, number[]][]): ParamTensor[] {
  let offset = 0;
  return specs.map(([name, shape]) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const t = { name, shape, size, offset };
    offset += size;
    return t;
  });
}

test('unit-major order, worked by hand: Dense [2, 3] then its bias', () => {
  // θ = k00 k01 k02 k10 k11 k12 b0 b1 b2 (kernel [inputs = 2, units = 3] row-major, then bias).
  // Unit-major: unit 0's weights (k00, k10), unit 1's (k01, k11), unit 2's (k02, k12), then the bias.
  const pi = blockPermutation(tensors(['k', [2, 3]], ['b', [3]]), 'unit-major');
  assert.deepEqual(Array.from(pi ?? []), [0, 3, 1, 4, 2, 5, 6, 7, 8]);
});

test('unit-major order, worked by hand: Conv2D [2, 1, 2, 2] (height, width, in, filters)', () => {
  // Entry (h, w, c, f) is at ((h·1 + w)·2 + c)·2 + f. Filter 0: (0,0,0) 0, (0,0,1) 2, (1,0,0) 4, (1,0,1) 6;
  // filter 1: the same + 1.
  const pi = blockPermutation(tensors(['conv', [2, 1, 2, 2]], ['bias', [2]]), 'unit-major');
  assert.deepEqual(Array.from(pi ?? []), [0, 2, 4, 6, 1, 3, 5, 7, 8, 9]);
});

test('input-major is the identity (no permutation), and a network’s unit-major order is a permutation', () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [5] }, [7], 3);
  try {
    assert.equal(blockPermutation(net.params, 'input-major'), null);
    const pi = blockPermutation(net.params, 'unit-major') as Int32Array;
    assert.equal(pi.length, net.p);
    assert.deepEqual(
      Array.from(pi).sort((a, b) => a - b),
      Array.from({ length: net.p }, (_, i) => i),
    );
    // The first block position holds unit 0's weight from input 0, the second unit 0's from input 1.
    assert.equal(pi[0], 0);
    assert.equal(pi[1], 5);
  } finally {
    disposeNetwork(net);
  }
});

test('inconsistent tensor lists are refused with the tensor named', () => {
  assert.throws(() => blockPermutation([{ name: 'dense/kernel', shape: [2, 3], size: 6, offset: 1 }], 'unit-major'), /dense\/kernel starts at 1, expected 0/);
  assert.throws(() => blockPermutation([{ name: 'dense/kernel', shape: [2, 3], size: 7, offset: 0 }], 'unit-major'), /dense\/kernel has shape \[2, 3\] but size 7/);
});

test('solving with a block order equals solving the explicitly permuted problem, and each block against a float64 direct inverse', async () => {
  const [N, p, B, damping] = [9, 38, 8, 1e-3];
  const g = gaussian(21);
  const G: FisherRows = { N, p, m: 1, rows: Float32Array.from({ length: N * p }, () => 0.3 * g()) };
  const vectors = [0, 1].map(() => Float64Array.from({ length: p }, () => g()));
  // A fixed permutation of 0…37 (a stride walk: 11 is coprime to 38).
  const pi = Int32Array.from({ length: p }, (_, q) => (q * 11 + 5) % p);
  const before = tf.memory().numTensors;
  const [got] = (await solveBlockFisher(G, vectors, { blockSize: B, dampings: [damping], method: 'auto', order: pi })) as [Float64Array[]];
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');

  // The explicit route: permute G's columns and the vectors, solve in identity order, un-permute.
  const rowsP = new Float32Array(N * p);
  for (let j = 0; j < N; j++) for (let q = 0; q < p; q++) rowsP[j * p + q] = G.rows[j * p + (pi[q] as number)] as number;
  const vP = vectors.map((v) => Float64Array.from({ length: p }, (_, q) => v[pi[q] as number] as number));
  const [solvedP] = (await solveBlockFisher({ ...G, rows: rowsP }, vP, { blockSize: B, dampings: [damping], method: 'auto' })) as [Float64Array[]];
  for (const [vi, x] of solvedP.entries()) {
    const back = new Float64Array(p);
    for (let q = 0; q < p; q++) back[pi[q] as number] = x[q] as number;
    // The same arithmetic on the same numbers in the same order: bit-identical.
    assert.deepEqual(got[vi], back, `vector ${vi}`);
  }

  // Independently: block b of the permuted problem against a float64 Gauss–Jordan inverse of its
  // (λI + G_bᵀG_b/N), tolerance as in blockFisher.test.ts (one float32 Gram, measured ≤ 4e-7).
  for (let c0 = 0; c0 < p; c0 += B) {
    const c1 = Math.min(p, c0 + B);
    const b = c1 - c0;
    const gb = new Float32Array(N * b);
    for (let j = 0; j < N; j++) for (let t = 0; t < b; t++) gb[j * b + t] = rowsP[j * p + c0 + t] as number;
    const f = denseWeightedGram(gb, N, b, new Float64Array(N).fill(1 / N));
    for (let i = 0; i < b; i++) f[i * b + i] = (f[i * b + i] as number) + damping;
    for (const [vi, v] of vP.entries()) {
      const want = matVecRef(gaussJordanInverse(f, b), b, b, v.subarray(c0, c1));
      const have = Float64Array.from({ length: b }, (_, t) => (got[vi] as Float64Array)[pi[c0 + t] as number] as number);
      const err = relFrob(have, want);
      assert.ok(err <= 1e-5, `block at ${c0}, vector ${vi}: ${err}`);
    }
  }

  // The identity permutation gives the unordered result exactly.
  const identity = Int32Array.from({ length: p }, (_, i) => i);
  const [withIdentity] = (await solveBlockFisher(G, vectors, { blockSize: B, dampings: [damping], method: 'auto', order: identity })) as [Float64Array[]];
  const [without] = (await solveBlockFisher(G, vectors, { blockSize: B, dampings: [damping], method: 'auto' })) as [Float64Array[]];
  assert.deepEqual(withIdentity, without);
});

test('a block order that is not a permutation of θ is refused before any work', async () => {
  const G: FisherRows = { N: 2, p: 4, m: 1, rows: new Float32Array(8) };
  const v = [new Float64Array(4)];
  const opts = { blockSize: 2, dampings: [1e-3], method: 'auto' as const };
  await assert.rejects(solveBlockFisher(G, v, { ...opts, order: Int32Array.from([0, 1, 2]) }), /block order has 3 entries, expected p = 4/);
  await assert.rejects(solveBlockFisher(G, v, { ...opts, order: Int32Array.from([0, 1, 1, 3]) }), /not a permutation of 0…3 \(entry 2 is 1\)/);
  await assert.rejects(solveBlockFisher(G, v, { ...opts, order: Int32Array.from([0, 1, 2, 4]) }), /entry 3 is 4/);
});

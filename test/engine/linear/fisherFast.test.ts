import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { loadDataset } from '../../../main/engine/data/dataset.js';
import { SsseError } from '../../../main/engine/errors.js';
import type { MatMulShape } from '../../../main/engine/linalg/gram.js';
import { fisherInverse, fisherWeights, shermanMorrisonBlock } from '../../../main/engine/linear/fisher.js';
import { fastFisherBlock, NEGLIGIBLE, squaredRowNorms, withoutNegligibleRows } from '../../../main/engine/linear/fisherFast.js';
import type { LinearModel } from '../../../main/engine/linear/model.js';
import { removalGradient } from '../../../main/engine/linear/ssseStep.js';
import { trainLinear } from '../../../main/engine/linear/train.js';
import type { ProgressEvent } from '../../../main/engine/progress.js';
import {
  denseWeightedGram,
  gaussJordanInverse,
  gaussian,
  labelColumn,
  logistic,
  matVecRef,
  randomFeatures,
  randomLabels,
  relFrob,
} from '../../helpers/reference.js';

const REPO = path.resolve(__dirname, '../../..');
const BUNDLED = path.join(REPO, 'data', 'fashion-mnist-3k');
const DAMPING = 1e-4;

before(async () => {
  await initBackend('auto');
});

/** Independent empirical-Fisher weights (p − y)² of attribute a, from the reference logistic. */
function referenceWeights(w: Float64Array, x: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number, A: number, a: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let j = 0; j < d; j++) z += (x[i * d + j] as number) * (w[a * d + j] as number);
    out[i] = (logistic(z) - (y[i * A + a] as number)) ** 2;
  }
  return out;
}

/** F̂⁻¹ = (λ_F·I + (1/N)·Σ w_j x_j x_jᵀ)⁻¹ by Gauss–Jordan, all float64: the direct reference. */
function directInverse(x: ArrayLike<number>, n: number, d: number, w: ArrayLike<number>, N: number): Float64Array {
  const f = denseWeightedGram(x, n, d, w);
  for (let i = 0; i < d * d; i++) f[i] = (f[i] as number) / N;
  for (let j = 0; j < d; j++) f[j * d + j] = (f[j * d + j] as number) + DAMPING;
  return gaussJordanInverse(f, d);
}

describe('fastFisherBlock (blocked route) on a small random problem, held to the literal loop and a direct inverse', () => {
  const n = 400;
  const d = 30;
  const A = 3;
  const features = randomFeatures(n, d, 201);
  const labels = randomLabels(n, A, 202);
  const g = gaussian(203);
  const model: LinearModel = { d, A, weights: Float64Array.from({ length: d * A }, () => (3 * g()) / Math.sqrt(d)) };
  // Small blocks and chunks so that every part of the route runs: 4 diagonal blocks (the last
  // short), 7 row chunks, 3 column panels.
  const tuning = { block: 8, gramPlan: { chunkRows: 64, panels: 3 } };

  test('agrees with equation (3) looped row by row (float64) and with Gauss–Jordan, at float32 product accuracy', (t) => {
    for (let a = 0; a < A; a++) {
      const w = referenceWeights(model.weights, features, labels, n, d, A, a);
      const shapes: MatMulShape[] = [];
      const before = tf.memory().numTensors;
      const fast = fastFisherBlock(features, n, d, w, n, DAMPING, { ...tuning, onMatMul: (s) => shapes.push(s) });
      assert.equal(tf.memory().numTensors, before, 'tensor leak');
      assert.ok(fast instanceof Float32Array && fast.length === d * d);
      const literal = shermanMorrisonBlock(features, n, d, w, n, DAMPING);
      const direct = directInverse(features, n, d, w, n);
      // Here κ(F̂) ≲ 1e4 (see fisher.test.ts). The float32 Gram (≲ 4·(√64 + √7)·u₃₂ ≈ 2.5e-6 relative,
      // gram.test.ts) and factor (≈ u₃₂/3, blockedCholesky.test.ts) move the inverse by at most
      // κ times that in the worst direction; with random data the errors do not line up with the
      // smallest eigenvectors: measured 5.5e-7…7e-7 (wasm). 2e-5 leaves a margin of 30 over the
      // measurement and still flags a float32-only factorisation (≳ 1e-3 on real data) or a lost term.
      const errLiteral = relFrob(fast, literal);
      const errDirect = relFrob(fast, direct);
      t.diagnostic(`attribute ${a}: vs literal loop ${errLiteral.toExponential(2)}, vs Gauss–Jordan ${errDirect.toExponential(2)}; ${shapes.length} products`);
      assert.ok(errLiteral < 2e-5, `${errLiteral}`);
      assert.ok(errDirect < 2e-5, `${errDirect}`);
      assert.ok(shapes.length > 0, 'the blocked route must use backend products');
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) assert.equal(fast[i * d + j], fast[j * d + i]);
    }
  });

  test('N is the divisor; all-zero weights give exactly I/λ_F', () => {
    const w = referenceWeights(model.weights, features, labels, n, d, A, 0);
    const fast = fastFisherBlock(features, n, d, w, 10, DAMPING, tuning);
    assert.ok(relFrob(fast, directInverse(features, n, d, w, 10)) < 2e-5);
    const none = fastFisherBlock(features, n, d, new Float64Array(n), n, DAMPING, tuning);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) assert.equal(none[i * d + j], i === j ? Math.fround(1 / DAMPING) : 0);
  });

  test("fisherInverse({ method: 'blocked' }) stores exactly fastFisherBlock's blocks, reports progress, leaks nothing", async () => {
    const events: ProgressEvent[] = [];
    const before = tf.memory().numTensors;
    const fi = await fisherInverse(model, features, labels, n, { damping: DAMPING, method: 'blocked', onProgress: (e) => events.push(e) });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(fi.method, 'blocked');
    const all = fisherWeights(model, features, labels, 'empirical');
    for (let a = 0; a < A; a++) {
      const w = Float64Array.from({ length: n }, (_, i) => all[i * A + a] as number);
      assert.deepEqual(fi.blocks[a], fastFisherBlock(features, n, d, w, n, DAMPING));
    }
    assert.deepEqual(events[events.length - 1], { phase: 'fisher', done: A, total: A });
  });

  test('damping ≤ 0, NaN or ∞ throws BAD_ARGUMENT naming --damping; N ≤ 0 is refused', () => {
    const w = new Float64Array(n).fill(0.1);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => fastFisherBlock(features, n, d, w, n, bad), (e: unknown) => e instanceof SsseError && /--damping/.test(e.message));
    }
    assert.throws(() => fastFisherBlock(features, n, d, w, 0, DAMPING), (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT');
  });
});

describe('negligible rows (withoutNegligibleRows): left out of the Gram, F̂⁻¹ unchanged', () => {
  test('worked by hand: (w_j/N)·‖x_j‖² ≤ 2⁻⁶⁰·λ_F/n is zeroed, inclusive; larger, zero, NaN and negative weights are kept', () => {
    // 6 rows × 2 features, ‖x_j‖² = 25, 1, 0, 4, 1, 1; N = 3, λ_F = 1e-4, n = 6:
    // a row goes when w_j·‖x_j‖² ≤ 2⁻⁶⁰·1e-4·3/6 = 2⁻⁶¹·1e-4.
    const x = Float32Array.from([3, 4, 1, 0, 0, 0, 0, 2, 0, 1, 1, 0]);
    const limit = 2 ** -61 * 1e-4;
    assert.deepEqual(Array.from(squaredRowNorms(x, 6, 2)), [25, 1, 0, 4, 1, 1]);
    const w = [limit / 25, limit * 1.01, 5, 0, Number.NaN, -1];
    const out = withoutNegligibleRows(x, 6, 2, w, 3, 1e-4);
    // Row 0 exactly at the limit goes; row 1 just above stays; row 2 has no features, so any
    // weight contributes nothing and goes; 0 stays 0; NaN and −1 stay for the Gram to refuse.
    assert.equal(out[0], 0);
    assert.equal(out[1], limit * 1.01);
    assert.equal(out[2], 0);
    assert.equal(out[3], 0);
    assert.ok(Number.isNaN(out[4]));
    assert.equal(out[5], -1);
    assert.equal(NEGLIGIBLE, 2 ** -60);
  });

  test("rows of tiny weight (1e-30 … 1e-300, float32 subnormals once scaled) give exactly the block without them, and the direct inverse with them", () => {
    const n = 300;
    const d = 24;
    const features = randomFeatures(n, d, 211);
    const g = gaussian(212);
    const w = Float64Array.from({ length: n }, () => Math.abs(g()) * 0.2);
    const tiny = Float64Array.from(w);
    const zeroed = Float64Array.from(w);
    for (let j = 0; j < n; j += 3) {
      tiny[j] = 10 ** -(30 + ((j * 7) % 270));
      zeroed[j] = 0;
    }
    const tuning = { block: 8, gramPlan: { chunkRows: 64, panels: 3 } };
    const withTiny = fastFisherBlock(features, n, d, tiny, n, DAMPING, tuning);
    assert.deepEqual(withTiny, fastFisherBlock(features, n, d, zeroed, n, DAMPING, tuning));
    // The float64 reference keeps every tiny row: the result is still the same matrix.
    const err = relFrob(withTiny, directInverse(features, n, d, tiny, n));
    assert.ok(err < 2e-5, `${err}`);
  });

  test('a row above the limit still counts: one weight of 1e-3 changes the block', () => {
    const n = 50;
    const d = 6;
    const features = randomFeatures(n, d, 221, 0);
    const base = new Float64Array(n).fill(0.5);
    const more = Float64Array.from(base);
    more[0] = 0;
    const a = fastFisherBlock(features, n, d, base, n, DAMPING);
    const b = fastFisherBlock(features, n, d, more, n, DAMPING);
    assert.ok(relFrob(a, b) > 1e-4, 'dropping a real row must change F̂⁻¹');
    const kept = withoutNegligibleRows(features, n, d, Float64Array.from(base, (v, j) => (j === 0 ? 1e-3 : v)), n, DAMPING);
    assert.equal(kept[0], 1e-3);
  });
});

describe('fastFisherBlock on a real block: first 600 Fashion-MNIST rows, 784 features, attribute 6', () => {
  const rows = 600;
  const l2 = 1e-4;
  let features: Float32Array;
  let labels: Uint8Array;
  let d: number;
  let model: LinearModel;
  let w: Float64Array;
  let direct: Float64Array;

  before(async () => {
    const ds = loadDataset(BUNDLED, { limitTrain: rows });
    d = ds.d;
    features = ds.train.features;
    labels = labelColumn(ds.train.labels, rows, ds.A, 6);
    model = (await trainLinear(features, labels, rows, d, 1, { l2, seed: 3 })).model;
    w = referenceWeights(model.weights, features, labels, rows, d, 1, 0);
    direct = directInverse(features, rows, d, w, rows);
  });

  test('within 5e-5 of the float64 direct inverse, as a matrix and applied to a removal gradient', (t) => {
    const shapes: MatMulShape[] = [];
    const fast = fastFisherBlock(features, rows, d, w, rows, DAMPING, { onMatMul: (s) => shapes.push(s) });
    const err = relFrob(fast, direct);
    const k = 12;
    const v = removalGradient(model, features.subarray(0, k * d), labels.subarray(0, k), l2);
    const errApplied = relFrob(matVecRef(fast, d, d, v), matVecRef(direct, d, d, v));
    // The same tolerance fisher.test.ts holds the float32-Gram + float64-inverse route to here
    // (measured 5.5e-6 for that route): this route measured 7.7e-6 (wasm) and 1.7e-6 (cpu, whose
    // products accumulate in float64). A float32 factorisation of the whole matrix (a Schur-
    // complement inverse in float32 was tried) lands at ~1e-5 here but ~2e-3 at 3000 rows, so the
    // benchmark also reports this error at 3000 and 6000 rows against the float64 inverse.
    const tol = 5e-5;
    const gflop = shapes.reduce((s, [m, kk, nn]) => s + 2 * m * kk * nn, 0) / 1e9;
    t.diagnostic(`‖fast − direct‖/‖direct‖ = ${err.toExponential(2)}; applied ${errApplied.toExponential(2)}; ${shapes.length} products, ${gflop.toFixed(2)} GFLOP`);
    assert.ok(err < tol, `matrix: ${err}`);
    assert.ok(errApplied < tol, `applied: ${errApplied}`);
  });
});

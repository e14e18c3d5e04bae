import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../../main/engine/backend.js';
import { SsseError } from '../../../main/engine/errors.js';
import { fisherInverse, type FisherInverse } from '../../../main/engine/linear/fisher.js';
import { logits, sigmoid, type LinearModel } from '../../../main/engine/linear/model.js';
import { applyStep, removalGradient, ssseDirection } from '../../../main/engine/linear/ssseStep.js';
import { denseWeightedGram, gaussian, gaussJordanInverse, logistic, matVecRef, negLogLikelihood, newtonLogistic, norm2, randomFeatures, randomLabels, relFrob, U32, xorshift32 } from '../../helpers/reference.js';


before(async () => {
  await initBackend('auto');
});

interface Problem {
  n: number;
  d: number;
  A: number;
  l2: number;
  features: Float32Array;
  labels: Uint8Array;
  model: LinearModel;
}

function problem(n: number, d: number, A: number, l2: number, seed: number): Problem {
  const g = gaussian(seed);
  const features = randomFeatures(n, d, seed + 1);
  const labels = randomLabels(n, A, seed + 2);
  const weights = Float64Array.from({ length: d * A }, () => (2 * g()) / Math.sqrt(d));
  return { n, d, A, l2, features, labels, model: { d, A, weights } };
}

/** Rows `rows` of an n×cols array. */
function pick<T extends Float32Array | Uint8Array>(data: T, cols: number, rows: number[]): T {
  const out = new (data.constructor as new (len: number) => T)(rows.length * cols);
  rows.forEach((i, r) => out.set(data.subarray(i * cols, (i + 1) * cols), r * cols));
  return out;
}

/**
 * Reference Σ_{i∈S} ∇ℓ_i(θ) with ℓ_i = Σ_a −log p(y_ia | x_i; w_a) + (λ/2)‖θ‖², per sample then
 * summed, attribute-major like θ.
 */
function referenceRemovalGradient(p: Problem, rows: number[], theta: Float64Array): Float64Array {
  const { d, A, l2, features, labels } = p;
  const total = new Float64Array(d * A);
  for (const i of rows) {
    const gi = new Float64Array(d * A);
    for (let a = 0; a < A; a++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += (features[i * d + j] as number) * (theta[a * d + j] as number);
      const r = logistic(z) - (labels[i * A + a] as number);
      for (let j = 0; j < d; j++) gi[a * d + j] = r * (features[i * d + j] as number) + l2 * (theta[a * d + j] as number);
    }
    for (let t = 0; t < total.length; t++) total[t] = (total[t] as number) + (gi[t] as number);
  }
  return total;
}

/** Reference Σ_{i∈S} ℓ_i(θ). */
function referenceRemovalLoss(p: Problem, rows: number[], theta: Float64Array): number {
  const { d, A, l2, features, labels } = p;
  const reg = 0.5 * l2 * norm2(theta) ** 2;
  let s = 0;
  for (const i of rows) {
    s += reg;
    for (let a = 0; a < A; a++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += (features[i * d + j] as number) * (theta[a * d + j] as number);
      s += negLogLikelihood(z, labels[i * A + a] as number);
    }
  }
  return s;
}

describe('removalGradient', () => {
  const p = problem(40, 5, 2, 0.01, 1);
  const S = [3, 8, 20, 39];

  test('equals the float64 sum of per-sample gradients, L2 term included (k·λ·θ)', () => {
    const g = removalGradient(p.model, pick(p.features, p.d, S), pick(p.labels, p.A, S), p.l2);
    const ref = referenceRemovalGradient(p, S, p.model.weights);
    assert.equal(g.length, p.d * p.A);
    // Same float64 sums in a different order: rounding only.
    assert.ok(relFrob(g, ref) < 1e-14, `${relFrob(g, ref)}`);
  });

  test('matches central finite differences of the reference loss', (t) => {
    const g = removalGradient(p.model, pick(p.features, p.d, S), pick(p.labels, p.A, S), p.l2);
    // Central differences: truncation h²·|f'''|/6 ≈ 1e-10·O(1), rounding u₆₄·|f|/h ≈ 1e-11·|f|
    // (|f| ≈ 3 here): about 1e-10 per component, against components of size O(0.1…1).
    const h = 1e-5;
    const fd = new Float64Array(g.length);
    for (let t = 0; t < g.length; t++) {
      const plus = Float64Array.from(p.model.weights);
      const minus = Float64Array.from(p.model.weights);
      plus[t] = (plus[t] as number) + h;
      minus[t] = (minus[t] as number) - h;
      fd[t] = (referenceRemovalLoss(p, S, plus) - referenceRemovalLoss(p, S, minus)) / (2 * h);
    }
    const err = relFrob(g, fd);
    t.diagnostic(`‖g − g_FD‖/‖g_FD‖ = ${err.toExponential(2)}`);
    assert.ok(err < 1e-8, `${err}`);
  });

  test('a larger problem (n = 300, d = 50, A = 3, k = 17) agrees with the reference as well', () => {
    const q = problem(300, 50, 3, 1e-4, 2);
    const u = xorshift32(3);
    const S2: number[] = [];
    while (S2.length < 17) {
      const i = Math.floor(u() * q.n);
      if (!S2.includes(i)) S2.push(i);
    }
    const g = removalGradient(q.model, pick(q.features, q.d, S2), pick(q.labels, q.A, S2), q.l2);
    assert.ok(relFrob(g, referenceRemovalGradient(q, S2, q.model.weights)) < 1e-13);
  });

  test('features that are not k×d rows, or labels that are not k×A, throw BAD_ARGUMENT', () => {
    const f = pick(p.features, p.d, S);
    const y = pick(p.labels, p.A, S);
    const isBad = (e: unknown): boolean => e instanceof SsseError && e.code === 'BAD_ARGUMENT';
    assert.throws(() => removalGradient(p.model, f.subarray(1), y, p.l2), isBad);
    assert.throws(() => removalGradient(p.model, f, y.subarray(1), p.l2), isBad);
    assert.throws(() => removalGradient(p.model, f.subarray(p.d), y, p.l2), isBad);
  });
});

describe('ssseDirection and applyStep', () => {
  const p = problem(60, 6, 2, 1e-3, 10);
  const damping = 1e-3;
  const S = [0, 7, 33];
  const k = S.length;
  let fi: FisherInverse;
  let gradient: Float64Array;

  before(async () => {
    fi = await fisherInverse(p.model, p.features, p.labels, p.n, { damping, method: 'sherman-morrison' });
    gradient = removalGradient(p.model, pick(p.features, p.d, S), pick(p.labels, p.A, S), p.l2);
  });

  test('is F̂⁻¹·Σ∇ℓ_i/(n − k) per block, against a Gauss–Jordan inverse of the dense F̂', (t) => {
    const u = ssseDirection(fi, gradient, p.n, k);
    const { d, A, n } = p;
    for (let a = 0; a < A; a++) {
      // Reference F̂_a = λ_F·I + (1/n)·Σ (p − y)² x xᵀ, all float64.
      const w = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let z = 0;
        for (let j = 0; j < d; j++) z += (p.features[i * d + j] as number) * (p.model.weights[a * d + j] as number);
        w[i] = (logistic(z) - (p.labels[i * A + a] as number)) ** 2 / n;
      }
      const f = denseWeightedGram(p.features, n, d, w);
      for (let j = 0; j < d; j++) f[j * d + j] = (f[j * d + j] as number) + damping;
      const inv = gaussJordanInverse(f, d);
      const g = gradient.subarray(a * d, (a + 1) * d);
      const ref = matVecRef(inv, d, d, g).map((v) => v / (n - k));
      const got = u.subarray(a * d, (a + 1) * d);
      // The stored block is float32: each entry off by ≤ u₃₂ relative, so the product is off by
      // ≤ u₃₂·‖|F̂⁻¹|·|g|‖, which relative to ‖F̂⁻¹g‖ is the bound below (plus the float64 part,
      // < 1e-8 by fisher.test.ts).
      const absProd = matVecRef(inv.map(Math.abs), d, d, Array.from(g, Math.abs));
      const tol = (2 * U32 * norm2(absProd)) / norm2(matVecRef(inv, d, d, g)) + 1e-8;
      const err = relFrob(got, ref);
      t.diagnostic(`attribute ${a}: ${err.toExponential(2)} (tolerance ${tol.toExponential(2)})`);
      assert.ok(err < tol, `attribute ${a}: ${err}`);
      // Exactly the stored float32 block applied in float64, divided by n − k.
      const exact = matVecRef(fi.blocks[a] as Float32Array, d, d, g).map((v) => v / (n - k));
      assert.ok(relFrob(got, exact) < 1e-15);
    }
  });

  test('scales as 1/(n − k)', () => {
    const u1 = ssseDirection(fi, gradient, 100, k);
    const u2 = ssseDirection(fi, gradient, 50, k);
    for (let t = 0; t < u1.length; t++) assert.ok(Math.abs((u2[t] as number) * (50 - k) - (u1[t] as number) * (100 - k)) <= 1e-12 * Math.abs(u1[t] as number) * 100);
  });

  test('applyStep(ε) is θ* + ε·u, a new model, θ* untouched', () => {
    const u = ssseDirection(fi, gradient, p.n, k);
    const original = Float64Array.from(p.model.weights);
    for (const eps of [0, 0.5, 1, 3.25]) {
      const m = applyStep(p.model, u, eps);
      assert.equal(m.d, p.d);
      assert.equal(m.A, p.A);
      assert.notEqual(m.weights, p.model.weights);
      for (let t = 0; t < u.length; t++) assert.equal(m.weights[t], (original[t] as number) + eps * (u[t] as number));
    }
    assert.deepEqual(p.model.weights, original);
  });

  test('k = 0, k = n or k > n throw BAD_REQUEST', () => {
    for (const bad of [0, p.n, p.n + 1]) {
      assert.throws(
        () => ssseDirection(fi, gradient, p.n, bad),
        (e: unknown) => e instanceof SsseError && e.code === 'BAD_REQUEST' && /k/.test(e.message),
        `k = ${bad}`,
      );
    }
  });

  test('wrong lengths throw BAD_ARGUMENT', () => {
    const isBad = (e: unknown): boolean => e instanceof SsseError && e.code === 'BAD_ARGUMENT';
    assert.throws(() => ssseDirection(fi, gradient.subarray(1), p.n, k), isBad, 'short gradient');
    assert.throws(() => ssseDirection({ ...fi, blocks: fi.blocks.slice(0, 1) }, gradient, p.n, k), isBad, 'missing block');
    assert.throws(
      () => ssseDirection({ ...fi, blocks: [fi.blocks[0] as Float32Array, new Float32Array(3)] }, gradient, p.n, k),
      isBad,
      'wrong block size',
    );
    const u = ssseDirection(fi, gradient, p.n, k);
    assert.throws(() => applyStep(p.model, u.subarray(1), 1), isBad, 'short direction');
    assert.throws(() => applyStep(p.model, new Float64Array(u.length + 1), 1), isBad, 'long direction');
  });

  test('ε negative, NaN or ∞ throws BAD_ARGUMENT naming --epsilon', () => {
    const u = ssseDirection(fi, gradient, p.n, k);
    for (const eps of [-1e-9, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(
        () => applyStep(p.model, u, eps),
        (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && /--epsilon/.test(e.message),
        `ε = ${eps}`,
      );
    }
  });
});

describe('the step as a whole', () => {
  test('with the expected Fisher (= the exact Hessian when λ_F = λ), ε = 1 lands near the retrained optimum', async (t) => {
    // A non-separable problem (labels independent of features), trained and retrained to the
    // optimum by the reference Newton solver. Equation (1) is a first-order expansion, so the
    // error left after the step is O(‖θ* − θ*₋S‖²): far smaller than the distance itself.
    const n = 400;
    const d = 8;
    const l2 = 1e-2;
    const features = randomFeatures(n, d, 41, 0);
    const labels = randomLabels(n, 1, 42);
    const star = newtonLogistic({ x: features, y: labels, n, d, l2 }, 1e-13).w;
    const S = [1, 50, 99, 123, 200, 301, 333, 399];
    const keep = Array.from({ length: n }, (_, i) => i).filter((i) => !S.includes(i));
    const retrained = newtonLogistic({ x: pick(features, d, keep), y: pick(labels, 1, keep), n: keep.length, d, l2 }, 1e-13).w;
    const model: LinearModel = { d, A: 1, weights: star };
    const fi = await fisherInverse(model, features, labels, n, { damping: l2, curvature: 'expected', method: 'sherman-morrison' });
    const g = removalGradient(model, pick(features, d, S), pick(labels, 1, S), l2);
    const stepped = applyStep(model, ssseDirection(fi, g, n, S.length), 1).weights;
    const before = relFrob(star, retrained);
    const after = relFrob(stepped, retrained);
    t.diagnostic(`‖θ* − θ*₋S‖/‖θ*₋S‖ = ${before.toExponential(2)}; after the step ${after.toExponential(2)}`);
    assert.ok(after < 0.1 * before, `${after} vs ${before}`);
  });
});

describe('logits and removalGradient: the unrolled loops give the plain loops bit for bit', () => {
  /** z[r, a] = Σ_j x[row r, j]·w[a, j], one row and one sum at a time, j = 0…d−1. */
  function plainLogits(model: LinearModel, features: Float32Array, rows?: number[]): Float64Array {
    const { d, A, weights } = model;
    const n = rows ? rows.length : features.length / d;
    const out = new Float64Array(n * A);
    for (let r = 0; r < n; r++) {
      const off = (rows ? (rows[r] as number) : r) * d;
      for (let a = 0; a < A; a++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (features[off + j] as number) * (weights[a * d + j] as number);
        out[r * A + a] = s;
      }
    }
    return out;
  }

  /** Σ_i (σ(z_ia) − y_ia)·x_i + k·λ·w, accumulated row by row into the gradient. */
  function plainGradient(model: LinearModel, x: Float32Array, y: Uint8Array, l2: number): Float64Array {
    const { d, A } = model;
    const k = x.length / d;
    const z = plainLogits(model, x);
    const grad = new Float64Array(A * d);
    for (let i = 0; i < k; i++) {
      for (let a = 0; a < A; a++) {
        const r = sigmoid(z[i * A + a] as number) - (y[i * A + a] as number);
        for (let j = 0; j < d; j++) grad[a * d + j] = (grad[a * d + j] as number) + r * (x[i * d + j] as number);
      }
    }
    for (let t = 0; t < grad.length; t++) grad[t] = (grad[t] as number) + k * l2 * (model.weights[t] as number);
    return grad;
  }

  test('for every row count and feature count mod 4, with and without a row selection', () => {
    const g = gaussian(91);
    for (const [k, d, A] of [
      [1, 1, 1],
      [3, 5, 2],
      [4, 4, 3],
      [5, 7, 1],
      [9, 13, 4],
      [120, 66, 10],
    ] as const) {
      const model: LinearModel = { d, A, weights: Float64Array.from({ length: d * A }, () => g()) };
      const x = randomFeatures(k, d, 92 + k);
      const y = randomLabels(k, A, 93 + k);
      assert.deepEqual(logits(model, x), plainLogits(model, x), `logits, k = ${k}, d = ${d}`);
      const rows = Array.from({ length: k }, (_, i) => (i * 7) % k);
      assert.deepEqual(logits(model, x, rows), plainLogits(model, x, rows), `logits of selected rows, k = ${k}`);
      assert.deepEqual(removalGradient(model, x, y, 1e-3), plainGradient(model, x, y, 1e-3), `gradient, k = ${k}, d = ${d}`);
    }
  });
});


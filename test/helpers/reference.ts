/**
 * Independent float64 references for the numeric engine's tests.
 *
 * Written from scratch in plain JavaScript numbers; nothing here imports from main/ (no tfjs, no
 * Cholesky, no engine sigmoid/softplus/logits), so an engine bug cannot hide by being reproduced
 * in its own reference. The algorithms are deliberately different from the engine's where one
 * exists: Gauss–Jordan and LU with partial pivoting instead of Cholesky, a dense row-by-row
 * Σ w_i x_i x_iᵀ instead of a backend matrix product, an LU-solved Newton method instead of a
 * Cholesky-solved one.
 *
 * Matrices are row-major Float64Arrays; "d×d" means d·d entries.
 */

// ---------------------------------------------------------------------------------------------
// Seeded random numbers (a plain 32-bit xorshift, not the engine's mulberry32)

/** Uniform numbers in [0, 1) from Marsaglia's xorshift32, seeded by any integer (0 is mapped). */
export function xorshift32(seed: number): () => number {
  let s = (seed >>> 0) ^ 0x9e3779b9;
  if (s === 0) s = 0x12345678;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** Standard normal deviates by Box–Muller on top of xorshift32. */
export function gaussian(seed: number): () => number {
  const u = xorshift32(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    let a = u();
    while (a === 0) a = u();
    const b = u();
    const r = Math.sqrt(-2 * Math.log(a));
    spare = r * Math.sin(2 * Math.PI * b);
    return r * Math.cos(2 * Math.PI * b);
  };
}

/** rows×cols standard-normal matrix, float64. */
export function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const g = gaussian(seed);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = g();
  return out;
}

/** Unit roundoff of float32, the scale of the tolerances for float32 backend arithmetic. */
export const U32 = 2 ** -24;

/** n per-row weights uniform in [0, 0.25), about `zeroFraction` of them exactly 0. */
export function randomWeights(n: number, seed: number, zeroFraction = 0): Float64Array {
  const u = xorshift32(seed);
  return Float64Array.from({ length: n }, () => (u() < zeroFraction ? 0 : 0.25 * u()));
}

/** rows×cols float32 features uniform in [0, 1), with about `zeroFraction` exact zeros (like pixels). */
export function randomFeatures(rows: number, cols: number, seed: number, zeroFraction = 0.3): Float32Array {
  const u = xorshift32(seed);
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = u() < zeroFraction ? 0 : u();
  return out;
}

/** rows×cols 0/1 labels, each 1 with probability `p`. */
export function randomLabels(rows: number, cols: number, seed: number, p = 0.5): Uint8Array {
  const u = xorshift32(seed);
  const out = new Uint8Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = u() < p ? 1 : 0;
  return out;
}

/** A well-conditioned random SPD matrix: GᵀG/d + I for a d×d Gaussian G (κ is a few tens). */
export function randomSpd(d: number, seed: number): Float64Array {
  const g = randomMatrix(d, d, seed);
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (g[k * d + i] as number) * (g[k * d + j] as number);
      s /= d;
      if (i === j) s += 1;
      a[i * d + j] = s;
      a[j * d + i] = s;
    }
  }
  return a;
}

/**
 * A random d×d orthogonal matrix as a product of `reflections` Householder reflectors
 * H = I − 2vvᵀ/(vᵀv), each exactly orthogonal up to rounding.
 */
export function randomOrthogonal(d: number, seed: number, reflections = 4): Float64Array {
  const g = gaussian(seed);
  let q = identity(d);
  for (let r = 0; r < reflections; r++) {
    const v = new Float64Array(d);
    let vv = 0;
    for (let i = 0; i < d; i++) {
      v[i] = g();
      vv += (v[i] as number) ** 2;
    }
    // q ← q·H = q − (2/vv)·(q·v)·vᵀ
    const qv = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (q[i * d + k] as number) * (v[k] as number);
      qv[i] = s;
    }
    const next = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) next[i * d + j] = (q[i * d + j] as number) - (2 / vv) * (qv[i] as number) * (v[j] as number);
    }
    q = next;
  }
  return q;
}

/**
 * SPD matrix Q·diag(λ)·Qᵀ with eigenvalues spaced geometrically from 1 to `condition`, so its
 * 2-norm condition number is `condition` (up to rounding). Returns the matrix and its exact-in-
 * exact-arithmetic inverse Q·diag(1/λ)·Qᵀ.
 */
export function spdWithCondition(d: number, condition: number, seed: number): { a: Float64Array; inverse: Float64Array } {
  const q = randomOrthogonal(d, seed, 6);
  const lambda = new Float64Array(d);
  for (let i = 0; i < d; i++) lambda[i] = condition ** (d === 1 ? 0 : i / (d - 1));
  const a = new Float64Array(d * d);
  const inverse = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      let t = 0;
      for (let k = 0; k < d; k++) {
        const qq = (q[i * d + k] as number) * (q[j * d + k] as number);
        s += qq * (lambda[k] as number);
        t += qq / (lambda[k] as number);
      }
      a[i * d + j] = s;
      a[j * d + i] = s;
      inverse[i * d + j] = t;
      inverse[j * d + i] = t;
    }
  }
  return { a, inverse };
}

// ---------------------------------------------------------------------------------------------
// Dense linear algebra

export function identity(d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) out[i * d + i] = 1;
  return out;
}

/** C = A·B for A m×k, B k×n (row-major). */
export function matMul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p] as number;
      if (aip === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] = (out[i * n + j] as number) + aip * (b[p * n + j] as number);
    }
  }
  return out;
}

/** y = M·x for M rows×cols. */
export function matVecRef(m: ArrayLike<number>, rows: number, cols: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += (m[i * cols + j] as number) * (x[j] as number);
    y[i] = s;
  }
  return y;
}

/** Mᵀ for M rows×cols. */
export function transpose(m: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j] as number;
  return out;
}

/**
 * Inverse by Gauss–Jordan elimination with partial pivoting on the augmented [A | I].
 * Throws a plain Error when a pivot column is exactly zero (singular).
 */
export function gaussJordanInverse(a: ArrayLike<number>, d: number): Float64Array {
  const w = 2 * d;
  const m = new Float64Array(d * w);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) m[i * w + j] = a[i * d + j] as number;
    m[i * w + d + i] = 1;
  }
  for (let c = 0; c < d; c++) {
    let p = c;
    let best = Math.abs(m[c * w + c] as number);
    for (let r = c + 1; r < d; r++) {
      const v = Math.abs(m[r * w + c] as number);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    if (best === 0) throw new Error(`gaussJordanInverse: singular at column ${c}`);
    if (p !== c) {
      for (let j = 0; j < w; j++) {
        const t = m[c * w + j] as number;
        m[c * w + j] = m[p * w + j] as number;
        m[p * w + j] = t;
      }
    }
    const pivot = m[c * w + c] as number;
    for (let j = 0; j < w; j++) m[c * w + j] = (m[c * w + j] as number) / pivot;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = m[r * w + c] as number;
      if (f === 0) continue;
      for (let j = 0; j < w; j++) m[r * w + j] = (m[r * w + j] as number) - f * (m[c * w + j] as number);
    }
  }
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) inv[i * d + j] = m[i * w + d + j] as number;
  return inv;
}

/** LU factorisation P·A = L·U with partial pivoting (Doolittle, L unit lower), packed in place. */
export interface LuFactors {
  d: number;
  /** L below the diagonal (unit diagonal implied), U on and above it. */
  lu: Float64Array;
  /** Row i of P·A is row perm[i] of A. */
  perm: Int32Array;
}

export function luFactor(a: ArrayLike<number>, d: number): LuFactors {
  const lu = Float64Array.from(a as ArrayLike<number>);
  const perm = new Int32Array(d);
  for (let i = 0; i < d; i++) perm[i] = i;
  for (let c = 0; c < d; c++) {
    let p = c;
    let best = Math.abs(lu[c * d + c] as number);
    for (let r = c + 1; r < d; r++) {
      const v = Math.abs(lu[r * d + c] as number);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    if (best === 0) throw new Error(`luFactor: singular at column ${c}`);
    if (p !== c) {
      for (let j = 0; j < d; j++) {
        const t = lu[c * d + j] as number;
        lu[c * d + j] = lu[p * d + j] as number;
        lu[p * d + j] = t;
      }
      const t = perm[c] as number;
      perm[c] = perm[p] as number;
      perm[p] = t;
    }
    const pivot = lu[c * d + c] as number;
    for (let r = c + 1; r < d; r++) {
      const f = (lu[r * d + c] as number) / pivot;
      lu[r * d + c] = f;
      if (f === 0) continue;
      for (let j = c + 1; j < d; j++) lu[r * d + j] = (lu[r * d + j] as number) - f * (lu[c * d + j] as number);
    }
  }
  return { d, lu, perm };
}

export function luSolveFactored(f: LuFactors, b: ArrayLike<number>): Float64Array {
  const { d, lu, perm } = f;
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[perm[i] as number] as number;
    for (let k = 0; k < i; k++) s -= (lu[i * d + k] as number) * (y[k] as number);
    y[i] = s;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < d; k++) s -= (lu[i * d + k] as number) * (x[k] as number);
    x[i] = s / (lu[i * d + i] as number);
  }
  return x;
}

/** Solves A·x = b by LU with partial pivoting. */
export function luSolve(a: ArrayLike<number>, d: number, b: ArrayLike<number>): Float64Array {
  return luSolveFactored(luFactor(a, d), b);
}

/**
 * Dense float64 Σ_i w_i·x_i·x_iᵀ (= Xᵀ·diag(w)·X), one rank-1 term per row, skipping zero
 * weights and zero features. X is n×d row-major (any float storage, read exactly).
 */
export function denseWeightedGram(x: ArrayLike<number>, n: number, d: number, w: ArrayLike<number>): Float64Array {
  const g = new Float64Array(d * d);
  const nz = new Int32Array(d);
  const vals = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const wi = w[i] as number;
    if (wi === 0) continue;
    let m = 0;
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j] as number;
      if (v !== 0) {
        nz[m] = j;
        vals[m] = v;
        m++;
      }
    }
    // Upper triangle only, mirrored at the end.
    for (let p = 0; p < m; p++) {
      const row = (nz[p] as number) * d;
      const wv = wi * (vals[p] as number);
      for (let q = p; q < m; q++) g[row + (nz[q] as number)] = (g[row + (nz[q] as number)] as number) + wv * (vals[q] as number);
    }
  }
  for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) g[j * d + i] = g[i * d + j] as number;
  return g;
}

// ---------------------------------------------------------------------------------------------
// Norms

export function norm2(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) ** 2;
  return Math.sqrt(s);
}

/** ‖a − b‖_F / ‖b‖_F (b is the reference). Works for vectors too. */
export function relFrob(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relFrob: lengths ${a.length} and ${b.length} differ`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += ((a[i] as number) - (b[i] as number)) ** 2;
    den += (b[i] as number) ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`maxAbsDiff: lengths ${a.length} and ${b.length} differ`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

// ---------------------------------------------------------------------------------------------
// Logistic regression for one attribute, float64

/** σ(z) evaluated without overflow. */
export function logistic(z: number): number {
  return z < 0 ? Math.exp(z) / (1 + Math.exp(z)) : 1 / (1 + Math.exp(-z));
}

/** −log p(y | z) for a Bernoulli with logit z: log(1 + e^{−z}) when y = 1, log(1 + e^{z}) when y = 0. */
export function negLogLikelihood(z: number, y: number): number {
  const s = y === 1 ? -z : z; // the loss is log(1 + e^s) in both cases
  return s > 0 ? s + Math.log1p(Math.exp(-s)) : Math.log1p(Math.exp(s));
}

/** The data of one attribute: X n×d (row-major) and labels y (n values of 0/1). */
export interface AttributeProblem {
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  n: number;
  d: number;
  l2: number;
}

/** Column a of an n×A label matrix. */
export function labelColumn(labels: ArrayLike<number>, n: number, A: number, a: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = labels[i * A + a] as number;
  return out;
}

function rowLogit(x: ArrayLike<number>, i: number, d: number, w: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += (x[i * d + j] as number) * (w[j] as number);
  return s;
}

/** L(w) = (1/n)·Σ_i −log p(y_i | x_i; w) + (λ/2)·‖w‖². */
export function logisticLoss(prob: AttributeProblem, w: ArrayLike<number>): number {
  const { x, y, n, d, l2 } = prob;
  let s = 0;
  for (let i = 0; i < n; i++) s += negLogLikelihood(rowLogit(x, i, d, w), y[i] as number);
  return s / n + 0.5 * l2 * norm2(w) ** 2;
}

/** ∇L(w) = (1/n)·Σ_i (σ(x_iᵀw) − y_i)·x_i + λ·w. */
export function logisticGradient(prob: AttributeProblem, w: ArrayLike<number>): Float64Array {
  const { x, y, n, d, l2 } = prob;
  const g = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const r = logistic(rowLogit(x, i, d, w)) - (y[i] as number);
    for (let j = 0; j < d; j++) g[j] = (g[j] as number) + r * (x[i * d + j] as number);
  }
  for (let j = 0; j < d; j++) g[j] = (g[j] as number) / n + l2 * (w[j] as number);
  return g;
}

/** ∇²L(w) = (1/n)·Σ_i σ(1 − σ)·x_i·x_iᵀ + λ·I, dense d×d. */
export function logisticHessian(prob: AttributeProblem, w: ArrayLike<number>): Float64Array {
  const { x, n, d, l2 } = prob;
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = logistic(rowLogit(x, i, d, w));
    c[i] = (p * (1 - p)) / n;
  }
  const h = denseWeightedGram(x, n, d, c);
  for (let j = 0; j < d; j++) h[j * d + j] = (h[j * d + j] as number) + l2;
  return h;
}

export interface NewtonResult {
  w: Float64Array;
  gradientNorm: number;
  iterations: number;
}

/**
 * Damped Newton's method from w = 0 with LU-solved steps and a backtracking (Armijo) line search,
 * until ‖∇L‖ ≤ gradTol. Throws when it has not got there in maxIterations.
 */
export function newtonLogistic(prob: AttributeProblem, gradTol: number, maxIterations = 60): NewtonResult {
  const { d } = prob;
  const w = new Float64Array(d);
  for (let it = 0; ; it++) {
    const g = logisticGradient(prob, w);
    const gn = norm2(g);
    if (gn <= gradTol) return { w, gradientNorm: gn, iterations: it };
    if (it >= maxIterations) throw new Error(`newtonLogistic: ‖∇L‖ = ${gn} after ${it} iterations`);
    const step = luSolve(logisticHessian(prob, w), d, g);
    let slope = 0;
    for (let j = 0; j < d; j++) slope -= (g[j] as number) * (step[j] as number);
    const f0 = logisticLoss(prob, w);
    const trial = new Float64Array(d);
    let t = 1;
    for (let k = 0; k < 40; k++) {
      for (let j = 0; j < d; j++) trial[j] = (w[j] as number) - t * (step[j] as number);
      // Near the optimum the decrease drops below the loss's float64 resolution: take the full step.
      if (-slope < 1e-13 * Math.max(1, Math.abs(f0))) break;
      if (logisticLoss(prob, trial) <= f0 + 1e-4 * t * slope) break;
      t /= 2;
    }
    w.set(trial);
  }
}

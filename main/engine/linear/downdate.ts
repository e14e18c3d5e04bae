import { SsseError } from '../errors.js';
import { cholesky, choleskySolve } from '../linalg/cholesky.js';
import { throwIfCancelled, type RunControl } from '../progress.js';
import { fisherWeights, type FisherInverse } from './fisher.js';
import type { LinearModel } from './model.js';

/**
 * Leave-k-out: the curvature of D \ S, from the stored F̂⁻¹ of D and S's own rows, nothing else.
 *
 * Stored (SSSE.md eq. 2, per-sample rows, N = n):   F̂ = λ_F·I + (1/n)·Σ_{j∈D} g_j g_jᵀ.
 *
 * Removing S changes the sum AND the normaliser 1/n → 1/(n − k). Keeping λ_F fixed as well would
 * make the change c·F̂ − (c − 1)·λ_F·I − …, c = n/(n − k): full rank, which no downdate of the
 * stored inverse can absorb. So "the curvature of D \ S" is defined here as
 *
 *     F̂_{−S} = λ_F'·I + (1/(n−k))·Σ_{j∉S} g_j g_jᵀ,     λ_F' = λ_F·n/(n − k),
 *
 * exactly (n/(n−k))·M with M = F̂ − (1/n)·Σ_{j∈S} g_j g_jᵀ = λ_F·I + (1/n)·Σ_{j∉S} g_j g_jᵀ, a rank-k
 * downdate. Its data term is the exact one of D \ S (for `expected` curvature: the Hessian of
 * L_{−S}'s data term at θ*); only the dampening grows, by the factor n/(n − k) (1.053 at a 5%
 * removal). By Woodbury, with G the k×d matrix of S's rows g_jᵀ,
 *
 *     M⁻¹ = F̂⁻¹ + F̂⁻¹Gᵀ·(n·I_k − G·F̂⁻¹·Gᵀ)⁻¹·G·F̂⁻¹,      F̂_{−S}⁻¹ = ((n − k)/n)·M⁻¹,
 *
 * and the step (SSSE.md eq. 4 with F̂_{−S}) becomes θ̂_ε = θ* + ε/(n−k)·F̂_{−S}⁻¹·Σ_S∇ℓ_i = θ* + (ε/n)·M⁻¹·Σ_S∇ℓ_i.
 * Cost per block: O(k·d² + k²·d + k³), all float64 (the stored blocks may be float32).
 *
 * The rows g_j of S are those the stored F̂ was built from: √w_ja·x_j with w from fisherWeights at
 * θ* and the same curvature (the sign of g_j drops out of g gᵀ). Rows of weight 0 add nothing to
 * F̂ and are skipped, but they still count in k.
 */

/** The dampening λ_F' of F̂_{−S} (see the module comment). */
export function leaveKOutDamping(damping: number, n: number, k: number): number {
  checkCounts('leaveKOutDamping', n, k);
  return (damping * n) / (n - k);
}

function checkCounts(fn: string, n: number, k: number): void {
  if (!(Number.isInteger(n) && Number.isInteger(k) && k >= 1 && k < n)) {
    throw new SsseError('BAD_REQUEST', `${fn}: need 1 ≤ k < n, got k = ${k}, n = ${n}`);
  }
}

/** The part of the downdate shared by the matrix and the vector routes, for one block. */
interface Capacitance {
  /** Number of non-zero rows k′ ≤ k. */
  m: number;
  /** k′×d row-major: row r = F̂⁻¹·g_r. */
  u: Float64Array;
  /** k′×d row-major: row r = g_r (√w·x, float64). */
  g: Float64Array;
  /** Cholesky factor of C = n·I − G·F̂⁻¹·Gᵀ (k′×k′). */
  l: Float64Array;
}

function capacitance(
  inverse: ArrayLike<number>,
  d: number,
  rows: Float32Array,
  rowWeights: ArrayLike<number>,
  n: number,
  what: string,
): Capacitance {
  const k = rowWeights.length;
  if (inverse.length !== d * d) throw new SsseError('BAD_ARGUMENT', `${what}: the inverse has ${inverse.length} entries, expected ${d}×${d}`);
  if (rows.length !== k * d) throw new SsseError('BAD_ARGUMENT', `${what}: S's rows have ${rows.length} values, expected k×d = ${k}×${d}`);
  const kept: number[] = [];
  for (let r = 0; r < k; r++) {
    const w = rowWeights[r] as number;
    if (!(w >= 0) || !Number.isFinite(w)) throw new SsseError('NUMERIC', `${what}: the weight of removed row ${r} is ${w}, expected a finite number ≥ 0`);
    if (w > 0) kept.push(r);
  }
  const m = kept.length;
  const g = new Float64Array(m * d);
  const u = new Float64Array(m * d);
  for (let r = 0; r < m; r++) {
    const src = kept[r] as number;
    const scale = Math.sqrt(rowWeights[src] as number);
    const go = r * d;
    for (let j = 0; j < d; j++) g[go + j] = scale * (rows[src * d + j] as number);
    // u_r = F̂⁻¹·g_r = Σ_j g_rj·(row j of F̂⁻¹) (F̂⁻¹ is symmetric); pixels are often 0, so skip them.
    for (let j = 0; j < d; j++) {
      const gj = g[go + j] as number;
      if (gj === 0) continue;
      const fo = j * d;
      for (let i = 0; i < d; i++) u[go + i] = (u[go + i] as number) + gj * (inverse[fo + i] as number);
    }
  }
  const c = new Float64Array(m * m);
  for (let r = 0; r < m; r++) {
    for (let s = 0; s <= r; s++) {
      let dot = 0;
      const go = r * d;
      const uo = s * d;
      for (let j = 0; j < d; j++) dot += (g[go + j] as number) * (u[uo + j] as number);
      const v = (r === s ? n : 0) - dot;
      c[r * m + s] = v;
      c[s * m + r] = v;
    }
  }
  let l: Float64Array;
  try {
    l = cholesky(c, m, `${what} capacitance n·I − G·F̂⁻¹·Gᵀ`);
  } catch (e) {
    if (e instanceof SsseError && e.code === 'NUMERIC') {
      throw new SsseError(
        'NUMERIC',
        `${what}: removing S leaves a curvature that is not positive definite at this precision (${e.message}); S dominates some direction of F̂: increase --damping`,
      );
    }
    throw e;
  }
  return { m, u, g, l };
}

/**
 * F̂_{−S}⁻¹ = ((n − k)/n)·[F̂⁻¹ + F̂⁻¹Gᵀ(n·I − G·F̂⁻¹·Gᵀ)⁻¹G·F̂⁻¹] for one block, float64 d×d.
 * `inverse` is the stored block of F̂⁻¹ (N = n rows), `rows` S's k feature rows, `rowWeights`
 * their Fisher weights for this block. The equivalent of F̂_{−S} built directly on D \ S with
 * dampening λ_F' = λ_F·n/(n − k) (module comment).
 */
export function downdateBlockInverse(
  inverse: ArrayLike<number>,
  d: number,
  rows: Float32Array,
  rowWeights: ArrayLike<number>,
  n: number,
): Float64Array {
  const k = rowWeights.length;
  checkCounts('downdateBlockInverse', n, k);
  const { m, u, l } = capacitance(inverse, d, rows, rowWeights, n, 'downdateBlockInverse');
  // Uᵀ·C⁻¹·U = WᵀW with W = L⁻¹U (k′×d), by forward substitution on U's rows.
  const w = new Float64Array(m * d);
  for (let r = 0; r < m; r++) {
    const wo = r * d;
    const lrr = l[r * m + r] as number;
    for (let j = 0; j < d; j++) {
      let s = u[wo + j] as number;
      for (let q = 0; q < r; q++) s -= (l[r * m + q] as number) * (w[q * d + j] as number);
      w[wo + j] = s / lrr;
    }
  }
  const scale = (n - k) / n;
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = inverse[i * d + j] as number;
      for (let r = 0; r < m; r++) s += (w[r * d + i] as number) * (w[r * d + j] as number);
      out[i * d + j] = scale * s;
      out[j * d + i] = scale * s;
    }
  }
  return out;
}

/**
 * M⁻¹·v / n = F̂_{−S}⁻¹·v / (n − k) for one block without forming the d×d matrix:
 * a = F̂⁻¹v, then a + Uᵀ·C⁻¹·(G·a).
 */
export function downdatedSolveBlock(
  inverse: ArrayLike<number>,
  d: number,
  rows: Float32Array,
  rowWeights: ArrayLike<number>,
  n: number,
  v: ArrayLike<number>,
): Float64Array {
  const k = rowWeights.length;
  checkCounts('downdatedSolveBlock', n, k);
  if (v.length !== d) throw new SsseError('BAD_ARGUMENT', `downdatedSolveBlock: the vector has ${v.length} values, expected d = ${d}`);
  const { m, u, g, l } = capacitance(inverse, d, rows, rowWeights, n, 'downdatedSolveBlock');
  const a = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = 0;
    const fo = i * d;
    for (let j = 0; j < d; j++) s += (inverse[fo + j] as number) * (v[j] as number);
    a[i] = s;
  }
  const out = new Float64Array(d);
  if (m > 0) {
    const b = new Float64Array(m);
    for (let r = 0; r < m; r++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (g[r * d + j] as number) * (a[j] as number);
      b[r] = s;
    }
    const t = choleskySolve(l, m, b);
    for (let r = 0; r < m; r++) {
      const tr = t[r] as number;
      for (let j = 0; j < d; j++) a[j] = (a[j] as number) + tr * (u[r * d + j] as number);
    }
  }
  for (let j = 0; j < d; j++) out[j] = (a[j] as number) / n;
  return out;
}

/**
 * The leave-k-out SSSE direction u = F̂_{−S}⁻¹·Σ_{i∈S}∇ℓ_i(θ*) / (n − k), so that θ̂_ε = θ* + ε·u
 * uses the curvature of D \ S. Needs only the stored F̂⁻¹, θ* and S's rows.
 */
export function leaveKOutDirection(
  fisher: FisherInverse,
  thetaStar: LinearModel,
  removedFeatures: Float32Array,
  removedLabels: Uint8Array,
  gradient: Float64Array,
  n: number,
  control?: RunControl,
): Float64Array {
  const { d, A } = fisher;
  const k = removedFeatures.length / d;
  checkCounts('leaveKOutDirection', n, k);
  if (fisher.N !== n) {
    throw new SsseError('BAD_ARGUMENT', `leaveKOutDirection: F̂ was built from N = ${fisher.N} rows, but the downdate needs its per-sample rows of the n = ${n} training samples`);
  }
  if (thetaStar.d !== d || thetaStar.A !== A) {
    throw new SsseError('BAD_ARGUMENT', `leaveKOutDirection: θ* is ${thetaStar.d}×${thetaStar.A}, F̂⁻¹ is for ${d}×${A}`);
  }
  if (gradient.length !== d * A) {
    throw new SsseError('BAD_ARGUMENT', `leaveKOutDirection: gradient has ${gradient.length} values, expected ${d}×${A}`);
  }
  const weights = fisherWeights(thetaStar, removedFeatures, removedLabels, fisher.curvature);
  const out = new Float64Array(d * A);
  const w = new Float64Array(k);
  for (let a = 0; a < A; a++) {
    throwIfCancelled(control, 'leave-k-out');
    const block = fisher.blocks[a];
    if (!block || block.length !== d * d) throw new SsseError('BAD_ARGUMENT', `leaveKOutDirection: Fisher block ${a} is missing or not ${d}×${d}`);
    for (let i = 0; i < k; i++) w[i] = weights[i * A + a] as number;
    out.set(downdatedSolveBlock(block, d, removedFeatures, w, n, gradient.subarray(a * d, (a + 1) * d)), a * d);
  }
  return out;
}

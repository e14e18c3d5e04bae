import { SsseError } from '../errors.js';

/**
 * The paper's convex model: A independent logistic attributes without bias,
 * p(y_a = 1 | x) = σ(w_aᵀx).
 *
 * Parameter order (documented, fixed): θ = [w_1 … w_A] flattened attribute-major, so
 * θ[a·d + j] is feature j's weight for attribute a. The Fisher's natural blocks are the A
 * contiguous slices of length d. Files store θ as a d×A matrix (column a = w_a) instead, as
 * the command line promises; `toFeatureMajor` converts.
 */
export interface LinearModel {
  d: number;
  A: number;
  /** A×d, attribute-major, float64. */
  weights: Float64Array;
}

export function zeroModel(d: number, A: number): LinearModel {
  return { d, A, weights: new Float64Array(d * A) };
}

/** The d×A (feature-major) layout used in theta_*.npy files. */
export function toFeatureMajor(model: LinearModel): Float64Array {
  const { d, A, weights } = model;
  const out = new Float64Array(d * A);
  for (let a = 0; a < A; a++) for (let j = 0; j < d; j++) out[j * A + a] = weights[a * d + j] as number;
  return out;
}

export function fromFeatureMajor(data: ArrayLike<number>, d: number, A: number, what = 'theta'): LinearModel {
  if (data.length !== d * A) {
    throw new SsseError('BAD_ARGUMENT', `${what}: has ${data.length} values, expected d×A = ${d}×${A}`);
  }
  const weights = new Float64Array(d * A);
  for (let j = 0; j < d; j++) for (let a = 0; a < A; a++) weights[a * d + j] = data[j * A + a] as number;
  return { d, A, weights };
}

/** Attribute a's weight vector as a view (no copy). */
export function attributeWeights(model: LinearModel, a: number): Float64Array {
  return model.weights.subarray(a * model.d, (a + 1) * model.d);
}

/**
 * Logits z = X·W for the given rows (all rows when omitted), n_rows×A row-major, float64.
 * Float64 accumulation matters here: the optimiser's gradient is built from these.
 */
export function logits(
  model: LinearModel,
  features: Float32Array,
  rows?: ArrayLike<number>,
): Float64Array {
  const { d, A, weights } = model;
  const n = rows ? rows.length : features.length / d;
  const out = new Float64Array(n * A);
  const offset = (r: number): number => (rows ? (rows[r] as number) : r) * d;
  // Four rows per pass over an attribute's weights, each with its own sum in the order j = 0…d−1:
  // bit for bit the one-row loop below, and about twice as fast (independent chains of additions).
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const o0 = offset(r);
    const o1 = offset(r + 1);
    const o2 = offset(r + 2);
    const o3 = offset(r + 3);
    for (let a = 0; a < A; a++) {
      const wo = a * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < d; j++) {
        const w = weights[wo + j] as number;
        s0 += (features[o0 + j] as number) * w;
        s1 += (features[o1 + j] as number) * w;
        s2 += (features[o2 + j] as number) * w;
        s3 += (features[o3 + j] as number) * w;
      }
      out[r * A + a] = s0;
      out[(r + 1) * A + a] = s1;
      out[(r + 2) * A + a] = s2;
      out[(r + 3) * A + a] = s3;
    }
  }
  for (; r < n; r++) {
    const off = offset(r);
    for (let a = 0; a < A; a++) {
      const wo = a * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += (features[off + j] as number) * (weights[wo + j] as number);
      out[r * A + a] = s;
    }
  }
  return out;
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

export function subtractModels(a: LinearModel, b: LinearModel): Float64Array {
  const out = new Float64Array(a.weights.length);
  for (let i = 0; i < out.length; i++) out[i] = (a.weights[i] as number) - (b.weights[i] as number);
  return out;
}

import { SsseError } from '../errors.js';
import { matVec } from '../linalg/cholesky.js';
import type { FisherInverse } from './fisher.js';
import { logits, sigmoid, type LinearModel } from './model.js';

/**
 * Σ_{i∈S} ∇ℓ_i(θ*) for the removed samples alone, L2 term included:
 * per attribute Σ_i (p_ia − y_ia)·x_i + k·λ·w_a, in the model's attribute-major order.
 * It is handed S's rows only: an erasure needs nothing else of the training set.
 */
export function removalGradient(
  model: LinearModel,
  removedFeatures: Float32Array,
  removedLabels: Uint8Array,
  l2: number,
): Float64Array {
  const { d, A } = model;
  const k = removedFeatures.length / d;
  if (!Number.isInteger(k) || removedLabels.length !== k * A) {
    throw new SsseError(
      'BAD_ARGUMENT',
      `removalGradient: removed features (${removedFeatures.length} values) and labels (${removedLabels.length}) do not fit d = ${d}, A = ${A}`,
    );
  }
  const z = logits(model, removedFeatures);
  const residual = new Float64Array(k * A);
  for (let t = 0; t < k * A; t++) residual[t] = sigmoid(z[t] as number) - (removedLabels[t] as number);
  // grad[a, j] = Σ_i r_ia·x_ij, summed over i = 0…k−1 in order from 0, four j at a time in
  // registers (the same sums, in the same order, as accumulating row by row into grad).
  const grad = new Float64Array(A * d);
  for (let a = 0; a < A; a++) {
    const go = a * d;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let i = 0; i < k; i++) {
        const r = residual[i * A + a] as number;
        const off = i * d + j;
        s0 += r * (removedFeatures[off] as number);
        s1 += r * (removedFeatures[off + 1] as number);
        s2 += r * (removedFeatures[off + 2] as number);
        s3 += r * (removedFeatures[off + 3] as number);
      }
      grad[go + j] = s0;
      grad[go + j + 1] = s1;
      grad[go + j + 2] = s2;
      grad[go + j + 3] = s3;
    }
    for (; j < d; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += (residual[i * A + a] as number) * (removedFeatures[i * d + j] as number);
      grad[go + j] = s;
    }
  }
  for (let t = 0; t < grad.length; t++) grad[t] = (grad[t] as number) + k * l2 * (model.weights[t] as number);
  return grad;
}

/**
 * The SSSE direction u = F̂⁻¹·Σ_{i∈S}∇ℓ_i(θ*) / (n − k), so that θ̂_ε = θ* + ε·u (equation 4).
 * One matrix–vector product per block.
 */
export function ssseDirection(fisher: FisherInverse, gradient: Float64Array, n: number, k: number): Float64Array {
  const { d, A } = fisher;
  if (gradient.length !== d * A) {
    throw new SsseError('BAD_ARGUMENT', `ssseDirection: gradient has ${gradient.length} values, expected ${d}×${A}`);
  }
  if (!(k >= 1 && k < n)) {
    throw new SsseError('BAD_REQUEST', `ssseDirection: need 1 ≤ k < n, got k = ${k}, n = ${n}`);
  }
  const out = new Float64Array(d * A);
  for (let a = 0; a < A; a++) {
    const block = fisher.blocks[a];
    if (!block || block.length !== d * d) {
      throw new SsseError('BAD_ARGUMENT', `ssseDirection: Fisher block ${a} is missing or not ${d}×${d}`);
    }
    const v = matVec(block, d, gradient.subarray(a * d, (a + 1) * d));
    for (let j = 0; j < d; j++) out[a * d + j] = (v[j] as number) / (n - k);
  }
  return out;
}

/** θ̂_ε = θ* + ε·u. */
export function applyStep(model: LinearModel, direction: Float64Array, epsilon: number): LinearModel {
  if (!Number.isFinite(epsilon) || epsilon < 0) {
    throw new SsseError('BAD_ARGUMENT', `--epsilon: must be a finite number ≥ 0 (got ${epsilon})`);
  }
  if (direction.length !== model.weights.length) {
    throw new SsseError('BAD_ARGUMENT', `applyStep: direction has ${direction.length} values, expected ${model.d}×${model.A}`);
  }
  const weights = new Float64Array(model.weights.length);
  for (let i = 0; i < weights.length; i++) weights[i] = (model.weights[i] as number) + epsilon * (direction[i] as number);
  return { d: model.d, A: model.A, weights };
}

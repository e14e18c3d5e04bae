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
  const grad = new Float64Array(A * d);
  for (let i = 0; i < k; i++) {
    const off = i * d;
    for (let a = 0; a < A; a++) {
      const r = sigmoid(z[i * A + a] as number) - (removedLabels[i * A + a] as number);
      const go = a * d;
      for (let j = 0; j < d; j++) grad[go + j] = (grad[go + j] as number) + r * (removedFeatures[off + j] as number);
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

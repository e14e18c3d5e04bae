import { SsseError } from '../errors.js';
import type { Curvature } from './fisher.js';
import { logits, sigmoid, type LinearModel } from './model.js';

/**
 * Per-sample Fisher weights, n×A row-major: F̂_a = λ_F·I + (1/N)·Σ_j w_ja·x_j·x_jᵀ.
 * The rank-1 row of sample j for block a is √w_ja·x_j (up to sign, which the outer product drops).
 * (A module of its own, free of tfjs, so that worker threads load only what a block needs.)
 */
export function fisherWeights(model: LinearModel, features: Float32Array, labels: Uint8Array, curvature: Curvature): Float64Array {
  // The weights replace the logits in their own array (n×A float64; no second one alongside).
  const out = logits(model, features);
  for (let i = 0; i < out.length; i++) out[i] = weightOf(out[i] as number, labels[i] as number, curvature);
  return out;
}

/**
 * Column a of fisherWeights, bit for bit, computed from attribute a's weights alone (each thread
 * of a Fisher build computes the column of the block it builds): the logits of a one-attribute
 * model are the same sums, in the same order, as the full model's column a. Written into `out`.
 */
export function fisherWeightColumn(
  model: LinearModel,
  features: Float32Array,
  labels: Uint8Array,
  curvature: Curvature,
  a: number,
  out: Float64Array,
): Float64Array {
  const { d, A } = model;
  const n = features.length / d;
  if (!Number.isInteger(a) || a < 0 || a >= A) throw new SsseError('BAD_ARGUMENT', `fisherWeightColumn: attribute ${a} is not in 0…${A - 1}`);
  if (labels.length !== n * A || out.length !== n) {
    throw new SsseError('BAD_ARGUMENT', `fisherWeightColumn: labels (${labels.length}) or out (${out.length}) do not fit n = ${n}, A = ${A}`);
  }
  const z = logits({ d, A: 1, weights: model.weights.subarray(a * d, (a + 1) * d) }, features);
  for (let i = 0; i < n; i++) out[i] = weightOf(z[i] as number, labels[i * A + a] as number, curvature);
  return out;
}

function weightOf(z: number, y: number, curvature: Curvature): number {
  const p = sigmoid(z);
  return curvature === 'empirical' ? (p - y) ** 2 : p * (1 - p);
}

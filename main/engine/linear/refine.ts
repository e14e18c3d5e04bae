import { SsseError } from '../errors.js';
import type { RunControl } from '../progress.js';
import { logits, sigmoid, type LinearModel } from './model.js';
import { trainLinear } from './train.js';

/**
 * Optimality of an erased model on D \ S, and exact erasure by Newton refinement.
 *
 * L_{−S}(θ) = (1/(n−k))·Σ_{i∉S} −log p(y_i|x_i; θ) + (λ/2)‖θ‖² is λ-strongly convex, so for any θ
 *
 *     ‖θ − θ*_{−S}‖ ≤ ‖∇L_{−S}(θ)‖ / λ:
 *
 * the gradient norm at θ̂ certifies how far the single step left the model from the retrained
 * optimum, without a retrained model. It needs D \ S (never S alone), so it is computed only
 * where the rest of the training set is available.
 */

export interface GradientNorm {
  /** ‖∇L_{−S}(θ)‖ over all parameters: √Σ_a ‖∇_a‖². */
  total: number;
  /** ‖∇_a L_{−S}(θ)‖ per attribute. */
  perAttribute: number[];
}

function checkSplit(fn: string, model: { d: number; A: number }, features: Float32Array, labels: Uint8Array, m: number): void {
  const { d, A } = model;
  if (!(Number.isInteger(m) && m >= 1)) throw new SsseError('BAD_ARGUMENT', `${fn}: need at least one retained row, got m = ${m}`);
  if (features.length !== m * d) throw new SsseError('BAD_ARGUMENT', `${fn}: features has ${features.length} values, expected ${m}×${d}`);
  if (labels.length !== m * A) throw new SsseError('BAD_ARGUMENT', `${fn}: labels has ${labels.length} values, expected ${m}×${A}`);
}

function norms(g: Float64Array, d: number, A: number): GradientNorm {
  const perAttribute: number[] = [];
  let total = 0;
  for (let a = 0; a < A; a++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += (g[a * d + j] as number) ** 2;
    perAttribute.push(Math.sqrt(s));
    total += s;
  }
  return { total: Math.sqrt(total), perAttribute };
}

/**
 * ∇L(θ) = (1/m)·Σ_i (σ(z_i) − y_i)·x_iᵀ + λθ over the m rows given, attribute-major like θ, from
 * the m×A logits z of those rows (float64).
 */
function gradientFromLogits(
  z: ArrayLike<number>,
  features: Float32Array,
  labels: Uint8Array,
  m: number,
  d: number,
  A: number,
  weights: ArrayLike<number>,
  l2: number,
): Float64Array {
  const g = new Float64Array(A * d);
  const r = new Float64Array(A);
  for (let i = 0; i < m; i++) {
    for (let a = 0; a < A; a++) r[a] = sigmoid(z[i * A + a] as number) - (labels[i * A + a] as number);
    const off = i * d;
    for (let j = 0; j < d; j++) {
      const x = features[off + j] as number;
      if (x === 0) continue;
      for (let a = 0; a < A; a++) g[a * d + j] = (g[a * d + j] as number) + (r[a] as number) * x;
    }
  }
  for (let t = 0; t < g.length; t++) g[t] = (g[t] as number) / m + l2 * (weights[t] as number);
  return g;
}

/** ‖∇L(θ)‖ of the mean loss over the m rows given (pass D \ S's rows for ‖∇L_{−S}‖). */
export function lossGradientNorm(model: LinearModel, features: Float32Array, labels: Uint8Array, m: number, l2: number): GradientNorm {
  checkSplit('lossGradientNorm', model, features, labels, m);
  const g = gradientFromLogits(logits(model, features), features, labels, m, model.d, model.A, model.weights, l2);
  return norms(g, model.d, model.A);
}

/**
 * ‖∇L_{−S}(θ* + ε·u)‖ for many ε: logits are linear in θ, so those of D \ S are computed once for
 * θ* and for u, and each ε costs one pass of residuals times features (no new logits).
 */
export class StepGradientNorms {
  private readonly zStar: Float64Array;
  private readonly zDir: Float64Array;

  constructor(
    readonly star: LinearModel,
    readonly direction: Float64Array,
    readonly features: Float32Array,
    readonly labels: Uint8Array,
    readonly m: number,
    readonly l2: number,
  ) {
    checkSplit('StepGradientNorms', star, features, labels, m);
    if (direction.length !== star.weights.length) {
      throw new SsseError('BAD_ARGUMENT', `StepGradientNorms: direction has ${direction.length} values, expected ${star.weights.length}`);
    }
    this.zStar = logits(star, features);
    this.zDir = logits({ d: star.d, A: star.A, weights: direction }, features);
  }

  at(epsilon: number): GradientNorm {
    const { d, A } = this.star;
    const z = new Float64Array(this.zStar.length);
    for (let i = 0; i < z.length; i++) z[i] = (this.zStar[i] as number) + epsilon * (this.zDir[i] as number);
    const w = new Float64Array(this.star.weights.length);
    for (let i = 0; i < w.length; i++) w[i] = (this.star.weights[i] as number) + epsilon * (this.direction[i] as number);
    return norms(gradientFromLogits(z, this.features, this.labels, this.m, d, A, w, this.l2), d, A);
  }
}

export interface RefineOptions extends RunControl {
  l2: number;
  /** Only fills trainLinear's unused random start; the warm start replaces it. */
  seed: number;
  /** trainLinear's certified relative accuracy (default 1e-6). */
  tolerance?: number;
  maxIterations?: number;
}

export interface RefineResult {
  model: LinearModel;
  /** Newton iterations per attribute from the warm start. */
  iterations: number[];
  /** ‖∇L_{−S}‖ at the start and at the end. */
  before: GradientNorm;
  after: GradientNorm;
}

/**
 * Exact erasure for the convex model: Newton's method on L_{−S} (the retained rows), started at
 * `start` (θ̂) instead of the random start, run to trainLinear's certified optimum. The result is
 * θ*_{−S} itself (unique by strict convexity) within `tolerance`, whatever the start; a good start
 * only saves iterations.
 */
export async function refineNewton(
  start: LinearModel,
  retainedFeatures: Float32Array,
  retainedLabels: Uint8Array,
  m: number,
  options: RefineOptions,
): Promise<RefineResult> {
  const { d, A } = start;
  checkSplit('refineNewton', start, retainedFeatures, retainedLabels, m);
  const before = lossGradientNorm(start, retainedFeatures, retainedLabels, m, options.l2);
  const result = await trainLinear(retainedFeatures, retainedLabels, m, d, A, {
    ...options,
    phase: 'refine',
    initialWeights: start.weights,
  });
  const after = lossGradientNorm(result.model, retainedFeatures, retainedLabels, m, options.l2);
  return { model: result.model, iterations: result.iterations, before, after };
}

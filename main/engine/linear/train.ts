import { SsseError } from '../errors.js';
import { blockedCholesky } from '../linalg/blockedCholesky.js';
import { choleskySolve } from '../linalg/cholesky.js';
import { weightedGramPanels } from '../linalg/gram.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import { mulberry32 } from '../data/random.js';
import { logits, sigmoid, softplus, type LinearModel } from './model.js';

export interface TrainOptions extends RunControl {
  /** L2 weight λ in ℓ_i = −log p + (λ/2)‖θ‖². Must be > 0 for the optimality certificate. */
  l2: number;
  /** Seeds the initial weights. The problem is strictly convex, so the optimum does not depend on it. */
  seed: number;
  /**
   * Guaranteed relative accuracy of the result in parameters. Each attribute's objective is
   * λ-strongly convex, so ‖w − w*‖ ≤ ‖∇L(w)‖ / λ; stopping once ‖∇L(w)‖ ≤ tolerance·λ·‖w‖
   * therefore bounds ‖w − w*‖/‖w‖ by `tolerance`. Default 1e-6.
   */
  tolerance?: number;
  maxIterations?: number;
  /** Progress phase name ('train' or 'retrain'). */
  phase?: string;
  /**
   * Start here instead of the seeded random start: A×d attribute-major, like LinearModel.weights
   * (copied, never modified). Used to warm-start Newton on L_{−S} from θ̂ or θ*; by strict
   * convexity the optimum, and the certificate above, do not depend on the start.
   */
  initialWeights?: Float64Array;
}

export interface TrainResult {
  model: LinearModel;
  /** Newton iterations per attribute. */
  iterations: number[];
  /** ‖∇L‖ per attribute at the returned point (float64). */
  gradientNorms: number[];
  /** The bound on ‖w − w*‖ per attribute: ‖∇L‖/λ. */
  errorBounds: number[];
}

/** Mean loss (1/n)Σ[softplus(z) − y·z] + (λ/2)‖w‖² for one attribute. */
function attributeLoss(z: Float64Array, y: Uint8Array, A: number, a: number, w: Float64Array, l2: number): number {
  const n = z.length;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const zi = z[i] as number;
    s += softplus(zi) - (y[i * A + a] as number) * zi;
  }
  let ww = 0;
  for (let j = 0; j < w.length; j++) ww += (w[j] as number) ** 2;
  return s / n + 0.5 * l2 * ww;
}

function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) ** 2;
  return Math.sqrt(s);
}

/** X·v for one weight vector, float64. */
function matVecRows(features: Float32Array, n: number, d: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const off = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += (features[off + j] as number) * (v[j] as number);
    out[i] = s;
  }
  return out;
}

/**
 * Trains the linear multi-attribute logistic model to its optimum by Newton's method with an
 * Armijo line search, one attribute at a time (the objective is separable across attributes).
 *
 * Numerics: gradients and losses in float64 (they decide where the iteration stops), the
 * Hessian product Xᵀ·diag(p(1−p))·X in float32 on the backend (it only steers the step; an
 * inexact Hessian slows convergence slightly but does not move the fixed point), and its
 * Cholesky factor by the blocked route (float32 backend products, float64 blocks) with the two
 * triangular solves in float64.
 */
export async function trainLinear(
  features: Float32Array,
  labels: Uint8Array,
  n: number,
  d: number,
  A: number,
  options: TrainOptions,
): Promise<TrainResult> {
  const { l2, seed } = options;
  const tolerance = options.tolerance ?? 1e-6;
  const maxIterations = options.maxIterations ?? 100;
  const phase = options.phase ?? 'train';
  if (!(l2 > 0)) throw new SsseError('BAD_ARGUMENT', `--l2: must be > 0 (got ${l2}); the optimum is then unique`);
  if (features.length !== n * d) throw new SsseError('BAD_ARGUMENT', `trainLinear: features has ${features.length} values, expected ${n}×${d}`);
  if (labels.length !== n * A) throw new SsseError('BAD_ARGUMENT', `trainLinear: labels has ${labels.length} values, expected ${n}×${A}`);
  if (n === 0) throw new SsseError('BAD_ARGUMENT', 'trainLinear: no training samples');

  const rand = mulberry32(seed);
  const weights = new Float64Array(A * d);
  // Small random start; by strict convexity the optimum does not depend on it.
  for (let i = 0; i < weights.length; i++) weights[i] = 0.01 * (2 * rand() - 1);
  if (options.initialWeights !== undefined) {
    const init = options.initialWeights;
    if (init.length !== A * d) {
      throw new SsseError('BAD_ARGUMENT', `trainLinear: initialWeights has ${init.length} values, expected A×d = ${A}×${d}`);
    }
    const bad = init.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new SsseError('BAD_ARGUMENT', `trainLinear: initialWeights[${bad}] is ${init[bad]}, expected a finite number`);
    weights.set(init);
  }
  const model: LinearModel = { d, A, weights };
  const iterations = new Array<number>(A).fill(0);
  const gradientNorms = new Array<number>(A).fill(Infinity);
  const progress = new Array<number>(A).fill(0);

  for (let a = 0; a < A; a++) {
    const w = weights.subarray(a * d, (a + 1) * d);
    const single: LinearModel = { d, A: 1, weights: w };
    let g0 = -1;
    for (;;) {
      throwIfCancelled(options, phase);
      // Recomputed each iteration rather than updated, so that rounding cannot accumulate.
      const z = logits(single, features);
      // Gradient (1/n)·Xᵀ(p − y) + λw and the Newton weights p(1 − p)/n.
      const g = new Float64Array(d);
      const h = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const p = sigmoid(z[i] as number);
        const r = p - (labels[i * A + a] as number);
        h[i] = (p * (1 - p)) / n;
        if (r === 0) continue;
        const off = i * d;
        for (let j = 0; j < d; j++) g[j] = (g[j] as number) + r * (features[off + j] as number);
      }
      for (let j = 0; j < d; j++) g[j] = (g[j] as number) / n + l2 * (w[j] as number);
      const gn = norm(g);
      gradientNorms[a] = gn;
      const target = tolerance * l2 * Math.max(norm(w), Number.MIN_VALUE);
      if (g0 < 0) g0 = gn;
      progress[a] = gn <= target ? 1 : Math.min(1, Math.max(0, Math.log(g0 / gn) / Math.log(g0 / target)));
      report(options, phase, progress.reduce((s, v) => s + v, 0), A);
      if (gn <= target) break;
      if (iterations[a]! >= maxIterations) {
        throw new SsseError(
          'NOT_CONVERGED',
          `${phase}: attribute ${a} did not converge in ${maxIterations} Newton iterations (‖∇L‖ = ${gn.toExponential(3)}, target ${target.toExponential(3)})`,
        );
      }
      const hess = weightedGramPanels(features, n, d, h, 1);
      for (let j = 0; j < d; j++) hess[j * d + j] = (hess[j * d + j] as number) + l2;
      const step = choleskySolve(blockedCholesky(hess, d, { what: `${phase} Hessian of attribute ${a}` }).l, d, g);
      for (let j = 0; j < d; j++) step[j] = -(step[j] as number);
      // Armijo backtracking on the float64 loss along the Newton direction.
      const xs = matVecRows(features, n, d, step);
      const f0 = attributeLoss(z, labels, A, a, w, l2);
      let slope = 0;
      for (let j = 0; j < d; j++) slope += (g[j] as number) * (step[j] as number);
      let t = 1;
      const trialW = new Float64Array(d);
      const trialZ = new Float64Array(n);
      // In the quadratic region the decrease is below float64 resolution of the loss; the
      // full Newton step is then the right one and the gradient test decides convergence.
      const resolvable = -slope > 1e-12 * Math.max(1, Math.abs(f0));
      for (let tries = 0; resolvable; tries++) {
        for (let j = 0; j < d; j++) trialW[j] = (w[j] as number) + t * (step[j] as number);
        for (let i = 0; i < n; i++) trialZ[i] = (z[i] as number) + t * (xs[i] as number);
        const f = attributeLoss(trialZ, labels, A, a, trialW, l2);
        if (f <= f0 + 1e-4 * t * slope || tries >= 30) break;
        t /= 2;
      }
      if (!resolvable) for (let j = 0; j < d; j++) trialW[j] = (w[j] as number) + (step[j] as number);
      w.set(trialW);
      iterations[a] = iterations[a]! + 1;
      await yieldToEventLoop();
    }
  }
  return { model, iterations, gradientNorms, errorBounds: gradientNorms.map((g) => g / l2) };
}

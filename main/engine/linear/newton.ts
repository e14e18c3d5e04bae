import { SsseError } from '../errors.js';
import { blockedCholesky } from '../linalg/blockedCholesky.js';
import { choleskySolve } from '../linalg/cholesky.js';
import { weightedGramPanels } from '../linalg/gram.js';
import { logits, sigmoid, softplus, type LinearModel } from './model.js';

/**
 * One attribute's Newton iteration (train.ts), as a generator so that the same code runs on the
 * calling thread (which reports progress and yields to the event loop between iterations) and on
 * a training worker (which posts its progress and checks a stop flag), with bit-identical results.
 */

/** What every thread training attributes of one model shares (all read-only). */
export interface NewtonProblem {
  /** n×d float32 features. */
  features: Float32Array;
  /** n×A 0/1 labels. */
  labels: Uint8Array;
  n: number;
  d: number;
  A: number;
  l2: number;
  tolerance: number;
  maxIterations: number;
  /** Progress phase name, also in error messages ('train' or 'retrain'). */
  phase: string;
}

/** Where an attribute stands after an iteration's gradient: its progress towards the target, 0…1. */
export interface NewtonProgress {
  progress: number;
}

export interface NewtonResult {
  iterations: number;
  /** ‖∇L‖ at the returned point (float64). */
  gradientNorm: number;
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

/**
 * Newton's method with an Armijo line search on attribute a's objective, from and into `w` (its d
 * weights, updated in place). Yields once per iteration, after the gradient, with the attribute's
 * progress (log-scale from the first gradient norm to the target); returns once ‖∇L‖ ≤
 * tolerance·λ·‖w‖. Throws NOT_CONVERGED after maxIterations Newton steps.
 */
export function* newtonAttribute(problem: NewtonProblem, a: number, w: Float64Array): Generator<NewtonProgress, NewtonResult, void> {
  const { features, labels, n, d, A, l2, tolerance, maxIterations, phase } = problem;
  const single: LinearModel = { d, A: 1, weights: w };
  let g0 = -1;
  let iterations = 0;
  for (;;) {
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
    const target = tolerance * l2 * Math.max(norm(w), Number.MIN_VALUE);
    if (g0 < 0) g0 = gn;
    yield { progress: gn <= target ? 1 : Math.min(1, Math.max(0, Math.log(g0 / gn) / Math.log(g0 / target))) };
    if (gn <= target) return { iterations, gradientNorm: gn };
    if (iterations >= maxIterations) {
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
    // X·step: the logits of a one-attribute model with weights `step`.
    const xs = logits({ d, A: 1, weights: step }, features);
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
    iterations++;
  }
}

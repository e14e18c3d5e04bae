import { currentBackend, type BackendName } from '../backend.js';
import { firstNonFinite } from '../data/finite.js';
import { mulberry32 } from '../data/random.js';
import { SsseError } from '../errors.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import type { WorkerPool } from '../workers/pool.js';
import { runTrainPool } from '../workers/trainPool.js';
import { checkWorkers, defaultWorkers } from './fisherBuild.js';
import type { LinearModel } from './model.js';
import { newtonAttribute, type NewtonProblem } from './newton.js';

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
  /**
   * Worker threads training attributes beside the calling thread (the objective is separable
   * across attributes; the result is bit for bit the same on any number of threads). Default:
   * defaultTrainWorkers, one per further core when the problem is large enough to repay a
   * worker's start.
   */
  workers?: number;
  /** Where worker threads come from and go back to (workers/pool.ts), e.g. a command's; default: started for this training alone. */
  pool?: WorkerPool;
}

/**
 * Below this many multiply-adds in one Newton iteration's Hessian (n·d²), a worker's start
 * (a thread, its modules and backend, about 65 ms here, then its first iterations while its code
 * warms up: about 0.2 s until it computes at full speed) costs more than the attributes it would train.
 * At 5e8 (e.g. 800 rows of 784 features) an attribute's Newton iterations take about 0.2–0.4 s
 * on the wasm backend.
 */
export const TRAIN_WORKERS_MIN_WORK = 5e8;

/** Worker threads for training: as for the Fisher build (one per further core, none for tfjs-node), when n·d² ≥ TRAIN_WORKERS_MIN_WORK. */
export function defaultTrainWorkers(backend: BackendName, n: number, d: number, A: number): number {
  return n * d * d < TRAIN_WORKERS_MIN_WORK ? 0 : defaultWorkers(backend, A);
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

/**
 * Trains the linear multi-attribute logistic model to its optimum by Newton's method with an
 * Armijo line search (linear/newton.ts), attribute by attribute (the objective is separable across
 * attributes): on the calling thread, or spread over worker threads (options.workers).
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
    const bad = firstNonFinite(init);
    if (bad >= 0) throw new SsseError('BAD_ARGUMENT', `trainLinear: initialWeights[${bad}] is ${init[bad]}, expected a finite number`);
    weights.set(init);
  }
  const model: LinearModel = { d, A, weights };
  const problem: NewtonProblem = { features, labels, n, d, A, l2, tolerance, maxIterations, phase };
  if (options.workers !== undefined) checkWorkers(options.workers);
  throwIfCancelled(options, phase);
  const backend = currentBackend();
  const workers = A < 2 || !backend ? 0 : (options.workers ?? defaultTrainWorkers(backend.name, n, d, A));
  if (workers > 0 && backend) {
    const pooled = await runTrainPool(problem, weights, { ...options, backend: backend.name, workers });
    return { model, iterations: pooled.iterations, gradientNorms: pooled.gradientNorms, errorBounds: pooled.gradientNorms.map((g) => g / l2) };
  }
  const iterations = new Array<number>(A).fill(0);
  const gradientNorms = new Array<number>(A).fill(Infinity);
  const progress = new Array<number>(A).fill(0);
  for (let a = 0; a < A; a++) {
    const run = newtonAttribute(problem, a, weights.subarray(a * d, (a + 1) * d));
    for (;;) {
      throwIfCancelled(options, phase);
      const step = run.next();
      if (step.done) {
        iterations[a] = step.value.iterations;
        gradientNorms[a] = step.value.gradientNorm;
        break;
      }
      progress[a] = step.value.progress;
      report(options, phase, progress.reduce((s, v) => s + v, 0), A);
      await yieldToEventLoop();
    }
  }
  return { model, iterations, gradientNorms, errorBounds: gradientNorms.map((g) => g / l2) };
}

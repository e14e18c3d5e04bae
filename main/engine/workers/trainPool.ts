import type { BackendName } from '../backend.js';
import { SsseError } from '../errors.js';
import { newtonAttribute, type NewtonProblem } from '../linear/newton.js';
import { report, yieldToEventLoop, type RunControl } from '../progress.js';
import { sharedCopy } from './fisherPool.js';
import { JobEnd, runWorkerJob, type WorkerPool } from './pool.js';
import { TRAIN_NEXT, TRAIN_STOP, type TrainJobData } from './trainMessages.js';

/**
 * Trains a linear model's attributes on several threads: W worker threads, each with its own tfjs
 * backend, and this thread. Each thread claims the next attribute from a shared counter when it is
 * free and runs the same Newton iteration on it (linear/newton.ts), in place in shared weights, so
 * the result is bit for bit that of training the attributes one after another on this thread.
 * Progress is reported per Newton iteration of any thread; cancelling stops every thread at its
 * next iteration; any thread's error (NOT_CONVERGED, say) ends the whole training with that error.
 */
export interface TrainPoolOptions extends RunControl {
  backend: BackendName;
  /** Worker threads (≥ 1) beside this one. */
  workers: number;
  /** Where the workers come from and go back to (pool.ts); default: started for this training and ended with it. */
  pool?: WorkerPool | undefined;
  /** Whether this thread trains attributes too (default true); false leaves them all to the workers (tests). */
  mainThread?: boolean;
}

export interface TrainPoolResult {
  /** Newton iterations per attribute. */
  iterations: number[];
  /** ‖∇L‖ per attribute at the returned point. */
  gradientNorms: number[];
  /** Attributes trained by each thread: this one first, then each worker. */
  attributesByThread: number[];
}

/**
 * Trains every attribute of `problem` from `weights` (A×d, attribute-major), writing each
 * attribute's optimum back into `weights` once all are trained (on failure or cancellation it is
 * left as it was).
 */
export async function runTrainPool(problem: NewtonProblem, weights: Float64Array, options: TrainPoolOptions): Promise<TrainPoolResult> {
  const { d, A, phase } = problem;
  if (weights.length !== A * d) throw new SsseError('BAD_ARGUMENT', `runTrainPool: weights has ${weights.length} values, expected A×d = ${A}×${d}`);
  const mainThread = options.mainThread ?? true;
  const count = Math.max(1, Math.min(Math.floor(options.workers), mainThread ? A - 1 : A));
  const features = sharedCopy(problem.features);
  const labels = sharedCopy(problem.labels);
  const shared = new Float64Array(new SharedArrayBuffer(A * d * 8));
  shared.set(weights);
  const control = new Int32Array(new SharedArrayBuffer(2 * 4));
  const progress = new Array<number>(A).fill(0);
  const iterations = new Array<number>(A).fill(0);
  const gradientNorms = new Array<number>(A).fill(Infinity);
  const attributesByThread = new Array<number>(count + 1).fill(0);
  let done = 0;
  const end = new JobEnd(phase, options.signal, () => Atomics.store(control, TRAIN_STOP, 1));
  const reportAll = (): void => report(options, phase, progress.reduce((s, v) => s + v, 0), A);
  const trained = (a: number, thread: number, its: number, gradientNorm: number): void => {
    iterations[a] = its;
    gradientNorms[a] = gradientNorm;
    progress[a] = 1;
    attributesByThread[thread] = (attributesByThread[thread] as number) + 1;
    done++;
    reportAll();
    if (done === A) end.finish(null);
  };
  const job: TrainJobData = {
    ...problem,
    features: features.buffer as SharedArrayBuffer,
    labels: labels.buffer as SharedArrayBuffer,
    weights: shared.buffer as SharedArrayBuffer,
    control: control.buffer as SharedArrayBuffer,
  };
  await runWorkerJob({
    pool: options.pool,
    backend: options.backend,
    count,
    end,
    what: 'training worker',
    task: 'training',
    start: () => ({ type: 'train', job }),
    onMessage: (w, message) => {
      if (message.type === 'progress') {
        progress[message.a] = message.progress;
        reportAll();
      } else if (message.type === 'trained') trained(message.a, w + 1, message.iterations, message.gradientNorm);
    },
    run: async () => {
      const own: NewtonProblem = { ...problem, features, labels };
      while (mainThread && !end.isSettled) {
        const a = Atomics.add(control, TRAIN_NEXT, 1);
        if (a >= A) break;
        const run = newtonAttribute(own, a, shared.subarray(a * d, (a + 1) * d));
        for (let step = run.next(); !end.isSettled; step = run.next()) {
          if (step.done) {
            trained(a, 0, step.value.iterations, step.value.gradientNorm);
            break;
          }
          progress[a] = step.value.progress;
          reportAll();
          // The workers' messages, their errors and a cancellation are handled here.
          await yieldToEventLoop();
        }
      }
    },
  });
  weights.set(shared);
  return { iterations, gradientNorms, attributesByThread };
}

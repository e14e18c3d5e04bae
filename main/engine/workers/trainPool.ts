import type { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend.js';
import { CancelledError, SsseError } from '../errors.js';
import { newtonAttribute, type NewtonProblem } from '../linear/newton.js';
import { report, yieldToEventLoop, type RunControl } from '../progress.js';
import { sharedCopy } from './fisherPool.js';
import { startEngineWorker } from './start.js';
import { TRAIN_NEXT, TRAIN_STOP, type FromTrainWorker, type TrainWorkerData } from './trainMessages.js';

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
  let settled = false;
  let failure: Error | null = null;
  let onSettled: (() => void) | null = null;
  const finish = (error: Error | null): void => {
    if (settled) return;
    settled = true;
    failure = error;
    Atomics.store(control, TRAIN_STOP, 1);
    options.signal?.removeEventListener('abort', onAbort);
    onSettled?.();
  };
  const onAbort = (): void => finish(new CancelledError(phase));
  const reportAll = (): void => report(options, phase, progress.reduce((s, v) => s + v, 0), A);
  const trained = (a: number, thread: number, its: number, gradientNorm: number): void => {
    iterations[a] = its;
    gradientNorms[a] = gradientNorm;
    progress[a] = 1;
    attributesByThread[thread] = (attributesByThread[thread] as number) + 1;
    done++;
    reportAll();
    if (done === A) finish(null);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  const workers: Worker[] = [];
  try {
    const data: TrainWorkerData = {
      ...problem,
      backend: options.backend,
      features: features.buffer as SharedArrayBuffer,
      labels: labels.buffer as SharedArrayBuffer,
      weights: shared.buffer as SharedArrayBuffer,
      control: control.buffer as SharedArrayBuffer,
    };
    for (let w = 0; w < count && !settled; w++) {
      const worker = startEngineWorker('trainWorker', data);
      workers.push(worker);
      worker.on('message', (message: FromTrainWorker) => {
        if (settled) return;
        if (message.type === 'progress') {
          progress[message.a] = message.progress;
          reportAll();
        } else if (message.type === 'done') {
          trained(message.a, w + 1, message.iterations, message.gradientNorm);
        } else {
          finish(new SsseError(message.code ?? 'RESOURCE', message.code ? message.message : `training worker failed: ${message.message}`));
        }
      });
      worker.on('error', (e) => finish(new SsseError('RESOURCE', `training worker failed: ${e.message}`)));
      // A worker that found no attribute left ends on its own (code 0), its messages delivered first.
      worker.on('exit', (code) => {
        if (!settled && code !== 0) finish(new SsseError('RESOURCE', `a training worker exited (code ${code}) before training finished; out of memory?`));
      });
    }
    const own: NewtonProblem = { ...problem, features, labels };
    while (mainThread && !settled) {
      const a = Atomics.add(control, TRAIN_NEXT, 1);
      if (a >= A) break;
      try {
        const run = newtonAttribute(own, a, shared.subarray(a * d, (a + 1) * d));
        for (let step = run.next(); !settled; step = run.next()) {
          if (step.done) {
            trained(a, 0, step.value.iterations, step.value.gradientNorm);
            break;
          }
          progress[a] = step.value.progress;
          reportAll();
          // The workers' messages, their errors and a cancellation are handled here.
          await yieldToEventLoop();
        }
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (!settled) await new Promise<void>((resolve) => (onSettled = resolve));
  } finally {
    finish(failure ?? new CancelledError(phase)); // no-op when settled
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure) throw failure;
  weights.set(shared);
  return { iterations, gradientNorms, attributesByThread };
}

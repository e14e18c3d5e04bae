import type { BackendName } from '../backend.js';
import { SsseError } from '../errors.js';
import type { CurvePoint } from '../nn/calibrate.js';
import type { Network } from '../nn/network.js';
import type { ClassData, TrainResult } from '../nn/train.js';
import { report, type RunControl } from '../progress.js';
import { sharedCopy } from './fisherPool.js';
import { TRAIN_RUN_NEXT, TRAIN_RUN_STOP, type NnEvaluationData, type NnTrainRun, type NnTrainSource } from './nnTrainMessages.js';
import { trainRun, type NnEvaluation } from './nnTrainTask.js';
import { JobEnd, runWorkerJob, type WorkerPool } from './pool.js';

export interface NnTrainPoolOptions extends RunControl {
  backend: BackendName;
  /** Worker threads beside this one (0: every run here, one after another). */
  workers: number;
  pool?: WorkerPool | undefined;
  /** The progress phase (one bar for all the runs). */
  phase: string;
  /** What the runs with a direction sweep against (nnTrainTask.ts trainRun); absent when none has one. */
  evaluation?: NnEvaluation;
}

export interface NnTrainings {
  /** The runs' results, in the order of the runs. */
  results: TrainResult[];
  /** Each run's sweep curve (null for a run without a direction). */
  curves: (CurvePoint[] | null)[];
  /** Which thread trained each run: 0 this one, w + 1 worker w. */
  threadOf: number[];
}

/** Progress of several runs as one bar: each run's share of its work, in thousandths of a run. */
class RunsProgress {
  private readonly fractions: number[];

  constructor(
    private readonly control: RunControl,
    private readonly phase: string,
    runs: number,
  ) {
    this.fractions = new Array<number>(runs).fill(0);
    report(control, phase, 0, 1000 * runs);
  }

  set(run: number, done: number, total: number): void {
    this.fractions[run] = total > 0 ? done / total : 1;
    const sum = this.fractions.reduce((a, b) => a + b, 0);
    report(this.control, this.phase, Math.floor(1000 * sum), 1000 * this.fractions.length);
  }
}

/** The evaluation data on SharedArrayBuffers, for the workers. */
function sharedEvaluation(e: NnEvaluation): NnEvaluationData {
  return {
    thetaStar: sharedCopy(e.thetaStar).buffer as SharedArrayBuffer,
    grid: e.grid,
    test: e.test ? { features: sharedCopy(e.test.features).buffer as SharedArrayBuffer, classIds: sharedCopy(e.test.classIds).buffer as SharedArrayBuffer, n: e.test.n } : null,
  };
}

/**
 * Trains `runs` (nnTrainMessages.ts), and sweeps those with a direction, on `net` (this thread,
 * whose network `source` describes for the workers) and `workers` pool workers, each run taken by
 * whichever thread is free; returns the results in the order of `runs`, each with the bits it has
 * when done here alone. `net` holds whatever parameters this thread set last. A failure on any
 * thread ends them all with that error; cancelling stops every run at its next step.
 */
export async function runNnTrainings(net: Network, data: ClassData, source: NnTrainSource, runs: NnTrainRun[], options: NnTrainPoolOptions): Promise<NnTrainings> {
  const progress = new RunsProgress(options, options.phase, runs.length);
  const results: (TrainResult | null)[] = runs.map(() => null);
  const curves: (CurvePoint[] | null)[] = runs.map(() => null);
  const threadOf = runs.map(() => 0);
  const evaluation = options.evaluation ?? null;
  const workers = Math.max(0, Math.min(Math.floor(options.workers), runs.length - 1));
  const runHere = async (r: number, signal: AbortSignal | undefined): Promise<void> => {
    const done = await trainRun(net, data, runs[r] as NnTrainRun, evaluation, options.phase, {
      ...(signal ? { signal } : {}),
      onProgress: (d, total) => progress.set(r, d, total),
    });
    results[r] = done.result;
    curves[r] = done.curve;
  };
  if (workers === 0) {
    for (let r = 0; r < runs.length; r++) await runHere(r, options.signal);
    return { results: results as TrainResult[], curves, threadOf };
  }

  const features = sharedCopy(data.features);
  const classIds = sharedCopy(data.classIds);
  const shared = evaluation ? sharedEvaluation(evaluation) : null;
  const control = new Int32Array(new SharedArrayBuffer(2 * 4));
  // This thread's run stops when the job ends early (a worker failed, or the request was cancelled).
  const here = new AbortController();
  const end = new JobEnd(options.phase, options.signal, () => {
    Atomics.store(control, TRAIN_RUN_STOP, 1);
    here.abort();
  });
  const finishIfDone = (): void => {
    if (results.every((x) => x !== null)) end.finish(null);
  };
  await runWorkerJob({
    pool: options.pool,
    backend: options.backend,
    count: workers,
    end,
    what: 'training worker',
    task: 'training',
    start: () => ({
      type: 'nn-train',
      job: {
        source,
        runs,
        features: features.buffer as SharedArrayBuffer,
        classIds: classIds.buffer as SharedArrayBuffer,
        n: data.n,
        control: control.buffer as SharedArrayBuffer,
        phase: options.phase,
        evaluation: shared,
      },
    }),
    onMessage: (w, message) => {
      if (message.type === 'nn-train-progress') progress.set(message.run, message.done, message.total);
      else if (message.type === 'nn-trained') {
        results[message.run] = { theta: message.theta, epochLoss: message.epochLoss, steps: message.steps };
        curves[message.run] = message.curve;
        threadOf[message.run] = w + 1;
        progress.set(message.run, 1, 1);
        finishIfDone();
      }
    },
    run: async () => {
      for (;;) {
        if (end.isSettled) return;
        const r = Atomics.add(control, TRAIN_RUN_NEXT, 1);
        if (r >= runs.length) break;
        await runHere(r, here.signal);
      }
      finishIfDone();
    },
  });
  if (results.some((x) => x === null)) throw new SsseError('RESOURCE', `${options.phase}: a training ended without its result`);
  return { results: results as TrainResult[], curves, threadOf };
}

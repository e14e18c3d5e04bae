import { SsseError } from '../errors.js';
import { trialSweep, type CurvePoint } from '../nn/calibrate.js';
import { complementRows, removalSplits } from '../nn/evaluate.js';
import { loadLayersModelFromFiles } from '../nn/loadModel.js';
import { disposeNetwork, type Network } from '../nn/network.js';
import { buildNetwork } from '../nn/spec.js';
import { trainNetwork, type ClassData, type TrainResult } from '../nn/train.js';
import { TRAIN_RUN_NEXT, TRAIN_RUN_STOP, type FromNnTrainJob, type NnTrainJobData, type NnTrainRun, type NnTrainSource } from './nnTrainMessages.js';

/** Steps between a worker's progress messages (train.ts yields to its event loop as often). */
const PROGRESS_EVERY = 16;

/** The network a source names, built (a spec) or loaded and checked against the main thread's (a file). */
export async function networkOf(source: NnTrainSource): Promise<Network> {
  if (source.kind === 'spec') return buildNetwork(source.spec, source.inputShape, source.classes);
  const loaded = await loadLayersModelFromFiles(source.path);
  if (loaded.sha256 !== source.sha256) {
    disposeNetwork(loaded.net);
    throw new SsseError('BAD_INPUT', `${source.path}: the model file changed during the erasure (SHA-256 ${loaded.sha256}, was ${source.sha256})`);
  }
  return loaded.net;
}

/** What a run's sweep reads (nnTrainMessages.ts NnEvaluationData, as arrays). */
export interface NnEvaluation {
  thetaStar: Float32Array;
  grid: number[];
  test: ClassData | null;
}

export interface TrainedRun {
  result: TrainResult;
  curve: CurvePoint[] | null;
}

/**
 * One run, on whichever thread: trained on `net`, then, with a direction, swept over the grid
 * against the model it gave (calibrate.ts trialSweep, on the splits erase.ts's evaluationSplits
 * gives: S_t as drawn, D \ S_t ascending, the whole test set). Progress: the training's steps,
 * then the sweep's points, as one count.
 */
export async function trainRun(
  net: Network,
  data: ClassData,
  run: NnTrainRun,
  evaluation: NnEvaluation | null,
  phase: string,
  control: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<TrainedRun> {
  const sweep = run.direction && evaluation ? { direction: run.direction, evaluation } : null;
  if (run.direction && !evaluation) throw new SsseError('BAD_ARGUMENT', `${phase}: a run with a direction needs θ*, the grid and the test set to sweep`);
  const extra = sweep ? sweep.evaluation.grid.length : 0;
  let trainTotal = 0;
  const signal = control.signal ? { signal: control.signal } : {};
  const result = await trainNetwork(net, data, run.sgd, {
    exclude: run.exclude,
    ...(run.init ? { init: run.init } : {}),
    phase,
    ...signal,
    onProgress: (e) => {
      trainTotal = e.total;
      control.onProgress?.(e.done, e.total + extra);
    },
  });
  if (!sweep) return { result, curve: null };
  const splits = removalSplits(data, sweep.evaluation.test, run.exclude, complementRows(data.n, run.exclude));
  const { curve } = trialSweep(net, sweep.evaluation.thetaStar, sweep.direction, result.theta, splits, sweep.evaluation.grid, {
    ...signal,
    onProgress: (e) => control.onProgress?.(trainTotal + e.done, trainTotal + extra),
  });
  return { result, curve };
}

/**
 * A worker's part of a training job: claims runs until none is left or the job stops, training
 * (and sweeping) each and sending its parameters back (the buffer moved). A stop set while a run
 * trains ends it at its next step.
 */
export async function nnTrainJob(data: NnTrainJobData, post: (message: FromNnTrainJob, transfer?: ArrayBuffer[]) => void): Promise<void> {
  const control = new Int32Array(data.control);
  const classData: ClassData = { features: new Float32Array(data.features), classIds: new Int32Array(data.classIds), n: data.n };
  const ev = data.evaluation;
  const evaluation: NnEvaluation | null = ev
    ? {
        thetaStar: new Float32Array(ev.thetaStar),
        grid: ev.grid,
        test: ev.test ? { features: new Float32Array(ev.test.features), classIds: new Int32Array(ev.test.classIds), n: ev.test.n } : null,
      }
    : null;
  const net = await networkOf(data.source);
  try {
    for (;;) {
      if (Atomics.load(control, TRAIN_RUN_STOP) !== 0) return;
      const r = Atomics.add(control, TRAIN_RUN_NEXT, 1);
      const run = data.runs[r];
      if (!run) return;
      const stop = new AbortController();
      let sent = 0;
      const { result, curve } = await trainRun(net, classData, run, evaluation, data.phase, {
        signal: stop.signal,
        onProgress: (done, total) => {
          if (Atomics.load(control, TRAIN_RUN_STOP) !== 0) stop.abort();
          else if (done - sent >= PROGRESS_EVERY || done === total) {
            sent = done;
            post({ type: 'nn-train-progress', run: r, done, total });
          }
        },
      });
      post({ type: 'nn-trained', run: r, theta: result.theta, epochLoss: result.epochLoss, steps: result.steps, curve }, [result.theta.buffer as ArrayBuffer]);
    }
  } finally {
    disposeNetwork(net);
  }
}

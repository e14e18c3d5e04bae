import { SsseError } from '../errors.js';
import { loadLayersModelFromFiles } from '../nn/loadModel.js';
import { disposeNetwork, type Network } from '../nn/network.js';
import { buildNetwork } from '../nn/spec.js';
import { trainNetwork, type ClassData } from '../nn/train.js';
import { TRAIN_RUN_NEXT, TRAIN_RUN_STOP, type FromNnTrainJob, type NnTrainJobData, type NnTrainSource } from './nnTrainMessages.js';

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

/**
 * A worker's part of a training job: claims runs until none is left or the job stops, training
 * each and sending its parameters back (the buffer moved). A stop set while a run trains ends it
 * at its next step.
 */
export async function nnTrainJob(data: NnTrainJobData, post: (message: FromNnTrainJob, transfer?: ArrayBuffer[]) => void): Promise<void> {
  const control = new Int32Array(data.control);
  const classData: ClassData = { features: new Float32Array(data.features), classIds: new Int32Array(data.classIds), n: data.n };
  const net = await networkOf(data.source);
  try {
    for (;;) {
      if (Atomics.load(control, TRAIN_RUN_STOP) !== 0) return;
      const r = Atomics.add(control, TRAIN_RUN_NEXT, 1);
      const run = data.runs[r];
      if (!run) return;
      const stop = new AbortController();
      const result = await trainNetwork(net, classData, run.sgd, {
        exclude: run.exclude,
        ...(run.init ? { init: run.init } : {}),
        phase: data.phase,
        signal: stop.signal,
        onProgress: (e) => {
          if (Atomics.load(control, TRAIN_RUN_STOP) !== 0) stop.abort();
          else if (e.done % PROGRESS_EVERY === 0 || e.done === e.total) post({ type: 'nn-train-progress', run: r, done: e.done, total: e.total });
        },
      });
      post({ type: 'nn-trained', run: r, theta: result.theta, epochLoss: result.epochLoss, steps: result.steps }, [result.theta.buffer as ArrayBuffer]);
    }
  } finally {
    disposeNetwork(net);
  }
}

import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.js';
import { isSsseError } from '../errors.js';
import { newtonAttribute, type NewtonProblem } from '../linear/newton.js';
import { TRAIN_NEXT, TRAIN_STOP, type FromTrainWorker, type TrainWorkerData } from './trainMessages.js';

/**
 * A training worker: its own tfjs backend and the shared data; it claims attributes from the
 * shared counter until none is left, trains each in place in the shared weights, and answers
 * 'progress' per Newton iteration and 'done' per attribute (or 'error'). Between iterations it
 * checks the stop flag; the pool also ends it with terminate().
 */
const port = parentPort;
const data = workerData as TrainWorkerData;

function send(message: FromTrainWorker): void {
  port?.postMessage(message);
}

async function main(): Promise<void> {
  if (!port) throw new Error('trainWorker must run in a worker thread');
  await initBackend(data.backend);
  const { d, A } = data;
  const control = new Int32Array(data.control);
  const weights = new Float64Array(data.weights);
  const problem: NewtonProblem = { ...data, features: new Float32Array(data.features), labels: new Uint8Array(data.labels) };
  for (;;) {
    if (Atomics.load(control, TRAIN_STOP) !== 0) return;
    const a = Atomics.add(control, TRAIN_NEXT, 1);
    if (a >= A) return;
    const run = newtonAttribute(problem, a, weights.subarray(a * d, (a + 1) * d));
    for (let step = run.next(); ; step = run.next()) {
      if (step.done) {
        send({ type: 'done', a, iterations: step.value.iterations, gradientNorm: step.value.gradientNorm });
        break;
      }
      if (Atomics.load(control, TRAIN_STOP) !== 0) return;
      send({ type: 'progress', a, progress: step.value.progress });
    }
  }
}

main().catch((e: unknown) => {
  send({ type: 'error', code: isSsseError(e) ? e.code : null, message: e instanceof Error ? e.message : String(e) });
});

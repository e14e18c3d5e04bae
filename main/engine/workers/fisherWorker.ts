import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.js';
import { isSsseError } from '../errors.js';
import { Workspace } from '../linalg/workspace.js';
import { computeFisherBlock, type FisherBlockJob } from './fisherBlockTask.js';
import { CONTROL_NEXT, CONTROL_STOP, SLOT_FULL, type FisherWorkerData, type FromWorker, type ToWorker } from './fisherMessages.js';

/**
 * A Fisher worker: its own tfjs backend, the shared features and weights, and the shared store
 * it writes finished blocks into. Once it has the weights it claims blocks from the shared
 * counter until none is left, answering 'done' for each (or 'error').
 * The pool ends it with terminate(), which also serves as cancellation; the stop flag makes it
 * give up a wait for a slot.
 */
const port = parentPort;
const data = workerData as FisherWorkerData;

function send(message: FromWorker): void {
  port?.postMessage(message);
}

function fail(e: unknown): void {
  send({ type: 'error', code: isSsseError(e) ? e.code : null, message: e instanceof Error ? e.message : String(e) });
}

function claimBlocks(weights: Float64Array): void {
  const { n, d, A } = data;
  const control = new Int32Array(data.control);
  const store = new Float32Array(data.store);
  const state = data.slots ? new Int32Array(data.slots.state) : null;
  const job: FisherBlockJob = { ...data, features: new Float32Array(data.features), weights };
  const column = new Float64Array(n);
  const workspace = new Workspace();
  let turn = 0;
  for (;;) {
    if (Atomics.load(control, CONTROL_STOP) !== 0) return;
    const a = Atomics.add(control, CONTROL_NEXT, 1);
    if (a >= A) break;
    let slot = a;
    if (data.slots && state) {
      slot = data.slots.own[turn++ % 2] as number;
      // Wait until the main thread has handed the block written here two blocks ago to its sink.
      while (Atomics.load(state, slot) === SLOT_FULL) {
        if (Atomics.load(control, CONTROL_STOP) !== 0) return;
        Atomics.wait(state, slot, SLOT_FULL, 100);
      }
    }
    // Straight into its slot of the shared store: no copy of the block, none sent back.
    const seconds = computeFisherBlock(job, a, store.subarray(slot * d * d, (slot + 1) * d * d), column, workspace);
    if (state) Atomics.store(state, slot, SLOT_FULL);
    send({ type: 'done', a, slot, seconds });
  }
}

async function main(): Promise<void> {
  if (!port) throw new Error('fisherWorker must run in a worker thread');
  await initBackend(data.backend);
  let weights = data.weights ? new Float64Array(data.weights) : null;
  let started = false;
  const start = (): void => {
    if (started || !weights) return;
    started = true;
    try {
      claimBlocks(weights);
    } catch (e) {
      fail(e);
    }
  };
  port.on('message', (message: ToWorker) => {
    if (message.type === 'weights') {
      weights = new Float64Array(message.weights);
      start();
    }
  });
  send({ type: 'ready' });
  start();
}

main().catch(fail);

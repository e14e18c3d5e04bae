import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.js';
import { collectAfterBlock } from '../memory.js';
import { isSsseError } from '../errors.js';
import { newtonAttribute, type NewtonProblem } from '../linear/newton.js';
import { Workspace } from '../linalg/workspace.js';
import type { PoolWorkerData, FromPoolWorker, ToPoolWorker } from './poolMessages.js';
import { computeFisherBlock, type FisherBlockJob } from './fisherBlockTask.js';
import { CONTROL_NEXT, CONTROL_STOP, SLOT_FULL, type FisherJobData } from './fisherMessages.js';
import { TRAIN_NEXT, TRAIN_STOP, type TrainJobData } from './trainMessages.js';
import { factorBlock, type BlockFactor } from '../nn/blockFisher.js';
import type { NnFactorBlock, NnFactorJobData } from './nnFactorMessages.js';
import { nnTrainJob } from './nnTrainTask.js';

/**
 * A pool worker (poolMessages.ts): its own tfjs backend, started once; then, for as long as
 * its pool keeps it, one job at a time. A job claims work (Fisher blocks, or attributes to train)
 * from its shared counter until none is left or its stop flag is set, and is followed by 'idle'.
 * The pool ends a worker with terminate(), which is also how a cancelled or failed job stops at once.
 */
const port = parentPort;
const { backend } = workerData as PoolWorkerData;

function send(message: FromPoolWorker): void {
  port?.postMessage(message);
}

function fail(e: unknown): void {
  send({ type: 'error', code: isSsseError(e) ? e.code : null, message: e instanceof Error ? e.message : String(e) });
}

/** Claims blocks of F̂⁻¹ until none is left, writing each into its slot of the shared store. */
function fisherJob(data: FisherJobData): void {
  const { n, d, A } = data;
  const control = new Int32Array(data.control);
  const store = new Float32Array(data.store);
  const state = data.slots ? new Int32Array(data.slots.state) : null;
  const job: FisherBlockJob = { ...data, features: new Float32Array(data.features), theta: new Float64Array(data.theta), labels: new Uint8Array(data.labels) };
  const column = new Float64Array(n);
  const workspace = new Workspace();
  let turn = 0;
  for (;;) {
    if (Atomics.load(control, CONTROL_STOP) !== 0) return;
    const a = Atomics.add(control, CONTROL_NEXT, 1);
    if (a >= A) return;
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
    send({ type: 'block', a, slot, seconds });
  }
}

/** Claims attributes until none is left, training each in place in the shared weights. */
function trainJob(data: TrainJobData): void {
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
        send({ type: 'trained', a, iterations: step.value.iterations, gradientNorm: step.value.gradientNorm });
        break;
      }
      if (Atomics.load(control, TRAIN_STOP) !== 0) return;
      send({ type: 'progress', a, progress: step.value.progress });
    }
  }
}

/** The settings of the network Fisher job this worker is in ('nn-factor' … 'nn-factor-end'), or null. */
let nnJob: NnFactorJobData | null = null;

/** One block of a network Fisher: its factor, sent back with its columns (both buffers moved, not copied). */
function nnFactorBlock(block: NnFactorBlock): void {
  if (!nnJob) throw new Error('nn-factor-block outside an nn-factor job');
  const t0 = performance.now();
  const [factor] = factorBlock(block.gb, nnJob.N, block.b, [nnJob.damping], block.method, block.what);
  const computed = (factor as BlockFactor).matrix;
  // Its own buffer (cholesky allocates one) moves to the main thread; a view is copied first.
  const matrix = computed.byteOffset === 0 && computed.byteLength === computed.buffer.byteLength ? computed : computed.slice();
  const message: FromPoolWorker = { type: 'nn-factor', bi: block.bi, matrix, gb: block.gb, seconds: (performance.now() - t0) / 1000 };
  port?.postMessage(message, [matrix.buffer as ArrayBuffer, block.gb.buffer as ArrayBuffer]);
  collectAfterBlock(); // the block's dropped arrays, before the next block's (memory.ts)
}

function runJob(run: () => void): void {
  try {
    run();
  } catch (e) {
    fail(e);
  }
  send({ type: 'idle' });
}

function handle(message: ToPoolWorker): void {
  switch (message.type) {
    case 'train':
      return runJob(() => trainJob(message.job));
    case 'fisher':
      return runJob(() => fisherJob(message.job));
    case 'nn-factor':
      // A job of many messages: its 'idle' answers its 'nn-factor-end'.
      nnJob = message.job;
      return;
    case 'nn-factor-block':
      try {
        nnFactorBlock(message.block);
      } catch (e) {
        fail(e);
      }
      return;
    case 'nn-factor-end':
      nnJob = null;
      send({ type: 'idle' });
      return;
    case 'nn-train':
      // Asynchronous (training yields to the event loop): 'idle' once it has stopped claiming runs.
      void nnTrainJob(message.job, (m, transfer) => port?.postMessage(m, transfer ?? []))
        .catch(fail)
        .finally(() => send({ type: 'idle' }));
      return;
  }
}

async function main(): Promise<void> {
  if (!port) throw new Error('poolWorker must run in a worker thread');
  // Jobs that arrive while the backend starts wait for it, in order.
  const early: ToPoolWorker[] = [];
  let ready = false;
  port.on('message', (message: ToPoolWorker) => (ready ? handle(message) : early.push(message)));
  await initBackend(backend);
  ready = true;
  send({ type: 'ready' });
  for (const message of early.splice(0)) handle(message);
}

main().catch(fail);

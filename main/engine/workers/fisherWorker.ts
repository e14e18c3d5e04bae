import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.js';
import { isSsseError } from '../errors.js';
import { Workspace } from '../linalg/workspace.js';
import { fastFisherBlock } from '../linear/fisherFast.js';
import { collectGarbage } from '../memory.js';
import type { FisherWorkerData, FromWorker, ToWorker } from './fisherMessages.js';

/**
 * A Fisher worker: its own tfjs backend, the shared features and weights, and the shared store
 * it writes finished blocks into. It computes one block per 'block' message and answers 'done'
 * (or 'error'); the pool ends it with terminate(), which also serves as cancellation.
 */
const port = parentPort;
const data = workerData as FisherWorkerData;

function send(message: FromWorker): void {
  port?.postMessage(message);
}

function fail(e: unknown): void {
  send({ type: 'error', code: isSsseError(e) ? e.code : null, message: e instanceof Error ? e.message : String(e) });
}

async function main(): Promise<void> {
  if (!port) throw new Error('fisherWorker must run in a worker thread');
  await initBackend(data.backend);
  const { n, d, A } = data;
  const features = new Float32Array(data.features);
  let weights = data.weights ? new Float64Array(data.weights) : null;
  const store = new Float32Array(data.store);
  const column = new Float64Array(n);
  const workspace = new Workspace();
  port.on('message', (message: ToWorker) => {
    try {
      if (message.type === 'weights') {
        weights = new Float64Array(message.weights);
        return;
      }
      if (!weights) throw new Error('a block was asked for before the weights arrived');
      const t0 = performance.now();
      const a = message.a;
      for (let i = 0; i < n; i++) column[i] = weights[i * A + a] as number;
      // Straight into its slot of the shared store: no copy of the block, none sent back.
      fastFisherBlock(features, n, d, column, data.N, data.damping, {
        workspace,
        out: store.subarray(message.slot * d * d, (message.slot + 1) * d * d),
        ...(data.block !== undefined ? { block: data.block } : {}),
        ...(data.gramPlan !== undefined ? { gramPlan: data.gramPlan } : {}),
      });
      collectGarbage(); // see memory.ts: keeps this thread's peak near its live memory
      send({ type: 'done', a, seconds: (performance.now() - t0) / 1e3 });
    } catch (e) {
      fail(e);
    }
  });
  send({ type: 'ready' });
}

main().catch(fail);

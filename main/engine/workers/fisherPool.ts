import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend.js';
import { CancelledError, SsseError } from '../errors.js';
import type { GramPlan } from '../linalg/gram.js';
import { report, throwIfCancelled, type RunControl } from '../progress.js';
import type { FisherWorkerData, FromWorker } from './fisherMessages.js';

/**
 * Spreads the blocks of F̂⁻¹ over worker threads, each with its own tfjs backend (the wasm and
 * cpu backends compute on one thread each in Node, so W workers use W cores). Blocks are handed
 * out one at a time as workers finish, so uneven blocks still balance. Cancelling terminates the
 * workers at once; a worker's error ends the whole build with that error.
 */
export interface PoolOptions extends RunControl {
  backend: BackendName;
  workers: number;
  N: number;
  damping: number;
  block?: number;
  gramPlan?: GramPlan;
  /** Progress phase name (default 'fisher'). */
  phase?: string;
  /**
   * Streamed build (fisher.ts's FisherSink): each finished block is handed to the sink on this
   * thread, from its worker's slot, before that worker gets another block; the store then holds
   * one block per worker instead of all A.
   */
  sink?: (a: number, block: Float32Array) => void;
}

export interface PoolResult {
  /** A×d×d float32 on a SharedArrayBuffer, block a at offset a·d² (empty with a sink). */
  store: Float32Array;
  /** Seconds each block took inside its worker. */
  blockSeconds: number[];
}

/** A Float32Array's contents on a SharedArrayBuffer: the same memory when it already is one. */
export function sharedCopy<T extends Float32Array | Float64Array>(src: T): T {
  if (src.buffer instanceof SharedArrayBuffer) return src;
  const ctor = src.constructor as { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const out = new ctor(new SharedArrayBuffer(src.length * ctor.BYTES_PER_ELEMENT));
  out.set(src);
  return out;
}

/**
 * The young generation of a Fisher worker's JavaScript heap (MB; V8 splits it into two semi-spaces
 * of a third each). V8's default lets it grow to 2 × 16 MB, and a worker that churns through a
 * few MB of short-lived objects per block (tfjs's bookkeeping of each product, the first block's
 * unoptimised arithmetic) soon has all of it resident: that was about 6 MB of each worker's peak
 * (measured on the reference machine, wasm, 6,000 × 784: a 2-worker streamed build +105–109 MB
 * with the default, +94–96 MB with 6 MB; scripts/fisher-memory.ts). A worker's own objects are its
 * block's few buffers and its backend, so a small young generation costs a few scavenges of under
 * a millisecond each per block; worker start-up and build times measured the same within noise.
 */
export const FISHER_WORKER_YOUNG_GENERATION_MB = 6;

/**
 * The worker entry next to this file: fisherWorker.js when compiled, fisherWorker.ts when run
 * from source through tsx (tests, development), which the worker then loads through tsx too.
 */
export function startWorker(data: FisherWorkerData): Worker {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `fisherWorker${ext}`);
  if (!fs.existsSync(file)) throw new SsseError('RESOURCE', `the Fisher worker script is missing: ${file}`);
  const options = { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: FISHER_WORKER_YOUNG_GENERATION_MB } };
  if (ext === '.ts') {
    return new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, ...options });
  }
  return new Worker(file, options);
}

export async function runFisherPool(
  features: Float32Array,
  /**
   * n×A per-sample weights, or a function computing them: it is then called once the workers are
   * starting, so that computing the weights here and starting tfjs there overlap.
   */
  weights: Float64Array | (() => Float64Array),
  n: number,
  d: number,
  A: number,
  options: PoolOptions,
): Promise<PoolResult> {
  const phase = options.phase ?? 'fisher';
  throwIfCancelled(options, phase);
  const count = Math.max(1, Math.min(Math.floor(options.workers), A));
  const sink = options.sink;
  const store = new Float32Array(new SharedArrayBuffer((sink ? count : A) * d * d * 4));
  const data: FisherWorkerData = {
    backend: options.backend,
    features: sharedCopy(features).buffer as SharedArrayBuffer,
    weights: typeof weights === 'function' ? null : (sharedCopy(weights).buffer as SharedArrayBuffer),
    store: store.buffer as SharedArrayBuffer,
    n,
    d,
    A,
    N: options.N,
    damping: options.damping,
    ...(options.block !== undefined ? { block: options.block } : {}),
    ...(options.gramPlan !== undefined ? { gramPlan: options.gramPlan } : {}),
  };
  const blockSeconds = new Array<number>(A).fill(0);
  const workers: Worker[] = [];
  let next = 0;
  let done = 0;
  report(options, phase, 0, A);
  try {
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | null): void => {
        if (settled) return;
        settled = true;
        options.signal?.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve();
      };
      const onAbort = (): void => finish(new CancelledError(phase));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) {
        onAbort(); // aborted before the listener was in place (e.g. from the first progress report)
        return;
      }
      const assign = (worker: Worker, slot: number): void => {
        if (next < A) {
          const a = next++;
          worker.postMessage({ type: 'block', a, slot: sink ? slot : a });
        }
      };
      for (let w = 0; w < count; w++) {
        const worker = startWorker(data);
        const slot = w;
        workers.push(worker);
        worker.on('message', (message: FromWorker) => {
          if (settled) return;
          if (message.type === 'ready') {
            assign(worker, slot);
          } else if (message.type === 'done') {
            blockSeconds[message.a] = message.seconds;
            if (sink) {
              try {
                sink(message.a, store.subarray(slot * d * d, (slot + 1) * d * d));
              } catch (e) {
                finish(e instanceof Error ? e : new Error(String(e)));
                return;
              }
            }
            done++;
            report(options, phase, done, A);
            if (done === A) finish(null);
            else assign(worker, slot);
          } else {
            finish(new SsseError(message.code ?? 'RESOURCE', message.code ? message.message : `Fisher worker failed: ${message.message}`));
          }
        });
        worker.on('error', (e) => finish(new SsseError('RESOURCE', `Fisher worker failed: ${e.message}`)));
        worker.on('exit', (code) => {
          if (!settled) finish(new SsseError('RESOURCE', `a Fisher worker exited (code ${code}) before the build finished; out of memory?`));
        });
      }
      if (typeof weights === 'function') {
        // The workers start tfjs on their own threads meanwhile; the weights reach each of them
        // before any block is asked for (messages on a port keep their order).
        let computed: SharedArrayBuffer;
        try {
          computed = sharedCopy(weights()).buffer as SharedArrayBuffer;
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        for (const worker of workers) worker.postMessage({ type: 'weights', weights: computed });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { store: sink ? new Float32Array(0) : store, blockSeconds };
}

import type { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend.js';
import { CancelledError, SsseError } from '../errors.js';
import type { GramPlan } from '../linalg/gram.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import { Workspace } from '../linalg/workspace.js';
import { computeFisherBlock, type FisherBlockJob } from './fisherBlockTask.js';
import { startEngineWorker } from './start.js';
import { CONTROL_NEXT, CONTROL_STOP, SLOT_FREE, type FisherWorkerData, type FromWorker } from './fisherMessages.js';

/**
 * Spreads the blocks of F̂⁻¹ over threads, each with its own tfjs backend (the wasm and cpu
 * backends compute on one thread each in Node, so T threads use T cores): W worker threads and,
 * unless told otherwise, this thread too, which has its backend already and would otherwise only
 * wait. Every computing thread claims the next block from a shared counter when it is free, so
 * uneven blocks still balance and no thread waits to be given work. Cancelling terminates the
 * workers at once; any thread's error ends the whole build with that error.
 */
export interface PoolOptions extends RunControl {
  backend: BackendName;
  /** Worker threads (≥ 1). */
  workers: number;
  /**
   * Whether this thread computes blocks too, between which it hands finished blocks to the sink
   * and reports progress (default true). False leaves it waiting, as the pool did before; the
   * benchmark measures both.
   */
  mainThread?: boolean;
  N: number;
  damping: number;
  block?: number;
  gramPlan?: GramPlan;
  /** Progress phase name (default 'fisher'). */
  phase?: string;
  /**
   * Streamed build (fisher.ts's FisherSink): each finished block is handed to the sink on this
   * thread, from its worker's slot; each worker has two slots, used in turn, and waits for a slot
   * only when the sink has not yet taken the block it wrote there two blocks before. The store then
   * holds two blocks per worker (and this thread one of its own) instead of all A.
   */
  sink?: (a: number, block: Float32Array) => void;
}

export interface PoolResult {
  /** A×d×d float32 on a SharedArrayBuffer, block a at offset a·d² (empty with a sink). */
  store: Float32Array;
  /** Seconds each block took on the thread that computed it. */
  blockSeconds: number[];
  /** Blocks computed by each thread: this one first, then each worker. */
  blocksByThread: number[];
}

/**
 * A typed array's contents on a SharedArrayBuffer of its own, which workers see whole: the same
 * memory when it already is one and spans all of it, else a copy (a view into part of a shared
 * buffer would hand a worker the whole buffer).
 */
export function sharedCopy<T extends Float32Array | Float64Array | Uint8Array>(src: T): T {
  if (src.buffer instanceof SharedArrayBuffer && src.byteOffset === 0 && src.byteLength === src.buffer.byteLength) return src;
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

/** A Fisher worker (fisherWorker.ts) with the pool's data and its small young generation. */
export function startWorker(data: FisherWorkerData): Worker {
  return startEngineWorker('fisherWorker', data, { maxYoungGenerationSizeMb: FISHER_WORKER_YOUNG_GENERATION_MB });
}

/** Blocks a streamed build holds at once: two slots per worker and, when it computes, one of this thread's. */
export function streamedSlots(workers: number, mainThread: boolean): number {
  return 2 * workers + (mainThread ? 1 : 0);
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
  const mainThread = options.mainThread ?? true;
  const count = Math.max(1, Math.min(Math.floor(options.workers), A));
  const sink = options.sink;
  const store = new Float32Array(new SharedArrayBuffer((sink ? 2 * count : A) * d * d * 4));
  const control = new Int32Array(new SharedArrayBuffer(2 * 4));
  const slotState = sink ? new Int32Array(new SharedArrayBuffer(2 * count * 4)) : null;
  const sharedFeatures = sharedCopy(features);
  const base = {
    backend: options.backend,
    features: sharedFeatures.buffer as SharedArrayBuffer,
    weights: typeof weights === 'function' ? null : (sharedCopy(weights).buffer as SharedArrayBuffer),
    store: store.buffer as SharedArrayBuffer,
    control: control.buffer as SharedArrayBuffer,
    n,
    d,
    A,
    N: options.N,
    damping: options.damping,
    ...(options.block !== undefined ? { block: options.block } : {}),
    ...(options.gramPlan !== undefined ? { gramPlan: options.gramPlan } : {}),
  };
  const blockSeconds = new Array<number>(A).fill(0);
  const blocksByThread = new Array<number>(count + 1).fill(0);
  const workers: Worker[] = [];
  let done = 0;
  let settled = false;
  let failure: Error | null = null;
  let onSettled: (() => void) | null = null;
  const finish = (error: Error | null): void => {
    if (settled) return;
    settled = true;
    failure = error;
    // Whatever still runs stops claiming blocks and gives up waiting for a slot.
    Atomics.store(control, CONTROL_STOP, 1);
    if (slotState) for (let s = 0; s < slotState.length; s++) Atomics.notify(slotState, s);
    options.signal?.removeEventListener('abort', onAbort);
    onSettled?.();
  };
  const onAbort = (): void => finish(new CancelledError(phase));
  /** A finished block: handed to the sink (a streamed build), counted, reported. */
  const finished = (a: number, slot: number | null, block: Float32Array): void => {
    if (sink) {
      try {
        sink(a, block);
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (slot !== null && slotState) {
        Atomics.store(slotState, slot, SLOT_FREE);
        Atomics.notify(slotState, slot);
      }
    }
    done++;
    report(options, phase, done, A);
    if (done === A) finish(null);
  };
  report(options, phase, 0, A);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort(); // aborted before the listener was in place (e.g. from the first progress report)
  try {
    for (let w = 0; w < count && !settled; w++) {
      const worker = startWorker({ ...base, slots: slotState ? { own: [2 * w, 2 * w + 1], state: slotState.buffer as SharedArrayBuffer } : null });
      workers.push(worker);
      worker.on('message', (message: FromWorker) => {
        if (settled) return;
        if (message.type === 'done') {
          blockSeconds[message.a] = message.seconds;
          blocksByThread[w + 1] = (blocksByThread[w + 1] as number) + 1;
          finished(message.a, sink ? message.slot : null, store.subarray(message.slot * d * d, (message.slot + 1) * d * d));
        } else if (message.type === 'error') {
          finish(new SsseError(message.code ?? 'RESOURCE', message.code ? message.message : `Fisher worker failed: ${message.message}`));
        }
      });
      worker.on('error', (e) => finish(new SsseError('RESOURCE', `Fisher worker failed: ${e.message}`)));
      worker.on('exit', (code) => {
        if (!settled) finish(new SsseError('RESOURCE', `a Fisher worker exited (code ${code}) before the build finished; out of memory?`));
      });
    }
    let resolvedWeights: Float64Array | null = typeof weights === 'function' ? null : weights;
    if (typeof weights === 'function' && !settled) {
      // The workers start tfjs on their own threads meanwhile; they begin claiming blocks when
      // the weights reach them.
      try {
        const computed = sharedCopy(weights());
        resolvedWeights = computed;
        for (const worker of workers) worker.postMessage({ type: 'weights', weights: computed.buffer as SharedArrayBuffer });
      } catch (e) {
        finish(e instanceof Error ? e : new Error(String(e)));
      }
    }
    if (mainThread && resolvedWeights) {
      const job: FisherBlockJob = { ...base, features: sharedFeatures, weights: resolvedWeights };
      const column = new Float64Array(n);
      const workspace = new Workspace();
      const own = sink ? new Float32Array(d * d) : null;
      while (!settled) {
        const a = Atomics.add(control, CONTROL_NEXT, 1);
        if (a >= A) break;
        const out = own ?? store.subarray(a * d * d, (a + 1) * d * d);
        try {
          blockSeconds[a] = computeFisherBlock(job, a, out, column, workspace);
          blocksByThread[0] = (blocksByThread[0] as number) + 1;
        } catch (e) {
          finish(e instanceof Error ? e : new Error(String(e)));
          break;
        }
        finished(a, null, out);
        // The workers' finished blocks, their errors and a cancellation are handled here.
        await yieldToEventLoop();
      }
    }
    if (!settled) await new Promise<void>((resolve) => (onSettled = resolve));
  } finally {
    finish(failure ?? new CancelledError(phase)); // no-op when settled; stops the workers' loops otherwise
    await Promise.all(workers.map((w) => w.terminate()));
  }
  if (failure) throw failure;
  return { store: sink ? new Float32Array(0) : store, blockSeconds, blocksByThread };
}

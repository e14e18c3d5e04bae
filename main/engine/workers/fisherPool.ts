import type { BackendName } from '../backend.js';
import type { GramPlan } from '../linalg/gram.js';
import type { Curvature } from '../linear/fisher.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import { Workspace } from '../linalg/workspace.js';
import { computeFisherBlock, type FisherBlockJob } from './fisherBlockTask.js';
import { CONTROL_NEXT, CONTROL_STOP, SLOT_FREE } from './fisherMessages.js';
import { JobEnd, runWorkerJob, type WorkerPool } from './pool.js';

/**
 * Spreads the blocks of F̂⁻¹ over threads, each with its own tfjs backend (the wasm and cpu
 * backends compute on one thread each in Node, so T threads use T cores): W worker threads and,
 * unless told otherwise, this thread too, which has its backend already and would otherwise only
 * wait. Every computing thread claims the next block from a shared counter when it is free, so
 * uneven blocks still balance and no thread waits to be given work. Cancelling terminates the
 * workers at once; any thread's error ends the whole build with that error. The workers come from
 * a WorkerPool (pool.ts), the command's when given, so that they may already be running.
 */
export interface PoolOptions extends RunControl {
  backend: BackendName;
  /** Worker threads (≥ 1). */
  workers: number;
  /** Where the workers come from and go back to (pool.ts); default: started for this build and ended with it. */
  pool?: WorkerPool | undefined;
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
export function sharedCopy<T extends Float32Array | Float64Array | Int32Array | Uint8Array>(src: T): T {
  if (src.buffer instanceof SharedArrayBuffer && src.byteOffset === 0 && src.byteLength === src.buffer.byteLength) return src;
  const ctor = src.constructor as { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };
  const out = new ctor(new SharedArrayBuffer(src.length * ctor.BYTES_PER_ELEMENT));
  out.set(src);
  return out;
}

/** Blocks a streamed build holds at once: two slots per worker and, when it computes, one of this thread's. */
export function streamedSlots(workers: number, mainThread: boolean): number {
  return 2 * workers + (mainThread ? 1 : 0);
}

/** What a build's per-sample weights come from: each block computes its own column (fisherWeightColumn). */
export interface WeightSource {
  /** θ, A×d float64, attribute-major. */
  theta: Float64Array;
  /** n×A 0/1 labels. */
  labels: Uint8Array;
  curvature: Curvature;
}

export async function runFisherPool(
  features: Float32Array,
  source: WeightSource,
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
  const theta = sharedCopy(source.theta);
  const labels = sharedCopy(source.labels);
  const base = {
    features: sharedFeatures.buffer as SharedArrayBuffer,
    theta: theta.buffer as SharedArrayBuffer,
    labels: labels.buffer as SharedArrayBuffer,
    curvature: source.curvature,
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
  let done = 0;
  const end = new JobEnd(phase, options.signal, () => {
    // Whatever still runs stops claiming blocks and gives up waiting for a slot.
    Atomics.store(control, CONTROL_STOP, 1);
    if (slotState) for (let s = 0; s < slotState.length; s++) Atomics.notify(slotState, s);
  });
  /** A finished block: handed to the sink (a streamed build), counted, reported. */
  const finished = (a: number, slot: number | null, block: Float32Array): void => {
    if (sink) {
      try {
        sink(a, block);
      } catch (e) {
        end.finish(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (slot !== null && slotState) {
        Atomics.store(slotState, slot, SLOT_FREE);
        Atomics.notify(slotState, slot);
      }
    }
    done++;
    report(options, phase, done, A);
    if (done === A) end.finish(null);
  };
  report(options, phase, 0, A);
  await runWorkerJob({
    pool: options.pool,
    backend: options.backend,
    count,
    end,
    what: 'Fisher worker',
    task: 'the build',
    start: (w) => ({
      type: 'fisher',
      job: { ...base, slots: slotState ? { own: [2 * w, 2 * w + 1], state: slotState.buffer as SharedArrayBuffer } : null },
    }),
    onMessage: (w, message) => {
      if (message.type !== 'block') return;
      blockSeconds[message.a] = message.seconds;
      blocksByThread[w + 1] = (blocksByThread[w + 1] as number) + 1;
      finished(message.a, sink ? message.slot : null, store.subarray(message.slot * d * d, (message.slot + 1) * d * d));
    },
    run: async () => {
      if (!mainThread) return;
      const job: FisherBlockJob = { ...base, features: sharedFeatures, theta, labels };
      const column = new Float64Array(n);
      const workspace = new Workspace();
      const own = sink ? new Float32Array(d * d) : null;
      while (!end.isSettled) {
        const a = Atomics.add(control, CONTROL_NEXT, 1);
        if (a >= A) break;
        const out = own ?? store.subarray(a * d * d, (a + 1) * d * d);
        blockSeconds[a] = computeFisherBlock(job, a, out, column, workspace);
        blocksByThread[0] = (blocksByThread[0] as number) + 1;
        finished(a, null, out);
        // The workers' finished blocks, their errors and a cancellation are handled here.
        await yieldToEventLoop();
      }
    },
  });
  return { store: sink ? new Float32Array(0) : store, blockSeconds, blocksByThread };
}

import type { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend.js';
import { SsseError } from '../errors.js';
import { blockColumns, blockLabel, blockRange, factorBlock, factorDim, type BlockFactor, type BlockMethod } from '../nn/blockFisher.js';
import type { FisherRows } from '../nn/gradients.js';
import { yieldToEventLoop, type RunControl } from '../progress.js';
import { NN_BLOCKS_PER_WORKER, nnFactorWindow } from './nnFactorMessages.js';
import { JobEnd, runWorkerJob, type WorkerPool } from './pool.js';

export interface NnFactorPoolOptions extends RunControl {
  backend: BackendName;
  /** Worker threads beside this one (≥ 1). */
  workers: number;
  /** Where the workers come from and go back to (pool.ts); default: started for this pass and ended with it. */
  pool?: WorkerPool | undefined;
}

export interface NnFactorPoolResult {
  /** How many blocks each thread computed: this one first, then each worker. */
  blocksByThread: number[];
  /** The most blocks handed out and not yet applied at any time (at most nnFactorWindow(workers)). */
  maxInFlight: number;
}

/** A block's columns and factor, as consume receives them. */
export interface NnFactoredBlock {
  factor: BlockFactor;
  /** G_b, N×b float32 (blockFisher.ts blockColumns). */
  gb: Float32Array;
}

/**
 * Every block's factor of F̂⁻¹ (blockFisher.ts factorBlock) on this thread and `workers` pool
 * workers (nnFactorMessages.ts), each handed to `consume` on this thread in block order (0, 1, …)
 * with its columns: the factors the single-threaded pass computes, to the bit (the same columns,
 * the same backend product, the same float64 factorisation), in the same order, so whatever
 * `consume` writes or computes is unchanged. No thread runs more than nnFactorWindow(workers)
 * blocks ahead of the last one applied. A failure on any thread (a block that is not positive
 * definite names itself as it would alone), an error from `consume`, or a cancellation ends the
 * pass with that error; the workers of a failed pass are terminated.
 */
export async function runNnFactorPool(
  G: FisherRows,
  settings: { blockSize: number; damping: number; methods: BlockMethod[]; order: Int32Array | null },
  options: NnFactorPoolOptions,
  consume: (bi: number, block: NnFactoredBlock) => Promise<void> | void,
): Promise<NnFactorPoolResult> {
  const { N, p } = G;
  const { blockSize, damping, methods, order } = settings;
  const blocks = methods.length;
  if (blocks !== Math.ceil(p / blockSize)) {
    throw new SsseError('BAD_ARGUMENT', `runNnFactorPool: ${blocks} block methods for p = ${p} in blocks of ${blockSize}`);
  }
  const count = Math.max(1, Math.floor(options.workers));
  const window = nnFactorWindow(count);
  /** Block bi's columns, label and factor size. */
  const cut = (bi: number) => {
    const [c0, c1] = blockRange(bi, blockSize, p);
    return { gb: blockColumns(G, c0, c1, order), b: c1 - c0, what: blockLabel(bi, c0, c1, order), method: methods[bi] as BlockMethod };
  };
  const factorOf = (bi: number, b: number, matrix: Float64Array): BlockFactor => {
    const method = methods[bi] as BlockMethod;
    return { method, damping, dim: factorDim(method, N, b), matrix };
  };
  const pending = new Map<number, NnFactoredBlock>();
  const inFlight = new Array<number>(count).fill(0);
  const blocksByThread = new Array<number>(count + 1).fill(0);
  let maxInFlight = 0;
  let next = 0; // the next block to hand out
  let consumed = 0; // blocks applied
  let wake: (() => void) | null = null;
  const end = new JobEnd('fisher', options.signal, () => wake?.());
  let workers: Worker[] = [];
  /** Hands blocks to workers with room, in order, within the window. */
  const feed = (): void => {
    for (let w = 0; w < workers.length; w++) {
      while ((inFlight[w] as number) < NN_BLOCKS_PER_WORKER && next < blocks && next < consumed + window && !end.isSettled) {
        const bi = next++;
        const { gb, b, what, method } = cut(bi);
        inFlight[w] = (inFlight[w] as number) + 1;
        maxInFlight = Math.max(maxInFlight, next - consumed);
        (workers[w] as Worker).postMessage({ type: 'nn-factor-block', block: { bi, gb, b, method, what } }, [gb.buffer as ArrayBuffer]);
      }
    }
  };
  await runWorkerJob({
    pool: options.pool,
    backend: options.backend,
    count,
    end,
    what: 'Fisher worker',
    task: 'the Fisher pass',
    start: () => ({ type: 'nn-factor', job: { N, damping } }),
    onMessage: (w, message) => {
      if (message.type !== 'nn-factor') return;
      inFlight[w] = (inFlight[w] as number) - 1;
      blocksByThread[w + 1] = (blocksByThread[w + 1] as number) + 1;
      pending.set(message.bi, { factor: factorOf(message.bi, message.gb.length / N, message.matrix), gb: message.gb });
      wake?.();
    },
    run: async (started) => {
      workers = started;
      while (!end.isSettled && consumed < blocks) {
        feed();
        const ready = pending.get(consumed);
        if (ready) {
          pending.delete(consumed);
          await consume(consumed, ready);
          consumed++;
          // The workers' factors, their errors and a cancellation are handled here.
          await yieldToEventLoop();
        } else if (next < blocks && next < consumed + window) {
          // Every worker has its blocks: this thread computes the next one itself.
          const bi = next++;
          maxInFlight = Math.max(maxInFlight, next - consumed);
          const { gb, b, what, method } = cut(bi);
          const [factor] = factorBlock(gb, N, b, [damping], method, what);
          pending.set(bi, { factor: factor as BlockFactor, gb });
          blocksByThread[0] = (blocksByThread[0] as number) + 1;
          await yieldToEventLoop();
        } else {
          // The next block in order is on a worker: wait for its message (or the job's end).
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          wake = null;
        }
      }
      if (consumed === blocks && !end.isSettled) {
        for (const worker of workers) worker.postMessage({ type: 'nn-factor-end' });
        end.finish(null);
      }
    },
  });
  return { blocksByThread, maxInFlight };
}

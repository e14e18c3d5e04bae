import type { BlockMethod } from '../nn/blockFisher.js';

/**
 * A network Fisher's part of the contract between the pool (nnFactorPool.ts, main thread) and its
 * workers (poolWorker.ts, poolMessages.ts): the blocks' factors of F̂⁻¹ (blockFisher.ts
 * factorBlock), computed on several threads.
 *
 * The main thread hands each worker a block's columns G_b (an N×b copy it cuts from G, moved, not
 * copied again) and gets back the factor with G_b, both moved; it applies and stores the factors
 * in block order. G itself stays on the main thread, an ordinary ArrayBuffer: a shared G measured
 * 190 MB more peak RSS (Fashion-MNIST 10k, mlp:128), V8 apparently collecting the pass's
 * short-lived arrays later beside a G it does not count.
 *
 * A job: 'nn-factor' (the settings every block shares; the worker answers nothing), then any
 * number of 'nn-factor-block' (each answered by an 'nn-factor' message, or an error), then
 * 'nn-factor-end' (answered by 'idle').
 */
export interface NnFactorJobData {
  N: number;
  damping: number;
}

export interface NnFactorBlock {
  bi: number;
  /** G_b, N×b float32 row-major. */
  gb: Float32Array;
  b: number;
  method: BlockMethod;
  /** How errors name the block (blockFisher.ts blockLabel). */
  what: string;
}

/** Block `bi`'s factor (dim² float64) and its columns, handed back, after `seconds` on the worker. */
export type FromNnFactorJob = { type: 'nn-factor'; bi: number; matrix: Float64Array; gb: Float32Array; seconds: number };

/**
 * Blocks handed out but not yet applied, at most: two per computing thread (`workers` and the main
 * one). Each holds G_b and, once computed, its factor (planBlockFisher counts them).
 */
export function nnFactorWindow(workers: number): number {
  return 2 * (workers + 1);
}

/** Blocks a worker holds at once (one it computes, one queued), so that it never waits for the next. */
export const NN_BLOCKS_PER_WORKER = 2;

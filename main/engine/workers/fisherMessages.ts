import type { BackendName } from '../backend.js';
import type { SsseErrorCode } from '../errors.js';
import type { GramPlan } from '../linalg/gram.js';

/**
 * The contract between the Fisher pool (fisherPool.ts, main thread) and its workers
 * (fisherWorker.ts). The data travel once, as SharedArrayBuffers; each message names a block.
 */
export interface FisherWorkerData {
  backend: BackendName;
  /** n×d float32 features. */
  features: SharedArrayBuffer;
  /**
   * n×A float64 per-sample weights w_ja (fisherWeights), or null when they follow in a 'weights'
   * message (the pool computes them while the workers start).
   */
  weights: SharedArrayBuffer | null;
  /** slots×d×d float32: the worker writes the block it is given into the slot the message names. */
  store: SharedArrayBuffer;
  n: number;
  d: number;
  A: number;
  N: number;
  damping: number;
  block?: number;
  gramPlan?: GramPlan;
}

/** Compute block a into store slot `slot` (a itself when the whole F̂⁻¹ is kept, else the worker's own). */
export type ToWorker = { type: 'block'; a: number; slot: number } | { type: 'weights'; weights: SharedArrayBuffer };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; a: number; seconds: number }
  | { type: 'error'; code: SsseErrorCode | null; message: string };

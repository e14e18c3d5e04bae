import type { GramPlan } from '../linalg/gram.js';
import type { Curvature } from '../linear/fisher.js';

/**
 * A Fisher build's part of the contract between the pool (fisherPool.ts, main thread) and its
 * workers (poolWorker.ts, poolMessages.ts). The data travel once, as SharedArrayBuffers. Blocks are not handed out by
 * message: every computing thread, the main thread included, claims the next block from a shared
 * counter (Atomics.add on CONTROL_NEXT) when it is free, so no thread waits on another to be
 * given work.
 */
/** The sizes and settings every thread computing blocks of one build shares. */
export interface FisherBlockSettings {
  n: number;
  d: number;
  A: number;
  N: number;
  damping: number;
  block?: number;
  gramPlan?: GramPlan;
}

export interface FisherJobData extends FisherBlockSettings {
  /** n×d float32 features. */
  features: SharedArrayBuffer;
  /** θ, A×d float64 (each block computes its attribute's per-sample weights from it). */
  theta: SharedArrayBuffer;
  /** n×A 0/1 labels. */
  labels: SharedArrayBuffer;
  curvature: Curvature;
  /** slots×d×d float32: the worker writes each block it computes into a slot (see `slots`). */
  store: SharedArrayBuffer;
  /** Int32 [CONTROL_NEXT, CONTROL_STOP]: the next block to claim; non-zero when the build ends early. */
  control: SharedArrayBuffer;
  /**
   * Streamed builds: this worker's two store slots, used in turn, and an Int32 per slot of the
   * whole store that is SLOT_FULL from when the worker has written a block there until the main
   * thread has handed it to the sink. Null when the whole F̂⁻¹ is kept: block a goes to slot a.
   */
  slots: { own: [number, number]; state: SharedArrayBuffer } | null;
}

export const CONTROL_NEXT = 0;
export const CONTROL_STOP = 1;
export const SLOT_FREE = 0;
export const SLOT_FULL = 1;

/** Block a is finished, in store slot `slot`, after `seconds` on the worker. */
export type FromFisherJob = { type: 'block'; a: number; slot: number; seconds: number };

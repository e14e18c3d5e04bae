import type { NewtonProblem } from '../linear/newton.js';

/**
 * A training's part of the contract between the pool (trainPool.ts, main thread) and its workers
 * (poolWorker.ts, poolMessages.ts). A linear model's objective is separable across attributes, so each attribute
 * is trained on its own by the same Newton iteration (linear/newton.ts) wherever it runs. The data
 * travel once, as SharedArrayBuffers; every computing thread, the main thread included, claims the
 * next attribute from a shared counter (Atomics.add on TRAIN_NEXT) and trains it in place in the
 * shared weights.
 */
/** The Newton problem's sizes and settings, with its data (and the results) in shared memory. */
export interface TrainJobData extends Omit<NewtonProblem, 'features' | 'labels'> {
  /** n×d float32 features. */
  features: SharedArrayBuffer;
  /** n×A 0/1 labels. */
  labels: SharedArrayBuffer;
  /** A×d float64 weights, attribute-major: the start on entry, each attribute's optimum once trained. */
  weights: SharedArrayBuffer;
  /** Int32 [TRAIN_NEXT, TRAIN_STOP]: the next attribute to claim; non-zero when training ends early. */
  control: SharedArrayBuffer;
}

export const TRAIN_NEXT = 0;
export const TRAIN_STOP = 1;

/** 'progress' after each Newton iteration's gradient; 'trained' with an attribute's result, once it is in the shared weights. */
export type FromTrainJob = { type: 'progress'; a: number; progress: number } | { type: 'trained'; a: number; iterations: number; gradientNorm: number };

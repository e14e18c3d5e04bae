import type { CurvePoint } from '../nn/calibrate.js';
import type { ModelSpec } from '../nn/spec.js';
import type { SgdConfig } from '../nn/train.js';

/**
 * Network trainings on several threads: the contract between the pool (nnTrainPool.ts, main
 * thread) and its workers (poolWorker.ts, poolMessages.ts). Each worker builds the network once
 * per job (from its spec, or from its model file, whose SHA-256 it checks), then claims runs from
 * a shared counter until none is left; the main thread trains runs too. A run on a worker gives
 * the bits it gives on the main thread: the same backend, the same seeded initialisation and
 * batch order, the same arithmetic (train.ts).
 */
export type NnTrainSource =
  | { kind: 'spec'; spec: ModelSpec; inputShape: number[]; classes: number }
  /** A Layers model.json; `sha256` is loadModel.ts's over the file and its weights. */
  | { kind: 'file'; path: string; sha256: string };

/**
 * One training: its settings, the rows it leaves out, and where it starts (null: the seeded
 * initialisation). With a `direction` Δ (a calibration trial: F̂⁻¹ times its removal's gradient,
 * over n − k), the thread that trained it also sweeps θ* + ε·Δ over the grid against it
 * (calibrate.ts trialSweep) and returns the curve.
 */
export interface NnTrainRun {
  sgd: SgdConfig;
  exclude: Int32Array;
  init: Float32Array | null;
  direction: Float64Array | null;
}

/** What a run's sweep needs besides its direction: θ*, the ε grid and the test set. */
export interface NnEvaluationData {
  /** θ*, float32. */
  thetaStar: SharedArrayBuffer;
  grid: number[];
  test: { features: SharedArrayBuffer; classIds: SharedArrayBuffer; n: number } | null;
}

export interface NnTrainJobData {
  source: NnTrainSource;
  runs: NnTrainRun[];
  /** n×d float32 features. */
  features: SharedArrayBuffer;
  /** n class ids, Int32. */
  classIds: SharedArrayBuffer;
  n: number;
  /** Int32 [TRAIN_RUN_NEXT, TRAIN_RUN_STOP]. */
  control: SharedArrayBuffer;
  /** The progress phase the runs report. */
  phase: string;
  /** For runs with a direction; null when none has one. */
  evaluation: NnEvaluationData | null;
}

export const TRAIN_RUN_NEXT = 0;
export const TRAIN_RUN_STOP = 1;

export type FromNnTrainJob =
  /** Run `run` is trained: its parameters (buffer moved), its loss per epoch and its steps, and its sweep's curve (null without a direction). */
  | { type: 'nn-trained'; run: number; theta: Float32Array; epochLoss: number[]; steps: number; curve: CurvePoint[] | null }
  /** Run `run` has done `done` of its `total` steps. */
  | { type: 'nn-train-progress'; run: number; done: number; total: number };

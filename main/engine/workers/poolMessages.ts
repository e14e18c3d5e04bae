import type { BackendName } from '../backend.js';
import type { SsseErrorCode } from '../errors.js';
import type { FisherJobData, FromFisherJob } from './fisherMessages.js';
import type { FromNnFactorJob, NnFactorBlock, NnFactorJobData } from './nnFactorMessages.js';
import type { FromNnTrainJob, NnTrainJobData } from './nnTrainMessages.js';
import type { FromTrainJob, TrainJobData } from './trainMessages.js';

/**
 * The contract between a WorkerPool (pool.ts, main thread) and its pool workers
 * (poolWorker.ts). A worker starts its tfjs backend once, answers 'ready', and then runs one
 * job at a time for as long as the pool keeps it: a Fisher build's blocks, a training's
 * attributes or a network Fisher's block factors, answering that job's messages and then 'idle' when it has stopped claiming work.
 * So the phases of one command (training θ*, building F̂⁻¹, retraining) share threads instead of
 * each starting its own (a thread is ready in about 65 ms on the reference machine, and slower
 * on its first job while its code warms up).
 */
export interface PoolWorkerData {
  backend: BackendName;
}

export type ToPoolWorker = { type: 'fisher'; job: FisherJobData } | { type: 'train'; job: TrainJobData } 
  | { type: 'nn-factor'; job: NnFactorJobData }
  | { type: 'nn-factor-block'; block: NnFactorBlock }
  | { type: 'nn-factor-end' }
  | { type: 'nn-train'; job: NnTrainJobData };

/** A job's failure, with the engine's error code when it was an SsseError. */
export type JobError = { type: 'error'; code: SsseErrorCode | null; message: string };

export type FromPoolWorker =
  /** The backend is initialised (sent once). */
  | { type: 'ready' }
  /** The current job has ended on this worker: it claims nothing more and waits for the next one. */
  | { type: 'idle' }
  | JobError
  | FromFisherJob
  | FromNnFactorJob
  | FromNnTrainJob
  | FromTrainJob;

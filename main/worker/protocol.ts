import type { IpcError, JobKind, JobProgress } from '../../preload/contract.js';

/**
 * Messages between the main process and the engine process (Electron's utilityProcess in the
 * app, a forked Node process in tests and on the command line). Structured-cloneable only.
 */
export interface WorkerJob {
  kind: JobKind;
  /** The audit store the job reads and writes. */
  dbPath: string;
  /** Where θ* and F̂⁻¹ are cached between jobs. */
  cacheDir: string | null;
  payload: unknown;
}

export type ToWorker = { type: 'run'; job: WorkerJob } | { type: 'cancel' };

export type FromWorker =
  | { type: 'ready' }
  | ({ type: 'progress' } & JobProgress)
  /** An erasure job has recorded its request (status received): its id. */
  | { type: 'request'; requestId: number }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; error: IpcError };

/** One engine process as main sees it, whichever way it was started. */
export interface EngineChild {
  send(message: ToWorker): void;
  onMessage(listener: (message: FromWorker) => void): void;
  onExit(listener: (code: number | null) => void): void;
  kill(): void;
}

export type SpawnEngine = () => EngineChild;

import { CancelledError } from './errors.js';
import type { WorkerPool } from './workers/pool.js';

/** One progress report: `done` of `total` units of the named phase. */
export interface ProgressEvent {
  phase: string;
  done: number;
  total: number;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** What every long-running engine function accepts: where to report, and how to be stopped. */
export interface RunControl {
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

/**
 * RunControl and the worker threads a command shares between its phases (workers/pool.ts):
 * training θ*, building F̂⁻¹ and retraining take their threads from `pool` when one is given.
 */
export interface PhaseControl extends RunControl {
  pool?: WorkerPool;
}

/** Throws CancelledError when the caller has aborted. Call it between units of work. */
export function throwIfCancelled(control: RunControl | undefined, what = 'operation'): void {
  if (control?.signal?.aborted) throw new CancelledError(what);
}

export function report(control: RunControl | undefined, phase: string, done: number, total: number): void {
  control?.onProgress?.({ phase, done, total });
}

/** Yields to the event loop so that timers, signals and IPC get a chance between heavy steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

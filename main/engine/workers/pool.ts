import type { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend.js';
import { CancelledError, SsseError } from '../errors.js';
import type { FromPoolWorker, ToPoolWorker } from './poolMessages.js';
import { startEngineWorker } from './start.js';

/**
 * Engine worker threads kept between jobs (poolMessages.ts). A command that trains θ*, builds
 * F̂⁻¹ and retrains hands one pool to each phase, so its threads start (tfjs and its backend: ready
 * in about 65 ms on the reference machine, and slower on their first job while its code warms up)
 * once rather than once per phase. Idle workers are unref'd:
 * a pool that is never closed does not keep the process alive. A worker whose job failed or was
 * cancelled is terminated, not kept.
 */
export class WorkerPool {
  private readonly idle: Worker[] = [];
  private closed = false;

  constructor(readonly backend: BackendName) {}

  /** Workers waiting for a job. */
  get idleWorkers(): number {
    return this.idle.length;
  }

  /** The idle workers' thread ids (tests check that a job reuses them). */
  idleThreadIds(): number[] {
    return this.idle.map((w) => w.threadId);
  }

  /** `count` workers for a job: idle ones first, then new ones (which queue the job until their backend is up). */
  take(count: number): Worker[] {
    if (this.closed) throw new SsseError('RESOURCE', 'the worker pool is closed');
    const workers = this.idle.splice(0, count);
    for (const worker of workers) {
      // The job installs its own listeners (a prestarted worker's start-up failure reaches it).
      worker.removeAllListeners('message');
      worker.removeAllListeners('error');
      worker.removeAllListeners('exit');
      worker.ref();
    }
    while (workers.length < count) workers.push(startPoolWorker(this.backend));
    return workers;
  }

  /** Workers whose job ended cleanly (each has answered 'idle'), kept for the next job. */
  giveBack(workers: Worker[]): void {
    for (const worker of workers) {
      if (worker.threadId < 0) continue; // exited
      if (this.closed) {
        void worker.terminate();
        continue;
      }
      worker.removeAllListeners('message');
      worker.removeAllListeners('error');
      worker.removeAllListeners('exit');
      worker.on('error', () => undefined);
      worker.once('exit', () => {
        const i = this.idle.indexOf(worker);
        if (i >= 0) this.idle.splice(i, 1);
      });
      worker.unref();
      this.idle.push(worker);
    }
  }

  /**
   * Starts workers until `count` are idle, without waiting for them: a command calls it before it
   * loads what its first threaded phase needs, so that the threads start their backends meanwhile
   * and that phase takes them from the pool instead of starting them. A worker whose backend fails
   * to start is terminated and dropped (and its failure reaches a job that has already taken it).
   */
  prestart(count: number): void {
    if (this.closed) return;
    const started: Worker[] = [];
    while (this.idle.length + started.length < count) started.push(startPoolWorker(this.backend));
    this.giveBack(started);
    for (const worker of started) {
      worker.on('message', (message: FromPoolWorker) => {
        if (message.type !== 'error') return;
        const i = this.idle.indexOf(worker);
        if (i >= 0) this.idle.splice(i, 1);
        void worker.terminate();
      });
    }
  }

  /** Starts workers until `count` are idle and waits until each has its backend (for benchmarks and tests). */
  async warm(count: number): Promise<void> {
    const started: Worker[] = [];
    while (this.idle.length + started.length < count) started.push(startPoolWorker(this.backend));
    await Promise.all(
      started.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.on('message', (message: FromPoolWorker) => {
              if (message.type === 'ready') resolve();
              else if (message.type === 'error') reject(new SsseError(message.code ?? 'RESOURCE', `pool worker failed to start: ${message.message}`));
            });
            worker.once('error', reject);
          }),
      ),
    ).catch(async (e: unknown) => {
      await Promise.all(started.map((w) => w.terminate()));
      throw e;
    });
    this.giveBack(started);
  }

  /** Terminates the idle workers; a job still running keeps its own until it ends, then they are terminated. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}

/**
 * The young generation of a pool worker's JavaScript heap (MB; V8 splits it into two semi-spaces
 * of a third each). V8's default lets it grow to 2 × 16 MB, and a worker that churns through a
 * few MB of short-lived objects per block (tfjs's bookkeeping of each product, the first block's
 * unoptimised arithmetic) soon has all of it resident: that was about 6 MB of each worker's peak
 * (measured on the reference machine, wasm, 6,000 × 784: a 2-worker streamed Fisher build
 * +105–109 MB with the default, +94–96 MB with 6 MB; scripts/fisher-memory.ts). A worker's own
 * objects are its job's few buffers and its backend, so a small young generation costs a few
 * scavenges of under a millisecond each per block; worker start-up, build and training times
 * measured the same within noise.
 */
export const POOL_WORKER_YOUNG_GENERATION_MB = 6;

/** A pool worker (poolWorker.ts) on `backend`, with the pool's small young generation. */
export function startPoolWorker(backend: BackendName): Worker {
  return startEngineWorker('poolWorker', { backend }, { maxYoungGenerationSizeMb: POOL_WORKER_YOUNG_GENERATION_MB });
}

/**
 * One job's end on the main thread: the first finish() wins (success, an error, a cancellation);
 * it sets the job's stop flag through `onStop` and wakes whoever waits in whenSettled().
 */
export class JobEnd {
  failure: Error | null = null;
  private done = false;
  private wake: (() => void) | null = null;
  private readonly onAbort = (): void => this.cancel();

  constructor(
    private readonly phase: string,
    private readonly signal: AbortSignal | undefined,
    private readonly onStop: () => void,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted) this.onAbort(); // aborted before the listener was in place
  }

  get isSettled(): boolean {
    return this.done;
  }

  finish(error: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.failure = error;
    this.onStop();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.wake?.();
  }

  /** Ends the job as cancelled (no-op once settled). */
  cancel(): void {
    this.finish(new CancelledError(this.phase));
  }

  /** Resolves once finish() has been called. */
  async whenSettled(): Promise<void> {
    if (!this.done) await new Promise<void>((resolve) => (this.wake = resolve));
  }
}

export interface WorkerJob {
  /** The pool to take workers from and give them back to; default: a pool of this job's own, closed at its end. */
  pool?: WorkerPool | undefined;
  backend: BackendName;
  /** Workers to take (≥ 1). */
  count: number;
  end: JobEnd;
  /** What a failing worker is called in errors ('Fisher worker', 'training worker'). */
  what: string;
  /** What is left unfinished when a worker dies mid-way ('the build', 'training'). */
  task: string;
  /** The job's message to worker w. */
  start: (w: number) => ToPoolWorker;
  /** Worker w's job messages, until the job is settled. */
  onMessage: (w: number, message: Exclude<FromPoolWorker, { type: 'ready' | 'idle' | 'error' }>) => void;
  /** This thread's part, given the workers; returns when it has nothing more to do (the job may still run). */
  run: (workers: Worker[]) => Promise<void>;
}

/**
 * Runs a job on pool workers and this thread: takes the workers, posts each its job, routes their
 * messages and failures into `end`, runs this thread's part, waits for the job to settle. Then a job
 * that succeeded gives its workers back once each has answered 'idle'; one that failed or was
 * cancelled terminates them. Throws the job's failure.
 */
export async function runWorkerJob(job: WorkerJob): Promise<void> {
  const pool = job.pool ?? new WorkerPool(job.backend);
  if (pool.backend !== job.backend) {
    throw new SsseError('BAD_ARGUMENT', `the worker pool runs the ${pool.backend} backend, but this job needs ${job.backend}`);
  }
  const { end } = job;
  const workers: Worker[] = [];
  const idle: Promise<void>[] = [];
  try {
    if (!end.isSettled) workers.push(...pool.take(job.count));
    workers.forEach((worker, w) => {
      idle.push(
        new Promise<void>((resolve) => {
          worker.on('message', (message: FromPoolWorker) => {
            if (message.type === 'idle') resolve();
            else if (message.type === 'ready' || end.isSettled) return;
            else if (message.type === 'error') {
              end.finish(new SsseError(message.code ?? 'RESOURCE', message.code ? message.message : `${job.what} failed: ${message.message}`));
            } else job.onMessage(w, message);
          });
          worker.on('exit', (code) => {
            resolve();
            if (!end.isSettled) end.finish(new SsseError('RESOURCE', `a ${job.what} exited (code ${code}) before ${job.task} finished; out of memory?`));
          });
        }),
      );
      worker.on('error', (e) => end.finish(new SsseError('RESOURCE', `${job.what} failed: ${e.message}`)));
      worker.postMessage(job.start(w));
    });
    if (!end.isSettled) {
      try {
        await job.run(workers);
      } catch (e) {
        end.finish(e instanceof Error ? e : new Error(String(e)));
      }
    }
    await end.whenSettled();
  } finally {
    end.cancel(); // no-op when settled; stops the workers' loops otherwise
    if (end.failure) await Promise.all(workers.map((w) => w.terminate()));
    else {
      // Nothing is left to claim, so each stops at once: this waits a message's delay.
      await Promise.all(idle);
      pool.giveBack(workers);
    }
    if (!job.pool) await pool.close();
  }
  if (end.failure) throw end.failure;
}

import { randomUUID } from 'node:crypto';
import type { IpcError, JobKind, JobView } from '../../preload/contract.js';
import type { EngineChild, SpawnEngine, WorkerJob } from '../worker/protocol.js';

export interface StartJob {
  kind: JobKind;
  label: string;
  job: WorkerJob;
  requestId?: number | null;
  modelVersionId?: number | null;
  /** Called in main with the worker's result before the job is reported done (e.g. to refresh caches). */
  onDone?: (result: unknown) => void;
  /** Called when the job failed or was cancelled (e.g. to record the request as failed). */
  onFailed?: (error: IpcError) => void;
}

export interface JobManagerOptions {
  /** How long a cancelled job may take to stop by itself before its process is killed. */
  cancelGraceMs?: number;
  /** At most one progress update per job in this many milliseconds (phase changes always pass). */
  progressIntervalMs?: number;
}

/**
 * Runs each long job in its own engine process and keeps what the renderer needs to show them:
 * the phases with their latest progress, the state, the error. Every change is pushed through
 * `emit` (the 'jobs:update' event), throttled so that a chatty phase cannot flood the window.
 */
export class JobManager {
  private readonly jobs = new Map<string, { view: JobView; child: EngineChild; lastEmit: number; pending: ReturnType<typeof setTimeout> | null; finished: Promise<JobView>; requestId: Promise<number | null> }>();
  private readonly cancelGraceMs: number;
  private readonly progressIntervalMs: number;

  constructor(
    private readonly spawn: SpawnEngine,
    private readonly emit: (view: JobView) => void,
    options: JobManagerOptions = {},
  ) {
    this.cancelGraceMs = options.cancelGraceMs ?? 5000;
    this.progressIntervalMs = options.progressIntervalMs ?? 100;
  }

  start(spec: StartJob): JobView {
    const jobId = randomUUID();
    const view: JobView = {
      jobId,
      kind: spec.kind,
      label: spec.label,
      startedAt: new Date().toISOString(),
      requestId: spec.requestId ?? null,
      modelVersionId: spec.modelVersionId ?? null,
      phases: [],
      state: 'running',
      error: null,
    };
    const child = this.spawn();
    let resolveFinished: (v: JobView) => void = () => undefined;
    const finished = new Promise<JobView>((resolve) => (resolveFinished = resolve));
    let resolveRequest: (id: number | null) => void = () => undefined;
    const requestId = new Promise<number | null>((resolve) => (resolveRequest = resolve));
    if (view.requestId !== null) resolveRequest(view.requestId);
    void finished.then((v) => resolveRequest(v.requestId));
    const entry = { view, child, lastEmit: 0, pending: null as ReturnType<typeof setTimeout> | null, finished, requestId };
    this.jobs.set(jobId, entry);

    let settled = false;
    const settle = (state: JobView['state'], error: IpcError | null) => {
      if (settled) return;
      settled = true;
      if (entry.pending) clearTimeout(entry.pending);
      view.state = state;
      view.error = error;
      if (error) spec.onFailed?.(error);
      this.emit(structuredClone(view));
      resolveFinished(structuredClone(view));
    };

    child.onMessage((m) => {
      if (m.type === 'progress') {
        const phase = view.phases.find((p) => p.phase === m.phase);
        const isNew = !phase;
        if (phase) {
          phase.done = m.done;
          phase.total = m.total;
        } else {
          view.phases.push({ phase: m.phase, done: m.done, total: m.total });
        }
        this.throttledEmit(jobId, isNew || m.done === m.total);
      } else if (m.type === 'request') {
        view.requestId = m.requestId;
        resolveRequest(m.requestId);
        this.emit(structuredClone(view));
      } else if (m.type === 'done') {
        try {
          spec.onDone?.(m.result);
          settle('done', null);
        } catch (e) {
          settle('failed', { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) });
        }
      } else if (m.type === 'failed') {
        settle(m.error.code === 'CANCELLED' ? 'cancelled' : 'failed', m.error);
      }
    });
    child.onExit((code) => {
      if (view.state === 'cancelling') settle('cancelled', { code: 'CANCELLED', message: `${spec.label} was cancelled` });
      else settle('failed', { code: 'INTERNAL', message: `the engine process stopped (exit code ${code ?? 'none'}) before finishing ${spec.label}` });
    });
    child.send({ type: 'run', job: spec.job });
    this.emit(structuredClone(view));
    return structuredClone(view);
  }

  private throttledEmit(jobId: string, now: boolean): void {
    const entry = this.jobs.get(jobId);
    if (!entry) return;
    const since = Date.now() - entry.lastEmit;
    const send = () => {
      entry.pending = null;
      entry.lastEmit = Date.now();
      this.emit(structuredClone(entry.view));
    };
    if (now || since >= this.progressIntervalMs) {
      if (entry.pending) clearTimeout(entry.pending);
      send();
    } else if (!entry.pending) {
      entry.pending = setTimeout(send, this.progressIntervalMs - since);
    }
  }

  /** Asks the job to stop; its process is killed if it has not stopped within the grace period. */
  cancel(jobId: string): boolean {
    const entry = this.jobs.get(jobId);
    if (!entry || entry.view.state !== 'running') return false;
    entry.view.state = 'cancelling';
    entry.child.send({ type: 'cancel' });
    this.emit(structuredClone(entry.view));
    // Not unref'd: the process stays up until the job has really stopped.
    setTimeout(() => {
      if (entry.view.state === 'cancelling') entry.child.kill();
    }, this.cancelGraceMs);
    return true;
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((e) => structuredClone(e.view));
  }

  /** Resolves when the job has ended, with its final view. */
  finished(jobId: string): Promise<JobView> {
    const entry = this.jobs.get(jobId);
    if (!entry) return Promise.reject(new Error(`no job ${jobId}`));
    return entry.finished;
  }

  /** The request an erasure job recorded, once it has (null when the job ended without one). */
  requestIdOf(jobId: string): Promise<number | null> {
    const entry = this.jobs.get(jobId);
    return entry ? entry.requestId : Promise.resolve(null);
  }

  /** Kills every running job's process (on quit). */
  stopAll(): void {
    for (const e of this.jobs.values()) if (e.view.state === 'running' || e.view.state === 'cancelling') e.child.kill();
  }
}

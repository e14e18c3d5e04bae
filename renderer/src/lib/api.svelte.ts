import type { IpcError, IpcResult, JobView, SsseApi } from '../../../preload/contract';
import { API_KEY } from '../../../preload/contract';

/** The preload's API (in tests: the harness's, bound to the same handlers). */
export function getApi(): SsseApi {
  const api = (window as unknown as Record<string, SsseApi | undefined>)[API_KEY];
  if (!api) throw new Error('the workstation API is missing: open the app through Electron (npm start)');
  return api;
}

export class ApiError extends Error {
  constructor(readonly error: IpcError) {
    super(error.message);
  }
}

/** The value of a result, or an ApiError carrying its code and message. */
export async function unwrap<T>(result: Promise<IpcResult<T>>): Promise<T> {
  const r = await result;
  if (!r.ok) throw new ApiError(r.error);
  return r.value;
}

/** Every job the app knows of, kept current by the jobs:update event. */
class JobsStore {
  jobs = $state<JobView[]>([]);
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    const api = getApi();
    api.onJobUpdate((job) => this.upsert(job));
    void api.listJobs().then((r) => {
      if (r.ok) for (const j of r.value) this.upsert(j);
    });
  }

  upsert(job: JobView): void {
    const i = this.jobs.findIndex((j) => j.jobId === job.jobId);
    if (i >= 0) this.jobs[i] = job;
    else this.jobs.push(job);
  }

  get(jobId: string | null): JobView | null {
    return jobId === null ? null : (this.jobs.find((j) => j.jobId === jobId) ?? null);
  }
}

export const jobsStore = new JobsStore();

import { toIpcError } from '../ipc/errors.js';
import type { FromWorker, ToWorker, WorkerJob } from './protocol.js';
import { JobFailure, runJob } from './jobs.js';

/**
 * The engine process's entry point. In the app it runs in Electron's utilityProcess (messages on
 * process.parentPort); started with child_process.fork it uses process.send. It runs one job,
 * reports progress, honours a cancel message between units of work, posts the outcome and exits.
 */
interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function post(message: FromWorker): void {
  if (parentPort) parentPort.postMessage(message);
  else process.send?.(message);
}

const controller = new AbortController();
let started = false;

async function run(job: WorkerJob): Promise<void> {
  try {
    const result = await runJob(job, {
      signal: controller.signal,
      onProgress: (p) => post({ type: 'progress', ...p }),
      onRequest: (requestId) => post({ type: 'request', requestId }),
    });
    post({ type: 'done', result });
  } catch (e) {
    const error = e instanceof JobFailure ? e.error : toIpcError(e);
    if (error.code === 'INTERNAL') console.error('ssse engine:', e);
    post({ type: 'failed', error });
  }
  // Let the last message leave before exiting.
  setTimeout(() => process.exit(0), 50);
}

function onMessage(raw: unknown): void {
  const message = raw as ToWorker;
  if (message.type === 'cancel') controller.abort();
  else if (message.type === 'run' && !started) {
    started = true;
    void run(message.job);
  }
}

if (parentPort) parentPort.on('message', (e) => onMessage(e.data));
else process.on('message', onMessage);
post({ type: 'ready' });

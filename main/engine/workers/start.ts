import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { SsseError } from '../errors.js';

/** The engine's worker entry, a file next to this one. */
export type WorkerScript = 'poolWorker';

/**
 * Starts the worker entry `script` next to this file: script.js when compiled, script.ts when run
 * from source through tsx (tests, development), which the worker then loads through tsx too.
 */
export function startEngineWorker(script: WorkerScript, workerData: unknown, resourceLimits?: ResourceLimits): Worker {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `${script}${ext}`);
  if (!fs.existsSync(file)) throw new SsseError('RESOURCE', `the worker script is missing: ${file}`);
  const options = { workerData, ...(resourceLimits ? { resourceLimits } : {}) };
  if (ext === '.ts') {
    return new Worker(`require('tsx/cjs'); require(${JSON.stringify(file)});`, { eval: true, ...options });
  }
  return new Worker(file, options);
}

import * as os from 'node:os';
import * as path from 'node:path';
import { withStore, type Store, type StoreMode } from '../../db/connection.js';
import { initBackend, parseBackendChoice } from '../engine/backend.js';
import type { PhaseControl } from '../engine/progress.js';
import { WorkerPool } from '../engine/workers/pool.js';
import { SigintCancel, usageError, type CliIo } from './options.js';
import { ProgressBars } from './progressBar.js';

/** Options every command of the audit store takes. */
export const STORE_OPTIONS = {
  db: { type: 'string' },
  actor: { type: 'string' },
} as const;

export const DEFAULT_DB = 'ssse.db';

export const STORE_USAGE = `options of every audit-store command:
  --db PATH               the audit database (default ./ssse.db); artefacts live in PATH.artefacts/
  --actor NAME            who is acting, recorded in the audit log
                          (default $SSSE_ACTOR, else the operating-system user)
`;

/** Who acts: --actor, else $SSSE_ACTOR, else the operating-system user. */
export function actorOf(value: string | undefined): string {
  const given = value ?? process.env['SSSE_ACTOR'];
  if (given !== undefined && given.trim() !== '') return given.trim();
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}

export function dbPathOf(value: string | undefined, fallback = DEFAULT_DB): string {
  return path.resolve(value ?? fallback);
}

export function withCliStore<T>(values: { db?: string; actor?: string }, mode: StoreMode, fn: (store: Store) => Promise<T> | T): Promise<T> {
  return withStore(dbPathOf(values.db), { mode, actor: actorOf(values.actor) }, fn);
}

/**
 * Runs long work with progress bars on stderr and Ctrl-C cancelling it (a second Ctrl-C stops
 * at once), the way `ssse erase` does, with one set of worker threads for the command's phases
 * (training, certifying, retraining), closed when it ends.
 */
export async function withProgress<T>(io: CliIo, backendChoice: string | undefined, fn: (control: PhaseControl) => Promise<T>): Promise<T> {
  const cancel = new SigintCancel(io);
  cancel.listen();
  const bars = new ProgressBars(io.err);
  let pool: WorkerPool | null = null;
  try {
    const backend = await initBackend(parseBackendChoice(backendChoice ?? 'auto'));
    io.err.write(`ssse: backend ${backend.name} (${backend.provider})\n`);
    pool = new WorkerPool(backend.name);
    return await fn({ signal: cancel.signal, onProgress: bars.listener, pool });
  } finally {
    await pool?.close();
    bars.finish();
    cancel.release();
  }
}

/** A request number: 12 or #12. */
export function parseId(flag: string, value: string | undefined): number {
  const m = value === undefined ? null : /^\s*#?(\d{1,15})\s*$/.exec(value);
  if (!m) throw usageError(`${flag}: expected a request number, got "${value ?? ''}"`);
  return Number(m[1]);
}

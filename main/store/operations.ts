/**
 * Writing artefacts atomically, and cleaning up after processes that were killed.
 *
 * A process that will write artefact files first takes a lease (an operations row with its pid
 * and host). Before it writes, it records in the lease every path it may create; then it
 * stages and publishes the files (db/artefacts.ts) and, in ONE transaction, records them with
 * the new model version or certification and its audit entries, and drops the lease.
 *
 * A process killed at any point therefore leaves either the full new state (the transaction
 * committed) or the old state plus a lease whose pid is gone. `recoverInterrupted`, run at the
 * start of every writing command, removes the files such a lease planned (unless a row names
 * them), marks its request failed (it can be resumed), and logs what it did.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { absolute, newArtefactPath, publishStaged, removeFile, sha256Buffer, stageFile, stagingPath } from '../../db/artefacts.js';
import { appendAudit } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import {
  deleteOperation,
  getRequest,
  insertArtefact,
  insertOperation,
  listArtefacts,
  listOperations,
  setPlannedPaths,
  transaction,
  transitionRequest,
  type ArtefactKind,
  type ArtefactRow,
  type OperationRow,
} from '../../db/queries.js';
import { recordRef } from '../../db/records.js';
import { sha256OfFileRange, writeFullyAt } from '../engine/hash.js';
import { isProcessAlive } from '../engine/pid.js';
import { pauseIfRequested } from './testHooks.js';

export function now(): string {
  return new Date().toISOString();
}

/** Leases held by this process that are still running (its pid alone cannot tell them apart). */
const active = new Set<string>();
const key = (store: Store, operationId: number): string => `${store.file}#${operationId}`;

/** Takes a lease; call inside the transaction that starts the operation. */
export function beginOperation(store: Store, kind: string, requestId: number | null): number {
  const id = insertOperation(store.db, { kind, request_id: requestId, pid: process.pid, host: os.hostname(), started_at: now() });
  active.add(key(store, id));
  return id;
}

/** Drops a lease that wrote nothing (the operation failed or was cancelled before writing). */
export function endOperation(store: Store, operationId: number): void {
  deleteOperation(store.db, operationId);
  active.delete(key(store, operationId));
}

export interface NewArtefact {
  kind: ArtefactKind;
  /** How the file is laid out, for readers: e.g. "npy float64 d×A (784×10)". */
  format: string;
  data: Buffer;
}

/**
 * Stages and publishes the files, then runs `commit` with their new artefact rows inside one
 * transaction that also drops the lease. When anything fails before the commit, the files are
 * removed again and the lease stays for the caller to end.
 */
export function writeArtefacts<T>(store: Store, operationId: number, files: NewArtefact[], commit: (artefacts: ArtefactRow[]) => T): T {
  const planned = files.map((f) => newArtefactPath(f.kind));
  transaction(store.db, () => setPlannedPaths(store.db, operationId, [...planned, ...planned.map(stagingPath)]));
  const cleanUp = (): void => {
    for (const p of planned) {
      removeFile(store.root, p);
      removeFile(store.root, stagingPath(p));
    }
  };
  try {
    files.forEach((f, i) => stageFile(store.root, planned[i] as string, f.data));
    pauseIfRequested('write-staged');
    for (const p of planned) publishStaged(store.root, p);
    pauseIfRequested('write-published');
    const at = now();
    return recordArtefacts(
      store,
      operationId,
      files.map((f, i) => ({ kind: f.kind, path: planned[i] as string, sha256: sha256Buffer(f.data), bytes: f.data.length, format: f.format, created_at: at })),
      commit,
    );
  } catch (e) {
    cleanUp();
    throw e;
  }
}

/**
 * The published files' rows, the caller's commit and the end of the lease, in one transaction:
 * the step that makes an operation's artefacts part of the store.
 */
function recordArtefacts<T>(store: Store, operationId: number, rows: Omit<ArtefactRow, 'id'>[], commit: (artefacts: ArtefactRow[]) => T): T {
  const committed = transaction(store.db, () => {
    const result = commit(rows.map((row) => ({ id: insertArtefact(store.db, row), ...row })));
    deleteOperation(store.db, operationId);
    return result;
  });
  active.delete(key(store, operationId));
  return committed;
}

export interface Recovery {
  operation: OperationRow;
  removedFiles: string[];
  failedRequest: number | null;
}

/**
 * Cleans up after operations whose process is gone (see the module comment). Operations of live
 * processes, and of other hosts (whose liveness cannot be known here), are left alone.
 */
export function recoverInterrupted(store: Store): Recovery[] {
  const out: Recovery[] = [];
  const host = os.hostname();
  for (const candidate of listOperations(store.db)) {
    if (candidate.host !== host || active.has(key(store, candidate.id))) continue;
    if (candidate.pid !== process.pid && isProcessAlive(candidate.pid)) continue;
    const done = transaction(store.db, (): Recovery | null => {
      // Re-read inside the write lock: another process may have recovered it meanwhile.
      const op = listOperations(store.db).find((o) => o.id === candidate.id);
      if (!op) return null;
      const referenced = new Set(listArtefacts(store.db).map((a) => a.path));
      const removedFiles: string[] = [];
      for (const p of JSON.parse(op.planned_paths) as string[]) {
        if (!referenced.has(p) && removeFile(store.root, p)) removedFiles.push(absolute(store.root, p));
      }
      let failedRequest: number | null = null;
      const request = op.request_id === null ? null : getRequest(store.db, op.request_id);
      const at = now();
      if (request && (request.status === 'received' || request.status === 'computing')) {
        const reason =
          `interrupted: the process computing it (pid ${op.pid} on ${op.host}, started ${op.started_at}) stopped before finishing; ` +
          `no model version was written. Resume it with: ssse erase --resume ${request.id}`;
        transitionRequest(store.db, request.id, ['received', 'computing'], 'failed', { reason }, at);
        appendAudit(store.db, {
          actor: store.actor,
          action: 'request.failed',
          at,
          payload: { request: request.id, reason, records: [recordRef(store.db, 'requests', request.id)] },
        });
        failedRequest = request.id;
      }
      deleteOperation(store.db, op.id);
      appendAudit(store.db, {
        actor: store.actor,
        action: 'operation.recovered',
        at,
        payload: { operation: op.kind, pid: op.pid, host: op.host, started_at: op.started_at, request: op.request_id, removed_files: removedFiles },
      });
      return { operation: op, removedFiles, failedRequest };
    });
    if (done) out.push(done);
  }
  return out;
}

/**
 * Like writeArtefacts for one file that is produced piece by piece (a Fisher inverse streamed from
 * its build, which then never needs to be whole in memory): `produce` writes the staged file
 * through `write(bytes, position)`; the file's SHA-256 is then computed by reading it back, and it
 * is published and committed exactly as writeArtefacts does. A failure or cancellation inside
 * `produce` removes the staged file and leaves the lease for the caller to end.
 */
export async function writeArtefactStreamed<T>(
  store: Store,
  operationId: number,
  kind: ArtefactKind,
  format: string,
  produce: (write: (bytes: Uint8Array, position: number) => void) => Promise<void>,
  commit: (artefact: ArtefactRow) => T,
): Promise<T> {
  const planned = newArtefactPath(kind);
  transaction(store.db, () => setPlannedPaths(store.db, operationId, [planned, stagingPath(planned)]));
  const staged = absolute(store.root, stagingPath(planned));
  const cleanUp = (): void => {
    removeFile(store.root, planned);
    removeFile(store.root, stagingPath(planned));
  };
  try {
    fs.mkdirSync(path.dirname(staged), { recursive: true });
    const fd = fs.openSync(staged, 'wx+');
    let sha256: string;
    let bytes: number;
    try {
      await produce((data, position) => writeFullyAt(fd, data, position));
      fs.fsyncSync(fd);
      bytes = fs.fstatSync(fd).size;
      sha256 = sha256OfFileRange(fd, 0, bytes, staged);
    } finally {
      fs.closeSync(fd);
    }
    pauseIfRequested('write-staged');
    publishStaged(store.root, planned);
    pauseIfRequested('write-published');
    return recordArtefacts(store, operationId, [{ kind, path: planned, sha256, bytes, format, created_at: now() }], (rows) => commit(rows[0] as ArtefactRow));
  } catch (e) {
    cleanUp();
    throw e;
  }
}

/**
 * Opening the audit store: one SQLite file (better-sqlite3) plus its artefact folder.
 *
 * Before anything is written, the file is inspected through a read-only connection: it must be
 * an SQLite file, an ssse database (PRAGMA application_id) or an empty one, not from a newer
 * ssse (PRAGMA user_version), and pass PRAGMA quick_check. Any failure is an SsseError that
 * names the file and says it was left as it was. Only then is it opened for writing, with WAL,
 * synchronous = FULL and foreign keys on, and migrated.
 */
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SsseError } from '../main/engine/errors.js';
import { artefactRoot } from './artefacts.js';
import { APPLICATION_ID, futureVersion, migrate, schemaVersion } from './migrate.js';
import { LATEST_VERSION } from './migrations/index.js';
import type { Db } from './queries.js';

export type StoreMode = 'read' | 'write';

export interface Store {
  db: Db;
  /** Absolute path of the database file. */
  file: string;
  /** Absolute path of the artefact folder. */
  root: string;
  mode: StoreMode;
  /** Who acts through this handle; recorded in every audit entry. */
  actor: string;
  close(): void;
}

export interface OpenOptions {
  mode: StoreMode;
  actor: string;
  /** How long to wait for another process's lock (default $SSSE_DB_BUSY_TIMEOUT_MS or 5000 ms). */
  busyTimeoutMs?: number;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * SSSE_SQLITE_BINDING names a better-sqlite3 addon built for another runtime: `npm start` builds
 * one for Electron's ABI (scripts/start-electron.mjs) and leaves node_modules built for Node.
 */
function nativeBinding(): { nativeBinding?: string } {
  const file = process.env['SSSE_SQLITE_BINDING'];
  return file ? { nativeBinding: file } : {};
}

export function defaultBusyTimeout(): number {
  const v = Number(process.env['SSSE_DB_BUSY_TIMEOUT_MS']);
  return Number.isFinite(v) && v >= 0 ? v : 5000;
}

function isSqliteError(e: unknown): e is Error & { code: string } {
  return e instanceof Database.SqliteError;
}

/** Turns SQLite's errors into messages for people, naming the file. Other errors pass through. */
export function databaseError(e: unknown, file: string, busyTimeoutMs = defaultBusyTimeout()): unknown {
  if (!isSqliteError(e)) return e;
  const code = e.code;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new SsseError(
      'RESOURCE',
      `${file}: the database is locked by another process (waited ${(busyTimeoutMs / 1000).toFixed(1)} s); nothing was changed. Try again when that process has finished.`,
    );
  }
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return new SsseError('BAD_INPUT', `${file}: the database is damaged (${e.message}); it was left as it is. Restore it from a backup.`);
  }
  if (code.startsWith('SQLITE_READONLY')) return new SsseError('RESOURCE', `${file}: the database cannot be written (${e.message})`);
  if (code.startsWith('SQLITE_FULL')) return new SsseError('RESOURCE', `${file}: the disk is full; the last change was not saved`);
  if (code.startsWith('SQLITE_CANTOPEN')) return new SsseError('RESOURCE', `${file}: cannot open the database (${e.message})`);
  return new SsseError('RESOURCE', `${file}: database error ${code}: ${e.message}`);
}

function checkHeader(file: string): 'empty' | 'sqlite' {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    const read = fs.readSync(fd, head, 0, 16, 0);
    if (read === 0) return 'empty';
    if (read < 16 || !head.equals(SQLITE_HEADER)) {
      throw new SsseError('BAD_INPUT', `${file}: not an SQLite database (the file does not start with the SQLite header); it was left as it is`);
    }
    return 'sqlite';
  } finally {
    fs.closeSync(fd);
  }
}

/** Checks an existing file through a read-only connection; returns its schema version. */
function inspect(file: string, busyTimeoutMs: number): number {
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs, ...nativeBinding() });
  try {
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = schemaVersion(db);
    const objects = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM sqlite_master').get()?.n ?? 0;
    if (appId !== APPLICATION_ID && !(appId === 0 && version === 0 && objects === 0)) {
      throw new SsseError('BAD_INPUT', `${file}: an SQLite database, but not an ssse database (application_id ${appId}); it was left as it is`);
    }
    if (version > LATEST_VERSION) throw futureVersion(file, version, LATEST_VERSION);
    const check = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
    if (check.length !== 1 || check[0] !== 'ok') {
      const found = check.join('; ').replace(/\s*\n\s*/g, ' ');
      throw new SsseError('BAD_INPUT', `${file}: the database is damaged (integrity check: ${found}); it was left as it is. Restore it from a backup.`);
    }
    return version;
  } finally {
    db.close();
  }
}

/**
 * Opens (mode 'write': creating if absent, and migrating) the store at `file`. Read mode never
 * changes the database and refuses one that needs migrating.
 */
export function openStore(file: string, options: OpenOptions): Store {
  const abs = path.resolve(file);
  const busy = options.busyTimeoutMs ?? defaultBusyTimeout();
  let db: Db | null = null;
  try {
    let stat: fs.Stats | null = null;
    try {
      stat = fs.statSync(abs);
    } catch {
      stat = null;
    }
    if (stat?.isDirectory()) throw new SsseError('BAD_ARGUMENT', `--db ${abs}: is a folder; give the database file (e.g. ${path.join(abs, 'ssse.db')})`);
    if (!stat) {
      if (options.mode === 'read') {
        throw new SsseError('BAD_INPUT', `${abs}: no ssse database here (give --db PATH, or create one with \`ssse model train\`)`);
      }
      fs.mkdirSync(path.dirname(abs), { recursive: true });
    } else if (checkHeader(abs) === 'sqlite') {
      const version = inspect(abs, busy);
      if (options.mode === 'read' && version < LATEST_VERSION) {
        throw new SsseError(
          'BAD_INPUT',
          `${abs}: the database has schema version ${version}, older than this ssse's (${LATEST_VERSION}); upgrade it with \`ssse db upgrade --db ${file}\``,
        );
      }
    } else if (options.mode === 'read') {
      throw new SsseError('BAD_INPUT', `${abs}: the file is empty, not an ssse database`);
    }

    db = new Database(abs, { readonly: options.mode === 'read', fileMustExist: options.mode === 'read', timeout: busy, ...nativeBinding() });
    if (options.mode === 'write') {
      if (db.pragma('journal_mode', { simple: true }) !== 'wal') db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      migrate(db, { actor: options.actor, file: abs });
    } else {
      db.pragma('query_only = ON');
    }
    const handle = db;
    return {
      db: handle,
      file: abs,
      root: artefactRoot(abs),
      mode: options.mode,
      actor: options.actor,
      close: () => {
        if (handle.open) handle.close();
      },
    };
  } catch (e) {
    db?.close();
    throw databaseError(e, abs, busy);
  }
}

/** Opens, runs `fn`, closes; SQLite errors become clear SsseErrors naming the file. */
export async function withStore<T>(file: string, options: OpenOptions, fn: (store: Store) => Promise<T> | T): Promise<T> {
  const store = openStore(file, options);
  try {
    return await fn(store);
  } catch (e) {
    throw databaseError(e, store.file, options.busyTimeoutMs);
  } finally {
    store.close();
  }
}

/**
 * Fails at once, before any work, when another process holds the write lock: a command that
 * will compute for minutes should not find out at the end that it cannot record the result.
 */
export function assertWritable(store: Store): void {
  store.db.exec('BEGIN IMMEDIATE');
  store.db.exec('ROLLBACK');
}

import { SsseError } from '../main/engine/errors.js';
import { appendAudit } from './audit.js';
import { MIGRATIONS, type Migration } from './migrations/index.js';
import { transaction, type Db } from './queries.js';

/** PRAGMA application_id of an ssse database: "SSSE" in ASCII. */
export const APPLICATION_ID = 0x53535345;

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function hasTable(db: Db, name: string): boolean {
  return db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(name)?.n === 1;
}

/**
 * Brings a database up to `target` (default: the last migration), one migration per
 * transaction; each transaction also records the step in the audit log (once the log exists)
 * and sets PRAGMA user_version, so a failure leaves the database at the previous version.
 * A database from a newer version is refused and left untouched.
 */
export function migrate(db: Db, options: { actor: string; migrations?: readonly Migration[]; target?: number; file?: string }): { from: number; to: number } {
  const migrations = options.migrations ?? MIGRATIONS;
  const latest = migrations.length === 0 ? 0 : (migrations[migrations.length - 1] as Migration).version;
  const target = options.target ?? latest;
  const from = schemaVersion(db);
  const where = options.file ?? 'database';
  if (from > latest) throw futureVersion(where, from, latest);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrate: migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  let version = from;
  for (const m of migrations) {
    if (m.version <= from || m.version > target) continue;
    transaction(db, () => {
      if (m.version === 1) db.pragma(`application_id = ${APPLICATION_ID}`);
      m.up(db);
      if (hasTable(db, 'audit_log')) {
        appendAudit(db, { actor: options.actor, action: 'store.migrated', payload: { from: version, to: m.version, migration: m.name } });
      }
      db.pragma(`user_version = ${m.version}`);
    });
    version = m.version;
  }
  return { from, to: version };
}

export function futureVersion(file: string, version: number, latest: number): SsseError {
  return new SsseError(
    'BAD_INPUT',
    `${file}: the database has schema version ${version}, newer than this ssse understands (${latest}); ` +
      'it was written by a later ssse and was not opened for writing or changed. Use that version of ssse.',
  );
}

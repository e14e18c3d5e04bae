import { randomBytes } from 'node:crypto';
import type { Migration } from './types.js';

/** The 64-zero "previous hash" of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * The append-only audit log and the store's own settings.
 *
 * - audit_log: one row per action; `hash` covers the previous entry's hash and this entry's
 *   seq, time, actor, action and payload (db/audit.ts). Triggers refuse UPDATE and DELETE, and
 *   refuse an INSERT that does not extend the chain (wrong seq or prev_hash).
 * - audit_head: the last entry's seq and hash, kept by a trigger, so that removing entries from
 *   the end of the log (which leaves a valid chain behind) is still detected.
 * - meta: key/value settings; `subject_salt` is the per-database salt for subject references.
 */
export const migration0001: Migration = {
  version: 1,
  name: '0001-audit-log',
  up(db) {
    db.exec(`
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY CHECK (seq >= 1),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        payload TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE
      ) STRICT;

      CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;

      CREATE TRIGGER audit_log_extends_chain BEFORE INSERT ON audit_log
      WHEN NEW.seq <> COALESCE((SELECT seq FROM audit_head WHERE id = 1), 0) + 1
        OR NEW.prev_hash <> COALESCE((SELECT hash FROM audit_head WHERE id = 1), '${GENESIS_HASH}')
      BEGIN
        SELECT RAISE(ABORT, 'audit_log: a new entry must follow the last one (seq + 1, prev_hash = its hash)');
      END;

      CREATE TRIGGER audit_log_moves_head AFTER INSERT ON audit_log
      BEGIN
        INSERT OR REPLACE INTO audit_head (id, seq, hash) VALUES (1, NEW.seq, NEW.hash);
      END;

      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
      BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE is not allowed');
      END;

      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
      BEGIN
        SELECT RAISE(ABORT, 'audit_log is append-only: DELETE is not allowed');
      END;
    `);
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('subject_salt', randomBytes(32).toString('hex'));
  },
};

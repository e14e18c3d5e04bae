/**
 * The audit log: an append-only hash chain in the audit_log table.
 *
 * Entry n's hash is
 *
 *     hash_n = SHA-256( JSON.stringify(["ssse-audit-1", seq_n, hash_{n−1}, at_n, actor_n, action_n, payload_n]) )
 *
 * as lower-case hex, where hash_0 is 64 zeros, `at` an ISO 8601 UTC time, and `payload` the
 * entry's canonical JSON text (keys sorted at every level) exactly as stored. JSON.stringify of
 * an array of strings and integers is unambiguous, so no field can bleed into another. Anyone
 * can recompute the chain from the table with any SHA-256 and JSON implementation.
 *
 * Triggers (migration 0001) refuse UPDATE and DELETE, and any INSERT that does not extend the
 * chain; audit_head keeps the last seq and hash so that cutting entries off the end is seen.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../main/engine/hash.js';
import { GENESIS_HASH } from './migrations/index.js';
import type { Db } from './queries.js';
import type { RecordRef } from './records.js';

export const HASH_VERSION = 'ssse-audit-1';

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  /** Canonical JSON text. */
  payload: string;
  prev_hash: string;
  hash: string;
}

/** What an entry's payload may hold: anything JSON, plus the records it creates or changes. */
export type AuditPayload = Record<string, unknown> & { records?: RecordRef[] };

export function entryHash(e: Pick<AuditEntry, 'seq' | 'prev_hash' | 'at' | 'actor' | 'action' | 'payload'>): string {
  const text = JSON.stringify([HASH_VERSION, e.seq, e.prev_hash, e.at, e.actor, e.action, e.payload]);
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface AuditHead {
  seq: number;
  hash: string;
}

export function auditHead(db: Db): AuditHead {
  const row = db.prepare<[], AuditHead>('SELECT seq, hash FROM audit_head WHERE id = 1').get();
  return row ?? { seq: 0, hash: GENESIS_HASH };
}

/**
 * Appends one entry after the current head. Call inside the transaction that makes the change
 * it records, so that both are committed or neither.
 */
export function appendAudit(db: Db, entry: { actor: string; action: string; payload: AuditPayload; at?: string }): AuditEntry {
  if (!db.inTransaction) throw new Error('appendAudit: must be called inside a transaction');
  const head = auditHead(db);
  const row = {
    seq: head.seq + 1,
    at: entry.at ?? new Date().toISOString(),
    actor: entry.actor,
    action: entry.action,
    payload: canonicalJson(entry.payload),
    prev_hash: head.hash,
  };
  const full: AuditEntry = { ...row, hash: entryHash(row) };
  db.prepare('INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) VALUES (@seq, @at, @actor, @action, @payload, @prev_hash, @hash)').run(full);
  return full;
}

export function listAudit(db: Db, options: { limit?: number; afterSeq?: number } = {}): AuditEntry[] {
  const limit = options.limit ?? -1;
  return db
    .prepare<[number, number], AuditEntry>('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?')
    .all(options.afterSeq ?? 0, limit);
}

/** The last `limit` entries, oldest first. */
export function tailAudit(db: Db, limit: number): AuditEntry[] {
  return db.prepare<[number], AuditEntry>('SELECT * FROM (SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?) ORDER BY seq').all(limit);
}

/** Entries whose payload names the given record, oldest first. */
export function auditEntriesFor(db: Db, table: string, recordId: number): AuditEntry[] {
  return db
    .prepare<[string, number], AuditEntry>(
      `SELECT a.* FROM audit_log a
       WHERE EXISTS (SELECT 1 FROM json_each(a.payload, '$.records') r
                     WHERE json_extract(r.value, '$.table') = ? AND json_extract(r.value, '$.id') = ?)
       ORDER BY a.seq`,
    )
    .all(table, recordId);
}

export interface ChainProblem {
  /** The entry at fault (or the first entry after a gap). */
  seq: number;
  message: string;
}

/**
 * Recomputes the chain: every entry's hash from its content and its predecessor's hash, seq
 * without gaps from 1, and the last entry matching audit_head. Returns the problems found, the
 * first bad entry first, and the latest record digest the log holds for each record.
 */
export function verifyChain(db: Db): { entries: number; problems: ChainProblem[]; latest: Map<string, { sha256: string; seq: number }> } {
  const problems: ChainProblem[] = [];
  const latest = new Map<string, { sha256: string; seq: number }>();
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let entries = 0;
  let last: AuditEntry | null = null;
  for (const e of db.prepare<[], AuditEntry>('SELECT * FROM audit_log ORDER BY seq').iterate()) {
    entries++;
    if (e.seq !== expectedSeq) {
      const missing = e.seq - expectedSeq === 1 ? `entry ${expectedSeq} is` : `entries ${expectedSeq}–${e.seq - 1} are`;
      problems.push({ seq: expectedSeq, message: `${missing} missing: the log jumps from entry ${expectedSeq - 1} to entry ${e.seq} (deleted?)` });
    } else if (e.prev_hash !== prevHash) {
      problems.push({ seq: e.seq, message: `entry ${e.seq}: its previous-entry hash does not match entry ${e.seq - 1} (an entry was removed, replaced or reordered)` });
    }
    if (entryHash(e) !== e.hash) {
      problems.push({ seq: e.seq, message: `entry ${e.seq} (${e.action}, ${e.at}): its content does not match its hash (altered)` });
    }
    try {
      const payload = JSON.parse(e.payload) as AuditPayload;
      for (const r of payload.records ?? []) latest.set(`${r.table}#${r.id}`, { sha256: r.sha256, seq: e.seq });
    } catch {
      problems.push({ seq: e.seq, message: `entry ${e.seq}: its payload is not valid JSON` });
    }
    prevHash = e.hash;
    expectedSeq = e.seq + 1;
    last = e;
  }
  const head = db.prepare<[], AuditHead>('SELECT seq, hash FROM audit_head WHERE id = 1').get() ?? null;
  const lastSeq = last?.seq ?? 0;
  if (head && head.seq !== lastSeq) {
    problems.push({
      seq: Math.min(lastSeq, head.seq) + 1,
      message:
        head.seq > lastSeq
          ? `the log ends at entry ${lastSeq} but its head records entry ${head.seq}: entries ${lastSeq + 1}–${head.seq} were cut off (truncated log)`
          : `the log has entries after its recorded head (entry ${head.seq}): entries ${head.seq + 1}–${lastSeq} were added without the trigger`,
    });
  } else if (head && last && head.hash !== last.hash) {
    problems.push({ seq: lastSeq, message: `entry ${lastSeq}: its hash differs from the recorded head (the last entry was replaced)` });
  } else if (!head && last) {
    problems.push({ seq: 1, message: 'the log head record is missing (audit_head was emptied)' });
  }
  problems.sort((a, b) => a.seq - b.seq);
  return { entries, problems, latest };
}

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { appendAudit, entryHash, listAudit, verifyChain } from '../../db/audit.js';
import { migrate } from '../../db/migrate.js';
import { GENESIS_HASH } from '../../db/migrations/index.js';
import { listArtefacts, transaction } from '../../db/queries.js';
import { copyStore, populatedStore, ssse, type PopulatedStore } from '../helpers/storeFixtures.js';

/** The documented formula, written out independently of db/audit.ts. */
function referenceHash(seq: number, prev: string, at: string, actor: string, action: string, payload: string): string {
  const q = (s: string): string => JSON.stringify(s);
  const text = `[${q('ssse-audit-1')},${seq},${q(prev)},${q(at)},${q(actor)},${q(action)},${q(payload)}]`;
  return createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex');
}

function memoryLog(): Database.Database {
  const db = new Database(':memory:');
  migrate(db, { actor: 'test' });
  return db;
}

describe('the audit chain', () => {
  test('each hash is SHA-256 over [version, seq, previous hash, time, actor, action, canonical payload]', () => {
    const db = memoryLog();
    const e = transaction(db, () => appendAudit(db, { actor: 'Zoë "z" O\'Neil', action: 'test.action', at: '2026-02-03T04:05:06.789Z', payload: { b: [1, 2.5, null], a: { y: 'ü', x: true } } }));
    assert.equal(e.payload, '{"a":{"x":true,"y":"ü"},"b":[1,2.5,null]}', 'keys are sorted at every level');
    const prev = listAudit(db).at(-2)?.hash as string;
    assert.equal(e.prev_hash, prev);
    assert.equal(e.hash, referenceHash(e.seq, prev, e.at, e.actor, e.action, e.payload));
    assert.equal(entryHash(e), e.hash);
    assert.equal(listAudit(db)[0]?.prev_hash, GENESIS_HASH);
  });

  test('UPDATE and DELETE on the log are refused by triggers, and so is an entry that does not extend the chain', () => {
    const db = memoryLog();
    assert.throws(() => db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1").run(), /append-only: UPDATE/);
    assert.throws(() => db.prepare('DELETE FROM audit_log WHERE seq = 1').run(), /append-only: DELETE/);
    assert.throws(() => db.prepare('DELETE FROM audit_log').run(), /append-only: DELETE/);
    const head = listAudit(db).at(-1);
    assert.ok(head);
    const insert = db.prepare('INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)');
    assert.throws(() => insert.run(head.seq + 1, 't', 'a', 'x', '{}', GENESIS_HASH, 'h1'), /must follow the last one/);
    assert.throws(() => insert.run(head.seq + 2, 't', 'a', 'x', '{}', head.hash, 'h2'), /must follow the last one/);
    assert.equal(verifyChain(db).problems.length, 0);
  });

  test('appendAudit refuses to run outside a transaction', () => {
    const db = memoryLog();
    assert.throws(() => appendAudit(db, { actor: 'a', action: 'x', payload: {} }), /inside a transaction/);
  });
});

describe('ssse audit verify', () => {
  let base: PopulatedStore;
  const copies: string[] = [];
  before(async () => {
    base = await populatedStore('audit');
  });
  after(() => {
    for (const dir of [base.dir, ...copies]) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh copy of the store, tampered with through a raw connection. */
  function tampered(tamper: (db: Database.Database, store: PopulatedStore) => void): PopulatedStore {
    const copy = copyStore(base, 'tamper');
    copies.push(copy.dir);
    const db = new Database(copy.db);
    try {
      tamper(db, copy);
    } finally {
      db.close();
    }
    return copy;
  }

  async function verify(store: PopulatedStore): Promise<{ code: number; first: string; out: string }> {
    const r = await ssse('audit', 'verify', '--db', store.db);
    return { code: r.code, first: r.out.split('\n')[1]?.trim() ?? '', out: r.out };
  }

  test('passes on an untouched store, and says what it checked', async () => {
    const r = await verify(base);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^OK: .*: \d+ audit entries chain correctly, \d+ records match the log, 3 artefact files match their SHA-256/);
  });

  test('names the edited entry when a row of the log was changed (trigger dropped)', async () => {
    const store = tampered((db) => {
      db.exec('DROP TRIGGER audit_log_no_update');
      db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 5").run();
    });
    const r = await verify(store);
    assert.equal(r.code, 1);
    assert.match(r.first, /^entry 5 \(model\.trained, .*\): its content does not match its hash \(altered\)$/);
  });

  test('names the missing entry when a row was deleted (trigger dropped)', async () => {
    const store = tampered((db) => {
      db.exec('DROP TRIGGER audit_log_no_delete');
      db.prepare('DELETE FROM audit_log WHERE seq = 6').run();
    });
    const r = await verify(store);
    assert.equal(r.code, 1);
    assert.match(r.first, /^entry 6 is missing: the log jumps from entry 5 to entry 7/);
  });

  test('detects a deleted entry even when the rest of the chain was re-hashed to hide it', async () => {
    // Someone who can run SQL deletes entry 6 and rewrites every later entry so the chain links
    // up again. The records the deleted entry vouched for now have no audit entry.
    const store = tampered((db) => {
      db.exec('DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_extends_chain; DROP TRIGGER audit_log_moves_head;');
      const entries = db.prepare('SELECT * FROM audit_log WHERE seq > 6 ORDER BY seq').all() as { seq: number; at: string; actor: string; action: string; payload: string }[];
      db.prepare('DELETE FROM audit_log WHERE seq >= 6').run();
      let prev = (db.prepare('SELECT hash FROM audit_log WHERE seq = 5').get() as { hash: string }).hash;
      for (const e of entries) {
        const row = { ...e, seq: e.seq - 1, prev_hash: prev };
        const hash = entryHash(row);
        db.prepare('INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)').run(row.seq, row.at, row.actor, row.action, row.payload, prev, hash);
        prev = hash;
      }
      db.prepare('UPDATE audit_head SET seq = seq - 1, hash = ?').run(prev);
    });
    const r = await verify(store);
    assert.equal(r.code, 1);
    assert.match(r.out, /(certifications|artefacts) #\d: not in the audit log/);
  });

  test('names the truncation when entries were cut off the end (trigger dropped)', async () => {
    const store = tampered((db) => {
      db.exec('DROP TRIGGER audit_log_no_delete');
      const last = (db.prepare('SELECT MAX(seq) AS s FROM audit_log').get() as { s: number }).s;
      db.prepare('DELETE FROM audit_log WHERE seq > ?').run(last - 2);
    });
    const r = await verify(store);
    assert.equal(r.code, 1);
    assert.match(r.first, /^the log ends at entry (\d+) but its head records entry (\d+): entries \d+–\d+ were cut off \(truncated log\)$/);
  });

  test('names the artefact file when two artefact files were swapped', async () => {
    const store = tampered((db, copy) => {
      const params = listArtefacts(db).filter((a) => a.kind === 'parameters');
      assert.equal(params.length, 2);
      const [a, b] = params.map((p) => path.join(`${copy.db}.artefacts`, p.path));
      const tmp = `${a}.swap`;
      fs.renameSync(a as string, tmp);
      fs.renameSync(b as string, a as string);
      fs.renameSync(tmp, b as string);
    });
    const r = await verify(store);
    assert.equal(r.code, 1);
    assert.match(r.first, /^artefact #1 .*parameters\/[0-9a-f]{16}\.npy \(parameters of model m@1\): SHA-256 [0-9a-f]{64}, the database recorded [0-9a-f]{64} \(altered or replaced\)$/);
    assert.match(r.out, /artefact #3 .*\(parameters of model m@2\): SHA-256/);
  });

  test('names the record when a recorded value was edited outside ssse', async () => {
    const store = tampered((db) => {
      db.prepare('UPDATE requests SET gamma_S = 0.99 WHERE id = 1').run();
    });
    const r = await verify(store);
    assert.equal(r.code, 1);
    assert.match(r.first, /^requests #1: differs from what audit entry \d+ recorded \(altered after it was logged\)$/);
  });

  test('names the record when a recorded row was deleted outside ssse', async () => {
    const store = tampered((db) => {
      db.prepare('DELETE FROM calibrations').run();
    });
    const r = await verify(store);
    assert.equal(r.code, 1);
    assert.match(r.first, /^calibrations #1: recorded by audit entry \d+ but no longer in the database \(deleted\)$/);
  });

  test('--json reports the same problems as data', async () => {
    const store = tampered((db) => {
      db.exec('DROP TRIGGER audit_log_no_update');
      db.prepare("UPDATE audit_log SET payload = '{}' WHERE seq = 2").run();
    });
    const r = await ssse('audit', 'verify', '--json', '--db', store.db);
    assert.equal(r.code, 1);
    const report = JSON.parse(r.out) as { ok: boolean; problems: string[] };
    assert.equal(report.ok, false);
    assert.match(report.problems[0] ?? '', /^entry 2 /);
  });

  test('audit log prints every entry in order; --json with payloads', async () => {
    const r = await ssse('audit', 'log', '--json', '--db', base.db);
    assert.equal(r.code, 0);
    const entries = JSON.parse(r.out) as { seq: number; action: string; payload: unknown }[];
    assert.deepEqual(entries.map((e) => e.seq), entries.map((_, i) => i + 1));
    assert.deepEqual(
      entries.map((e) => e.action).filter((a) => !a.startsWith('store.')),
      ['dataset.registered', 'model.trained', 'model.certified', 'model.calibrated', 'request.received', 'request.computing', 'erasure.applied', 'verification.done'],
    );
    const text = await ssse('audit', 'log', '--limit', '2', '--db', base.db);
    assert.equal(text.out.trim().split('\n').length, 2);
    assert.match(text.out, /verification\.done/);
  });
});

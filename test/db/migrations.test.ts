import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { listAudit, verifyChain } from '../../db/audit.js';
import { openStore } from '../../db/connection.js';
import { APPLICATION_ID, migrate, schemaVersion } from '../../db/migrate.js';
import { LATEST_VERSION, MIGRATIONS, type Migration } from '../../db/migrations/index.js';
import { getMeta, insertArtefact, insertDataset, insertModel, listModels, transaction } from '../../db/queries.js';
import { verifyStore } from '../../db/verify.js';
import { SsseError } from '../../main/engine/errors.js';
import { tempDir } from '../helpers/storeFixtures.js';

const ACTOR = 'tester';

function tables(db: Database.Database): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all() as string[]);
}

/** The tables each schema version has (written out by hand, not derived from the migrations). */
const TABLES_AT: Record<number, string[]> = {
  1: ['audit_head', 'audit_log', 'meta'],
  2: ['artefacts', 'audit_head', 'audit_log', 'calibrations', 'certifications', 'dataset_files', 'datasets', 'meta', 'models'],
  3: ['artefacts', 'audit_head', 'audit_log', 'calibrations', 'certifications', 'dataset_files', 'datasets', 'meta', 'models', 'operations', 'request_samples', 'request_sweep', 'requests'],
};

/** Representative content of a database at `version`, written with that version's tables. */
function populate(db: Database.Database, version: number): void {
  if (version < 2) return;
  transaction(db, () => {
    const dataset = insertDataset(db, {
      name: 'd', fingerprint: 'f'.repeat(64), dir: '/data', format: 'npy', n: 10, d: 2, attributes: 1, attribute_names: '["a"]',
      test_n: null, limit_train: null, limit_test: null, registered_at: '2026-01-01T00:00:00.000Z', registered_by: ACTOR,
    });
    const artefact = insertArtefact(db, { kind: 'parameters', path: 'parameters/x.npy', sha256: 'a'.repeat(64), bytes: 144, format: 'npy', created_at: '2026-01-01T00:00:00.000Z' });
    insertModel(db, {
      name: 'm', version: 1, parent_id: null, dataset_id: dataset, origin: 'trained', architecture: 'linear', d: 2, attributes: 1, l2: 1e-4, seed: 0,
      training: '{}', backend: 'cpu', backend_provider: 'p', parameters_id: artefact, parameters_sha256: 'b'.repeat(64),
      created_at: '2026-01-01T00:00:00.000Z', created_by: ACTOR,
    });
  });
}

describe('migrations', () => {
  test('the registry is numbered 1, 2, 3… without gaps and LATEST_VERSION is the last', () => {
    MIGRATIONS.forEach((m, i) => assert.equal(m.version, i + 1, m.name));
    assert.equal(LATEST_VERSION, 3);
    assert.deepEqual(Object.keys(TABLES_AT).map(Number), MIGRATIONS.map((m) => m.version));
  });

  for (const m of MIGRATIONS) {
    test(`${m.name} applies to an empty database`, () => {
      const db = new Database(':memory:');
      const result = migrate(db, { actor: ACTOR, target: m.version });
      assert.deepEqual(result, { from: 0, to: m.version });
      assert.equal(schemaVersion(db), m.version);
      assert.equal(db.pragma('application_id', { simple: true }), APPLICATION_ID);
      assert.deepEqual(tables(db), TABLES_AT[m.version]);
      // One audit entry per migration applied, and the chain is valid.
      assert.deepEqual(listAudit(db).map((e) => JSON.parse(e.payload) as unknown), MIGRATIONS.slice(0, m.version).map((x, i) => ({ from: i, to: x.version, migration: x.name })));
      assert.deepEqual(verifyChain(db).problems, []);
      if (m.version === LATEST_VERSION) assert.equal(verifyStore(db, '/nonexistent').ok, true);
      db.close();
    });

    test(`${m.name} applies to a database of the previous version and keeps its content`, () => {
      const db = new Database(':memory:');
      db.pragma('foreign_keys = ON');
      migrate(db, { actor: ACTOR, target: m.version - 1 });
      populate(db, m.version - 1);
      const salt = m.version > 1 ? getMeta(db, 'subject_salt') : null;
      const auditBefore = m.version > 1 ? listAudit(db) : [];
      migrate(db, { actor: ACTOR, target: m.version });
      assert.equal(schemaVersion(db), m.version);
      assert.deepEqual(tables(db), TABLES_AT[m.version]);
      assert.deepEqual(listAudit(db).slice(0, auditBefore.length), auditBefore, 'earlier audit entries are untouched');
      assert.equal(listAudit(db).length, auditBefore.length + 1);
      if (salt !== null) assert.equal(getMeta(db, 'subject_salt'), salt, 'the subject salt survives');
      if (m.version > 2) assert.deepEqual(listModels(db).map((r) => `${r.name}@${r.version}`), ['m@1']);
      db.close();
    });
  }

  test('the subject salt is 32 random bytes, different in each database', () => {
    const a = new Database(':memory:');
    const b = new Database(':memory:');
    migrate(a, { actor: ACTOR });
    migrate(b, { actor: ACTOR });
    assert.match(getMeta(a, 'subject_salt') ?? '', /^[0-9a-f]{64}$/);
    assert.notEqual(getMeta(a, 'subject_salt'), getMeta(b, 'subject_salt'));
  });

  test('a migration that fails leaves the database at the previous version, with nothing of it applied', () => {
    const db = new Database(':memory:');
    migrate(db, { actor: ACTOR });
    const entries = listAudit(db).length;
    const broken: Migration = {
      version: LATEST_VERSION + 1,
      name: '9999-broken',
      up(d) {
        d.exec('CREATE TABLE half_done (x INTEGER) STRICT');
        throw new Error('boom');
      },
    };
    assert.throws(() => migrate(db, { actor: ACTOR, migrations: [...MIGRATIONS, broken] }), /boom/);
    assert.equal(schemaVersion(db), LATEST_VERSION);
    assert.ok(!tables(db).includes('half_done'));
    assert.equal(listAudit(db).length, entries);
  });

  test('a database from a newer version is refused, naming both versions, and is not changed', () => {
    const db = new Database(':memory:');
    migrate(db, { actor: ACTOR });
    db.pragma(`user_version = ${LATEST_VERSION + 5}`);
    const entries = listAudit(db).length;
    assert.throws(
      () => migrate(db, { actor: ACTOR, file: 'x.db' }),
      (e: unknown) => e instanceof SsseError && /x\.db: .*schema version 8, newer than this ssse understands \(3\)/.test(e.message),
    );
    assert.equal(schemaVersion(db), LATEST_VERSION + 5);
    assert.equal(listAudit(db).length, entries);
  });

  test('tables are STRICT and foreign keys are enforced', () => {
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, { actor: ACTOR });
    // STRICT: a string in an INTEGER column is an error, not a silent conversion.
    assert.throws(() => db.prepare("INSERT INTO operations (kind, pid, host, started_at) VALUES ('x', 'not a number', 'h', 't')").run(), /cannot store TEXT value in INTEGER column/);
    populate(db, 2);
    assert.throws(
      () => db.prepare("UPDATE models SET dataset_id = 999 WHERE name = 'm'").run(),
      /FOREIGN KEY constraint failed/,
    );
    // The lifecycle's invariants are in the schema too: a rejected request needs its reason.
    assert.throws(
      () => db.prepare("INSERT INTO requests (status, model_ref, received_at, due_at, entered_by, method, settings, updated_at) VALUES ('rejected', 'm', 't', 't', 'a', 'ssse', '{}', 't')").run(),
      /CHECK constraint failed/,
    );
  });

  test('openStore creates a database with WAL, synchronous = FULL and foreign keys on', () => {
    const dir = tempDir('pragmas');
    const store = openStore(path.join(dir, 'a.db'), { mode: 'write', actor: ACTOR });
    try {
      assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(store.db.pragma('synchronous', { simple: true }), 2); // FULL
      assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
      assert.equal(schemaVersion(store.db), LATEST_VERSION);
    } finally {
      store.close();
    }
    assert.ok(fs.existsSync(path.join(dir, 'a.db')));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

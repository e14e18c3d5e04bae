import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../db/connection.js';
import { migrate } from '../../db/migrate.js';
import { counts } from '../../db/queries.js';
import { auditHead } from '../../db/audit.js';
import { SsseError } from '../../main/engine/errors.js';
import { copyStore, populatedStore, removalFile, ssse, tempDir, type PopulatedStore } from '../helpers/storeFixtures.js';

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** What a reader sees of a store: its counts and the audit head. */
function snapshot(file: string): unknown {
  const db = new Database(file, { readonly: true });
  try {
    return { ...counts(db), head: auditHead(db) };
  } finally {
    db.close();
  }
}

describe('opening a database that is not fit to use', () => {
  let base: PopulatedStore;
  let dir: string;
  before(async () => {
    base = await populatedStore('open');
    dir = tempDir('open-bad');
  });
  after(() => {
    fs.rmSync(base.dir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a file that is not SQLite: a clear error naming it, and the file is left as it was', async () => {
    const file = path.join(dir, 'notes.db');
    fs.writeFileSync(file, 'these are my notes, not a database\n'.repeat(20));
    const before = sha(file);
    for (const args of [['requests'], ['audit', 'verify'], ['model', 'train', '--dataset', base.data, '--name', 'x']]) {
      const r = await ssse(...args, '--db', file);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.err, `ssse: ${file}: not an SQLite database (the file does not start with the SQLite header); it was left as it is\n`);
    }
    assert.equal(sha(file), before);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('notes')), ['notes.db']);
  });

  test('a damaged database: a clear error, and the file is left as it was', async () => {
    const copy = copyStore(base, 'damaged');
    const file = copy.db;
    // Overwrite the middle of the file (b-tree pages) with garbage, keeping the header intact.
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(size / 2 / 4096) * 4096);
    fs.closeSync(fd);
    const before = sha(file);
    for (const args of [['requests'], ['erase', '--model', 'm', '--remove', removalFile(copy.dir, 'r.txt', ['s0001'])]]) {
      const r = await ssse(...args, '--db', file);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.err, new RegExp(`^ssse: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the database is damaged \\(.+\\); it was left as it is\\. Restore it from a backup\\.\\n$`));
    }
    assert.equal(sha(file), before);
    fs.rmSync(copy.dir, { recursive: true, force: true });
  });

  test('a database from a newer ssse: refused for reading and writing, naming both versions, and not changed', async () => {
    const copy = copyStore(base, 'future');
    const raw = new Database(copy.db);
    raw.pragma('user_version = 7');
    raw.close();
    const before = sha(copy.db);
    for (const args of [['requests', '--json'], ['audit', 'verify'], ['erase', '--model', 'm', '--remove', removalFile(copy.dir, 'r.txt', ['s0001'])]]) {
      const r = await ssse(...args, '--db', copy.db);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.err, /the database has schema version 7, newer than this ssse understands \(3\); it was written by a later ssse and was not opened for writing or changed/);
    }
    assert.equal(sha(copy.db), before);
    fs.rmSync(copy.dir, { recursive: true, force: true });
  });

  test('an SQLite database of another program is refused', async () => {
    const file = path.join(dir, 'other.sqlite');
    const raw = new Database(file);
    raw.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)');
    raw.close();
    const before = sha(file);
    const r = await ssse('model', 'train', '--dataset', base.data, '--name', 'x', '--db', file);
    assert.equal(r.code, 1);
    assert.match(r.err, /other\.sqlite: an SQLite database, but not an ssse database \(application_id 0\); it was left as it is/);
    assert.equal(sha(file), before);
  });

  test('a locked database: writing commands fail at once with a clear error and record nothing; reading still works', async () => {
    const copy = copyStore(base, 'locked');
    const before = snapshot(copy.db);
    const holder = new Database(copy.db);
    const saved = process.env['SSSE_DB_BUSY_TIMEOUT_MS'];
    process.env['SSSE_DB_BUSY_TIMEOUT_MS'] = '50';
    try {
      holder.exec('BEGIN EXCLUSIVE');
      const rm = removalFile(copy.dir, 'r.txt', ['s0001', 's0002']);
      for (const args of [['erase', '--model', 'm', '--remove', rm], ['certify', '--model', 'm@2'], ['model', 'train', '--dataset', base.data, '--name', 'other']]) {
        const r = await ssse(...args, '--db', copy.db);
        assert.equal(r.code, 1, args.join(' '));
        assert.match(r.err, /the database is locked by another process \(waited 0\.1 s\); nothing was changed\. Try again when that process has finished\./);
      }
      // WAL: readers are not blocked by a writer.
      const list = await ssse('requests', '--json', '--db', copy.db);
      assert.equal(list.code, 0);
      holder.exec('ROLLBACK');
    } finally {
      holder.close();
      if (saved === undefined) delete process.env['SSSE_DB_BUSY_TIMEOUT_MS'];
      else process.env['SSSE_DB_BUSY_TIMEOUT_MS'] = saved;
    }
    assert.deepEqual(snapshot(copy.db), before);
    fs.rmSync(copy.dir, { recursive: true, force: true });
  });

  test('a database held in exclusive locking mode cannot even be read: a clear error', async () => {
    const copy = copyStore(base, 'exclusive');
    const holder = new Database(copy.db);
    const saved = process.env['SSSE_DB_BUSY_TIMEOUT_MS'];
    process.env['SSSE_DB_BUSY_TIMEOUT_MS'] = '50';
    try {
      holder.pragma('locking_mode = EXCLUSIVE');
      holder.exec("BEGIN IMMEDIATE; INSERT INTO meta (key, value) VALUES ('probe', 'x'); ROLLBACK;");
      const r = await ssse('requests', '--db', copy.db);
      assert.equal(r.code, 1);
      assert.match(r.err, /the database is locked by another process/);
    } finally {
      holder.close();
      if (saved === undefined) delete process.env['SSSE_DB_BUSY_TIMEOUT_MS'];
      else process.env['SSSE_DB_BUSY_TIMEOUT_MS'] = saved;
    }
    fs.rmSync(copy.dir, { recursive: true, force: true });
  });

  test('reading commands do not create a database that is not there', async () => {
    const file = path.join(dir, 'nothing-here.db');
    const r = await ssse('requests', '--db', file);
    assert.equal(r.code, 1);
    assert.match(r.err, /nothing-here\.db: no ssse database here/);
    assert.ok(!fs.existsSync(file));
  });

  test('reading commands refuse a database that needs upgrading; ssse db upgrade upgrades it', async () => {
    const file = path.join(dir, 'old.db');
    const raw = new Database(file);
    migrate(raw, { actor: 'past', target: 2 });
    raw.close();
    const r = await ssse('requests', '--db', file);
    assert.equal(r.code, 1);
    assert.match(r.err, /schema version 2, older than this ssse's \(3\); upgrade it with `ssse db upgrade --db /);
    assert.equal((await ssse('db', 'upgrade', '--db', file)).code, 0);
    const info = await ssse('db', 'info', '--json', '--db', file);
    assert.equal((JSON.parse(info.out) as { schema_version: number }).schema_version, 3);
    assert.equal((await ssse('audit', 'verify', '--db', file)).code, 0);
  });

  test('openStore errors are SsseErrors naming the file', () => {
    assert.throws(
      () => openStore(path.join(dir, 'missing.db'), { mode: 'read', actor: 'a' }),
      (e: unknown) => e instanceof SsseError && e.code === 'BAD_INPUT' && e.message.includes('missing.db'),
    );
  });
});

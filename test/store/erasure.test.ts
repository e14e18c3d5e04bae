import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { listArtefacts } from '../../db/queries.js';
import { loadDataset } from '../../main/engine/data/dataset.js';
import { readNpy } from '../../main/engine/data/npy.js';
import { copyStore, populatedStore, removalFile, ssse, type PopulatedStore } from '../helpers/storeFixtures.js';

interface RequestJson {
  id: number;
  status: string;
  model: string;
  result_model: string | null;
  received_at: string;
  due_at: string;
  gamma_S: number | null;
  k: number | null;
  reason: string | null;
  epsilon: number | null;
  epsilon_source: string | null;
}

async function requests(db: string): Promise<RequestJson[]> {
  const r = await ssse('requests', '--json', '--db', db);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as RequestJson[];
}

async function detail(db: string, id: number) {
  const r = await ssse('request', String(id), '--json', '--db', db);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as RequestJson & {
    subject_hash: string | null;
    legal_ground: string | null;
    samples: { id: string; row: number; features_sha256: string }[];
    settings: Record<string, unknown>;
    metrics: { n: number; k: number; accuracy: unknown; retraining: unknown } | null;
    sweep: { epsilon: number }[];
    audit: { action: string }[];
    timings_s: Record<string, number> | null;
  };
}

async function verifyOk(db: string): Promise<void> {
  const r = await ssse('audit', 'verify', '--db', db);
  assert.equal(r.code, 0, r.out);
}

describe('erasure requests against the store', () => {
  let base: PopulatedStore;
  const dirs: string[] = [];
  before(async () => {
    base = await populatedStore('erasure');
    dirs.push(base.dir);
  });
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });
  const copy = (prefix: string): PopulatedStore => {
    const c = copyStore(base, prefix);
    dirs.push(c.dir);
    return c;
  };

  test('a request runs against the stored artefacts and produces the next version, with every field recorded', async () => {
    const list = await requests(base.db);
    assert.equal(list.length, 1);
    const [r] = list;
    assert.ok(r);
    // The contract of `requests --json`.
    for (const key of ['id', 'status', 'model', 'received_at', 'gamma_S']) assert.ok(key in r, key);
    assert.equal(r.status, 'verified');
    assert.equal(r.model, 'm@1');
    assert.equal(r.result_model, 'm@2');
    assert.equal(r.k, 12);
    assert.equal(typeof r.gamma_S, 'number');
    assert.match(r.epsilon_source ?? '', /^sweep \(/);
    const d = await detail(base.db, r.id);
    assert.equal(d.legal_ground, 'GDPR Art. 17(1)(a)');
    assert.deepEqual(d.samples.map((s) => s.id), base.erased);
    // Each sample's fingerprint is the SHA-256 of its float32 feature row, recomputed here from the files.
    const data = loadDataset(base.data);
    for (const s of d.samples) {
      const row = data.train.features.subarray(s.row * data.d, (s.row + 1) * data.d);
      assert.equal(s.features_sha256, createHash('sha256').update(new Uint8Array(row.buffer, row.byteOffset, row.byteLength)).digest('hex'));
    }
    assert.equal(d.metrics?.n, 120);
    assert.equal(d.metrics?.k, 12);
    assert.deepEqual(d.sweep.map((s) => s.epsilon), [0.5, 1, 2]);
    assert.deepEqual(d.audit.map((a) => a.action), ['request.received', 'request.computing', 'erasure.applied', 'verification.done']);
    assert.ok(d.timings_s && d.timings_s['total'] !== undefined && d.timings_s['retrain'] !== undefined);
    assert.equal(d.settings['damping'], 1e-4);
    assert.equal(d.settings['verify'], 'retrain');
  });

  test('the new version is the step from the stored θ and F̂⁻¹: the erased parameters equal θ̂ of a stand-alone run on the same data', async () => {
    // The stand-alone command trains θ* and F̂⁻¹ itself (no cache); the same routine, data and
    // seed give the same θ*, so both runs must agree. Tolerance: training stops at a relative
    // accuracy of 1e-6 (trainLinear), and the two runs are the same computation, so 1e-9 abs.
    const ids = removalFile(base.dir, 'standalone.txt', base.erased);
    const out = path.join(base.dir, 'standalone');
    const r = await ssse('erase', '--dataset', base.data, '--remove', ids, '--out', out, '--no-cache', '--epsilon', String((await requests(base.db))[0]?.epsilon), '--verify', 'none', '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    const standalone = readNpy(path.join(out, 'theta_hat.npy')).data;
    const db = new Database(base.db, { readonly: true });
    const artefact = listArtefacts(db).filter((a) => a.kind === 'parameters')[1];
    db.close();
    assert.ok(artefact);
    const stored = readNpy(path.join(`${base.db}.artefacts`, artefact.path)).data;
    assert.equal(stored.length, standalone.length);
    let worst = 0;
    for (let i = 0; i < stored.length; i++) worst = Math.max(worst, Math.abs((stored[i] as number) - (standalone[i] as number)));
    assert.ok(worst < 1e-9, `max |Δθ̂| = ${worst}`);
  });

  test('the subject reference is stored only as a salted hash: not in the database file, and different in another database', async () => {
    const db = new Database(base.db, { readonly: true });
    const bytes = Buffer.concat([fs.readFileSync(base.db), ...['-wal'].filter((s) => fs.existsSync(base.db + s)).map((s) => fs.readFileSync(base.db + s))]);
    db.close();
    assert.equal(bytes.indexOf('alice@example.com'), -1);
    const d = await detail(base.db, 1);
    assert.match(d.subject_hash ?? '', /^[0-9a-f]{64}$/);
    const other = await populatedStore('erasure-other');
    dirs.push(other.dir);
    const o = await detail(other.db, 1);
    assert.notEqual(o.subject_hash, d.subject_hash, 'each database has its own salt');
    // The same reference finds the request again.
    const found = await ssse('requests', '--subject', ' alice@example.com ', '--json', '--db', base.db);
    assert.deepEqual((JSON.parse(found.out) as RequestJson[]).map((x) => x.id), [1]);
    const none = await ssse('requests', '--subject', 'bob', '--json', '--db', base.db);
    assert.deepEqual(JSON.parse(none.out), []);
  });

  test('the due date is one month after receipt by default; both can be given', async () => {
    const store = copy('dates');
    const rm = removalFile(store.dir, 'r.txt', ['s0100', 's0101']);
    const r = await ssse('erase', '--model', 'm@1', '--remove', rm, '--received', '2027-01-31', '--epsilon', '1', '--verify', 'none', '--db', store.db);
    assert.equal(r.code, 0, r.out + r.err);
    const r2 = await ssse('erase', '--model', 'm@1', '--remove', removalFile(store.dir, 'r2.txt', ['s0102']), '--received', '2027-03-01', '--due', '2027-03-15', '--epsilon', '1', '--verify', 'none', '--db', store.db);
    assert.equal(r2.code, 0, r2.out + r2.err);
    const list = await requests(store.db);
    assert.equal(list[1]?.received_at, '2027-01-31T00:00:00.000Z');
    assert.equal(list[1]?.due_at, '2027-02-28T00:00:00.000Z');
    assert.equal(list[2]?.due_at, '2027-03-15T00:00:00.000Z');
    assert.equal(list[1]?.status, 'applied', 'not verified without retraining');
    assert.equal(list[1]?.gamma_S, null);
    await verifyOk(store.db);
  });

  test('bad requests are rejected with a clear reason, recorded as rejected, and change no model', async () => {
    const store = copy('bad');
    const cases: { args: string[]; reason: RegExp }[] = [
      { args: ['--model', 'nosuch', '--remove', removalFile(store.dir, 'ok.txt', ['s0001'])], reason: /^unknown model "nosuch": there is no such model in / },
      { args: ['--model', 'm@7', '--remove', removalFile(store.dir, 'ok2.txt', ['s0001'])], reason: /^unknown model version "m@7": model "m" has versions 1–2$/ },
      { args: ['--model', 'm', '--remove', removalFile(store.dir, 'unknown.txt', ['s0001', 'nobody', 's9999'])], reason: /unknown\.txt: 2 entries name no training sample: "nobody" \(line 2\), "s9999" \(line 3\)/ },
      { args: ['--model', 'm', '--remove', removalFile(store.dir, 'empty.txt', [])], reason: /empty\.txt: the removal request is empty \(k = 0\)/ },
      { args: ['--model', 'm', '--remove', removalFile(store.dir, 'again.txt', ['s0001', base.erased[0] as string, base.erased[1] as string])], reason: /^2 of the 3 samples named were already erased from model m@2 by an earlier request: "s0003" \(request #1\), "s0010" \(request #1\)$/ },
      { args: ['--model', 'm', '--remove', path.join(store.dir, 'no-such-file.txt')], reason: /no-such-file\.txt: removal file not found/ },
      { args: ['--model', 'm@2', '--remove', removalFile(store.dir, 'uncert.txt', ['s0001'])], reason: /^model m@2 is not certified \(no stored Fisher inverse\); run: ssse certify --model m@2$/ },
    ];
    for (const c of cases) {
      const r = await ssse('erase', ...c.args, '--epsilon', '1', '--verify', 'none', '--db', store.db);
      assert.equal(r.code, 1, `${c.args.join(' ')}: ${r.out}${r.err}`);
      assert.match(r.out, /^Request #\d+ REJECTED: /);
    }
    const list = await requests(store.db);
    const rejected = list.slice(1);
    assert.equal(rejected.length, cases.length);
    rejected.forEach((r, i) => {
      assert.equal(r.status, 'rejected');
      assert.match(r.reason ?? '', (cases[i] as { reason: RegExp }).reason);
      assert.equal(r.result_model, null);
    });
    // The already-erased rejection records which samples were named.
    const again = await detail(store.db, rejected[4]?.id as number);
    assert.deepEqual(again.samples.map((s) => s.id), ['s0001', 's0003', 's0010']);
    assert.deepEqual(again.audit.map((a) => a.action), ['request.received', 'request.rejected']);
    const models = await ssse('model', 'list', '--json', '--db', store.db);
    assert.deepEqual((JSON.parse(models.out) as { model: string }[]).map((m) => m.model), ['m@1', 'm@2']);
    await verifyOk(store.db);
  });

  test('erasing from an erased version: samples of every earlier erasure stay out, and the retrained model is trained without both sets', async () => {
    const store = copy('chain');
    assert.equal((await ssse('certify', '--model', 'm@2', '--db', store.db)).code, 0);
    const second = ['s0060', 's0061', 's0062', 's0063', 's0064', 's0065'];
    const r = await ssse('erase', '--model', 'm', '--remove', removalFile(store.dir, 'second.txt', second), '--epsilon-sweep', '1', '--db', store.db);
    assert.equal(r.code, 0, r.out + r.err);
    const d = await detail(store.db, 2);
    assert.equal(d.model, 'm@2');
    assert.equal(d.result_model, 'm@3');
    assert.equal(d.metrics?.n, 120 - 12, 'm@2 was trained on 108 samples');
    assert.equal(d.metrics?.k, 6);
    const models = JSON.parse((await ssse('model', 'list', '--json', '--db', store.db)).out) as { model: string; parent: string | null; request: number | null }[];
    assert.deepEqual(models.map((m) => [m.model, m.parent, m.request]), [['m@1', null, null], ['m@2', 'm@1', 1], ['m@3', 'm@2', 2]]);
    // From m@3, both earlier sets count as erased.
    const again = await ssse('erase', '--model', 'm@3', '--remove', removalFile(store.dir, 'x.txt', [base.erased[2] as string, 's0064']), '--epsilon', '1', '--verify', 'none', '--db', store.db);
    assert.equal(again.code, 1);
    assert.match(again.out, /2 of the 2 samples named were already erased from model m@3 by an earlier request: "s0017" \(request #1\), "s0064" \(request #2\)/);
    await verifyOk(store.db);
  });

  test('without retraining, ε comes from the certification\'s calibration', async () => {
    const store = copy('calibrated');
    const r = await ssse('erase', '--model', 'm@1', '--remove', removalFile(store.dir, 'c.txt', ['s0090', 's0091', 's0092']), '--verify', 'none', '--json', '--db', store.db);
    assert.equal(r.code, 0, r.err);
    const d = JSON.parse(r.out) as RequestJson & { settings: { calibration: number } };
    assert.equal(d.status, 'applied');
    assert.equal(d.epsilon_source, 'calibration #1');
    assert.equal(d.settings.calibration, 1);
    const models = JSON.parse((await ssse('model', 'list', '--json', '--db', store.db)).out) as { certifications: { calibration: { epsilon: number } | null }[] }[];
    assert.equal(d.epsilon, models[0]?.certifications[0]?.calibration?.epsilon);
  });

  test('an artefact that no longer matches its SHA-256 is never computed from: the request fails, naming the file', async () => {
    const store = copy('swapped');
    const db = new Database(store.db, { readonly: true });
    const [p1, p2] = listArtefacts(db).filter((a) => a.kind === 'parameters').map((a) => path.join(`${store.db}.artefacts`, a.path));
    db.close();
    fs.copyFileSync(p2 as string, p1 as string);
    const r = await ssse('erase', '--model', 'm@1', '--remove', removalFile(store.dir, 's.txt', ['s0001']), '--epsilon', '1', '--verify', 'none', '--db', store.db);
    assert.equal(r.code, 1);
    assert.match(r.out, /Request #2 FAILED: failed: .*parameters\/[0-9a-f]{16}\.npy: parameters of model m@1: the file does not match the database/);
    const list = await requests(store.db);
    assert.equal(list[1]?.status, 'failed');
    const v = await ssse('audit', 'verify', '--db', store.db);
    assert.equal(v.code, 1);
    assert.match(v.out, /parameters of model m@1\): SHA-256/);
  });

  test('model import registers a d×A theta file; a wrong shape is refused naming the file', async () => {
    const store = copy('import');
    const db = new Database(store.db, { readonly: true });
    const first = listArtefacts(db)[0];
    db.close();
    assert.ok(first);
    const theta = path.join(store.dir, 'theta.npy');
    fs.copyFileSync(path.join(`${store.db}.artefacts`, first.path), theta);
    const r = await ssse('model', 'import', '--theta', theta, '--dataset', base.data, '--name', 'imported', '--json', '--db', store.db);
    assert.equal(r.code, 0, r.err);
    const view = JSON.parse(r.out) as { model: string; origin: string; parameters_sha256: string; dataset: number };
    const models = JSON.parse((await ssse('model', 'list', '--json', '--db', store.db)).out) as { model: string; parameters_sha256: string; dataset: number }[];
    assert.equal(view.model, 'imported@1');
    assert.equal(view.origin, 'imported');
    assert.equal(view.parameters_sha256, models[0]?.parameters_sha256, 'the same parameters as m@1');
    assert.equal(view.dataset, models[0]?.dataset, 'the same dataset, registered once');
    const limited = await ssse('model', 'import', '--theta', theta, '--dataset', base.data, '--name', 'imported', '--db', store.db);
    assert.equal(limited.code, 2);
    assert.match(limited.err, /model "imported" already exists/);
    const wrong = path.join(store.dir, 'wrong.npy');
    fs.copyFileSync(path.join(`${store.db}.artefacts`, (listArtefactsOf(store.db)[1] as { path: string }).path), wrong);
    const bad = await ssse('model', 'import', '--theta', wrong, '--dataset', base.data, '--name', 'bad', '--db', store.db);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /wrong\.npy: expected a d×A float32\/float64 array, got float32 of shape \(3, 10, 10\)/);
    // Once imported, the usual workflow applies.
    assert.equal((await ssse('certify', '--model', 'imported', '--db', store.db)).code, 0);
    const e = await ssse('erase', '--model', 'imported', '--remove', removalFile(store.dir, 'i.txt', ['s0002', 's0004']), '--epsilon', '1', '--verify', 'none', '--db', store.db);
    assert.equal(e.code, 0, e.out + e.err);
    await verifyOk(store.db);
  });

  test('the stand-alone ssse erase --dataset still works beside the store', async () => {
    const out = path.join(base.dir, 'plain');
    const r = await ssse('erase', '--dataset', base.data, '--remove', removalFile(base.dir, 'plain.txt', ['s0001', 's0002']), '--out', out, '--no-cache', '--epsilon', '1', '--verify', 'none', '--json', '--backend', 'cpu');
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { k: number }).k, 2);
    assert.ok(fs.existsSync(path.join(out, 'theta_hat.npy')));
  });

  test('--out exports the results and logs the export with each file\'s SHA-256', async () => {
    const store = copy('export');
    const out = path.join(store.dir, 'report');
    const r = await ssse('erase', '--model', 'm@1', '--remove', removalFile(store.dir, 'e.txt', ['s0060']), '--epsilon', '1', '--verify', 'none', '--out', out, '--db', store.db);
    assert.equal(r.code, 0, r.err);
    const log = JSON.parse((await ssse('audit', 'log', '--json', '--db', store.db)).out) as { action: string; payload: { files: { name: string; sha256: string }[] } }[];
    const exported = log.at(-1);
    assert.equal(exported?.action, 'report.exported');
    for (const f of exported?.payload.files ?? []) {
      assert.equal(createHash('sha256').update(fs.readFileSync(path.join(out, f.name))).digest('hex'), f.sha256, f.name);
    }
    await verifyOk(store.db);
  });
});

function listArtefactsOf(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    return listArtefacts(db);
  } finally {
    db.close();
  }
}

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openStore, type Store } from '../../db/connection.js';
import { absolute } from '../../db/artefacts.js';
import { auditEntriesFor } from '../../db/audit.js';
import { getArtefact, getModel, getRequest, latestCalibration, listCertifications, listSweep } from '../../db/queries.js';
import { APP_ORIGIN, INVOKE_CHANNELS, type InvokeChannel } from '../../preload/contract.js';
import { initBackend } from '../../main/engine/backend.js';
import { loadDataset } from '../../main/engine/data/dataset.js';
import { calibrate, certifyModel } from '../../main/store/certify.js';
import { submitErasure } from '../../main/store/erasure.js';
import { trainModel } from '../../main/store/models.js';
import { createWorkstation, type Workstation } from '../../main/app/workstation.js';
import { createDispatcher, type Dispatch } from '../../main/ipc/dispatch.js';
import type { EngineChild, FromWorker, ToWorker, WorkerJob } from '../../main/worker/protocol.js';
import { tempDir, writeSmallNpyDataset } from '../helpers/fixtures.js';
import {
  auditEntryShape,
  auditVerifyShape,
  jobViewShape,
  modelViewShape,
  requestListItemShape,
  requestReportShape,
  sampleValidationShape,
} from '../helpers/contractShapes.js';

// The handlers bound to a real audit store (SQLite on a temporary file) holding a small real
// model (120 bundled Fashion-MNIST images pooled to 7×7, so training takes a moment), with the
// engine process replaced by a stand-in that records the jobs it is given.

const ours = { webContentsId: 1, frameUrl: `${APP_ORIGIN}/index.html` };
let dir: string;
let dbPath: string;
let workstation: Workstation;
let dispatch: Dispatch;
const started: WorkerJob[] = [];
let requestOk = 0;
let requestRejected = 0;

/** The engine stand-in: an erasure job reports request 99 at once, then finishes. */
function fakeEngine(): EngineChild {
  const listeners: ((m: FromWorker) => void)[] = [];
  return {
    send: (m: ToWorker) => {
      if (m.type !== 'run') return;
      started.push(m.job);
      setImmediate(() => {
        if (m.job.kind === 'erase') for (const l of listeners) l({ type: 'request', requestId: 99 });
        for (const l of listeners) l({ type: 'done', result: null });
      });
    },
    onMessage: (l) => listeners.push(l),
    onExit: () => undefined,
    kill: () => undefined,
  };
}

async function call<C extends InvokeChannel>(channel: C, args: unknown) {
  const r = await dispatch(channel, ours, args);
  if (!r.ok) assert.fail(`${channel}: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

before(async () => {
  dir = tempDir('ssse-handlers-');
  dbPath = path.join(dir, 'ssse.db');
  const dataDir = writeSmallNpyDataset(path.join(dir, 'data'), 120, 40);
  await initBackend('auto');
  const store: Store = openStore(dbPath, { mode: 'write', actor: 'alice' });
  try {
    const dataset = loadDataset(dataDir);
    const model = await trainModel(store, 'small', dataset, {}, { l2: 1e-4, seed: 0, tolerance: 1e-6 });
    const { certification } = await certifyModel(store, model, { curvature: 'empirical', damping: null, method: 'cholesky' });
    await calibrate(store, model, certification, { fraction: 0.05, seed: 0, epsilonGrid: [0.5, 1, 2, 4], tolerance: 1e-6 });
    const settings = { epsilon: null, epsilonGrid: [0.5, 1, 2, 4], verify: 'retrain' as const, damping: null, curvature: null, fisherMethod: null, tolerance: 1e-6 };
    const ok = await submitErasure(store, {
      modelRef: 'small', removal: { lines: ['img-0003', 'img-0010', 'img-0042', 'img-0077'], source: 'test' },
      subject: 'subject-7', legalGround: 'Art. 17(1)(b)', receivedAt: '2026-01-05T09:00:00.000Z', dueAt: null, settings,
    });
    requestOk = ok.request.id;
    assert.equal(ok.request.status, 'verified');
    const bad = await submitErasure(store, {
      modelRef: 'small@1', removal: { lines: ['img-0001', 'no-such-image'], source: 'test' },
      subject: null, legalGround: null, receivedAt: null, dueAt: null, settings,
    });
    requestRejected = bad.request.id;
    assert.equal(bad.request.status, 'rejected');
  } finally {
    store.close();
  }
  workstation = createWorkstation({ dbPath, cacheDir: null, appVersion: 'test', spawn: fakeEngine, emit: () => undefined });
  dispatch = createDispatcher(workstation.handlers, { origin: APP_ORIGIN, isOurWindow: (id) => id === 1 });
});

after(() => {
  workstation?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('every channel refuses a foreign sender, and starts no job for it', async () => {
  const foreign = [
    { webContentsId: 2, frameUrl: ours.frameUrl },
    { webContentsId: 1, frameUrl: 'https://example.com/app' },
    { webContentsId: 1, frameUrl: 'file:///tmp/index.html' },
  ];
  for (const channel of INVOKE_CHANNELS) {
    for (const sender of foreign) {
      const r = await dispatch(channel, sender, { modelVersionId: 1, requestId: 1 });
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, 'FORBIDDEN', `${channel} from ${sender.frameUrl}`);
    }
  }
  assert.equal(started.length, 0);
});

test('bad arguments are VALIDATION errors naming the field; unknown ids are NOT_FOUND', async () => {
  const cases: [InvokeChannel, unknown, string, RegExp][] = [
    ['models:certify', { modelVersionId: 'one', actor: 'a', method: 'ssse', damping: null, calibrate: false }, 'VALIDATION', /modelVersionId/],
    ['models:certify', { modelVersionId: 1, actor: '', method: 'ssse', damping: null, calibrate: false }, 'VALIDATION', /actor/],
    ['models:train', { actor: 'a', name: '../evil', datasetDir: null, limitTrain: null, limitTest: null, l2: 1e-4, seed: 0 }, 'VALIDATION', /name/],
    ['models:train', { actor: 'a', name: 'm', datasetDir: null, limitTrain: 0, limitTest: null, l2: 1e-4, seed: 0 }, 'VALIDATION', /limitTrain/],
    ['requests:report', { requestId: '1' }, 'VALIDATION', /requestId/],
    ['requests:validate', { modelVersionId: 1 }, 'VALIDATION', /sampleIds/],
    ['audit:list', { requestId: null, limit: 0 }, 'VALIDATION', /limit/],
    ['jobs:cancel', { jobId: '' }, 'VALIDATION', /jobId/],
    ['requests:report', { requestId: 12345 }, 'NOT_FOUND', /request 12345 does not exist/],
    ['requests:validate', { modelVersionId: 777, sampleIds: ['a'] }, 'NOT_FOUND', /model version #777/],
    ['models:certify', { modelVersionId: 777, actor: 'a', method: 'ssse', damping: null, calibrate: false }, 'NOT_FOUND', /model version #777/],
    ['jobs:cancel', { jobId: 'nope' }, 'NOT_FOUND', /job nope/],
  ];
  for (const [channel, args, code, message] of cases) {
    const r = await dispatch(channel, ours, args);
    assert.equal(r.ok, false, `${channel} ${JSON.stringify(args)}`);
    if (!r.ok) {
      assert.equal(r.error.code, code, `${channel}: ${r.error.message}`);
      assert.match(r.error.message, message);
    }
  }
  assert.equal(started.length, 0);
});

test('models:list is shaped per contract and shows the store: versions, hashes, certification, calibration', async () => {
  const models = await call('models:list', null);
  assert.equal(models.length, 1);
  const m = modelViewShape.parse(models[0]);
  const store = openStore(dbPath, { mode: 'read', actor: 'test' });
  try {
    const [v1, v2] = m.versions;
    assert.ok(v1 && v2);
    assert.deepEqual([v1.label, v1.origin, v1.parentId, v2.label, v2.origin, v2.parentId], ['small@1', 'trained', null, 'small@2', 'erasure', v1.id]);
    assert.equal(v1.parametersSha256, getModel(store.db, v1.id)?.parameters_sha256);
    assert.equal(v2.requestId, requestOk);
    assert.deepEqual([v1.dataset.n, v1.erased, v2.dataset.n, v2.erased], [120, 0, 116, 4]);
    const cert = v1.certifications[0];
    const row = listCertifications(store.db, v1.id)[0];
    assert.ok(cert && row);
    const artefact = getArtefact(store.db, row.fisher_id);
    assert.equal(cert.artefact.sha256, artefact?.sha256);
    assert.equal(cert.artefact.status, 'ok');
    assert.equal(cert.calibration?.epsilon, latestCalibration(store.db, row.id)?.epsilon);
    assert.equal(cert.calibration?.sweep.length, 4);
    assert.equal(v2.certifications.length, 0);
  } finally {
    store.close();
  }
});

test('requests:list and requests:report carry the database numbers, and the request audit entries with their hashes', async () => {
  const list = await call('requests:list', null);
  assert.deepEqual(list.map((r) => [r.id, r.status]), [[requestOk, 'verified'], [requestRejected, 'rejected']]);
  for (const item of list) requestListItemShape.parse(item);
  const rejected = list.find((r) => r.id === requestRejected);
  assert.match(rejected?.reason ?? '', /no-such-image/);
  assert.equal(rejected?.subjectHash, null);

  const report = requestReportShape.parse(await call('requests:report', { requestId: requestOk }));
  const store = openStore(dbPath, { mode: 'read', actor: 'test' });
  try {
    const row = getRequest(store.db, requestOk);
    assert.ok(row);
    assert.equal(report.gammaS, row.gamma_S);
    assert.equal(report.normalizedDistance, row.normalized_distance);
    assert.equal(report.epsilon?.value, row.epsilon);
    assert.equal(report.epsilon?.source, row.epsilon_source);
    assert.equal(report.request.subjectHash, row.subject_hash);
    assert.notEqual(report.request.subjectHash, 'subject-7');
    assert.equal(report.request.dueAt, '2026-02-05T09:00:00.000Z');
    assert.deepEqual(report.request.samples.map((s) => s.id), ['img-0003', 'img-0010', 'img-0042', 'img-0077']);
    assert.deepEqual(report.sweep, listSweep(store.db, requestOk).map((s) => ({ epsilon: s.epsilon, gammaS: s.gamma_S, normalizedDistance: s.normalized_distance })));
    const metrics = JSON.parse(row.metrics ?? 'null') as { accuracy: { star: unknown; hat: unknown; retrained: unknown }; auc: { star: unknown; hat: unknown; retrained: unknown } };
    assert.deepEqual(report.accuracy, { original: metrics.accuracy.star, erased: metrics.accuracy.hat, retrained: metrics.accuracy.retrained });
    assert.deepEqual(report.auc, { original: metrics.auc.star, erased: metrics.auc.hat, retrained: metrics.auc.retrained });
    assert.equal(report.after?.parametersSha256, getModel(store.db, row.result_model_id as number)?.parameters_sha256);
    assert.equal(report.before?.label, 'small@1');
    assert.deepEqual(report.settings, { l2: 1e-4, damping: 1e-4, curvature: 'empirical', fisherMethod: 'cholesky', seed: 0, verify: 'retrain', backend: report.settings.backend });
    const entries = auditEntriesFor(store.db, 'requests', requestOk);
    assert.deepEqual(report.audit.map((e) => [e.seq, e.action, e.hash, e.prevHash]), entries.map((e) => [e.seq, e.action, e.hash, e.prev_hash]));
    assert.deepEqual(report.audit.map((e) => e.action), ['request.received', 'request.computing', 'erasure.applied', 'verification.done']);
    assert.ok(report.audit.every((e) => e.requestId === requestOk));
  } finally {
    store.close();
  }
  const bad = requestReportShape.parse(await call('requests:report', { requestId: requestRejected }));
  assert.equal(bad.after, null);
  assert.equal(bad.accuracy, null);
  assert.deepEqual(bad.audit.map((e) => e.action), ['request.received', 'request.rejected']);
});

test('requests:validate flags unknown ids, duplicates and samples already erased from the version', async () => {
  const v1 = sampleValidationShape.parse(await call('requests:validate', { modelVersionId: 1, sampleIds: ['img-0001', 'img-0002', 'img-0002', 'nope', 'img-0003'] }));
  assert.deepEqual([v1.valid, v1.unknown, v1.duplicates, v1.ok, v1.n], [3, ['nope'], ['img-0002'], false, 120]);
  // On version 2, img-0003 was erased by the first request.
  const v2 = sampleValidationShape.parse(await call('requests:validate', { modelVersionId: 2, sampleIds: ['img-0001', 'img-0003'] }));
  assert.deepEqual([v2.valid, v2.alreadyErasedCount, v2.ok, v2.n], [1, 1, false, 116]);
  assert.match(v2.alreadyErased[0] ?? '', new RegExp(`img-0003 \\(request ${requestOk}\\)`));
  const good = sampleValidationShape.parse(await call('requests:validate', { modelVersionId: 2, sampleIds: ['img-0001', 'img-0005'] }));
  assert.equal(good.ok, true);
  assert.match(good.message, /2 samples of small@2's 116 can be erased/);
});

test('requests:create hands the request to the engine process and answers with the id it recorded', async () => {
  const args = {
    modelVersionId: 2, sampleIds: ['img-0001'], subjectRef: 's', legalGround: 'g', actor: 'bob', method: 'ssse',
    epsilon: { source: 'calibration' }, verify: 'none', receivedOn: null,
  };
  const r = await call('requests:create', args);
  assert.equal(r.requestId, 99);
  const job = started.at(-1);
  assert.ok(job);
  assert.equal(job.kind, 'erase');
  assert.equal(job.dbPath, path.resolve(dbPath));
  assert.deepEqual(job.payload, { ...args, modelRef: 'small@2' });
  const jobs = await call('jobs:list', null);
  for (const j of jobs) jobViewShape.parse(j);
  const view = jobs.find((j) => j.jobId === r.jobId);
  assert.equal(view?.requestId, 99);
  await workstation.jobs.finished(r.jobId);
  assert.equal((await call('jobs:cancel', { jobId: r.jobId })).cancelling, false);

  const c = await call('models:certify', { modelVersionId: 2, actor: 'carol', method: 'ssse-expected', damping: null, calibrate: true });
  assert.equal(c.requestId, null);
  assert.deepEqual(started.at(-1)?.payload, { modelVersionId: 2, actor: 'carol', method: 'ssse-expected', damping: null, calibrate: true });
});

test('audit:list and audit:verify: the whole chain verifies; an altered artefact is named', async () => {
  const entries = await call('audit:list', { requestId: null, limit: 1000 });
  entries.forEach((e) => auditEntryShape.parse(e));
  assert.deepEqual(entries.map((e) => e.seq), entries.map((_, i) => i + 1));
  for (let i = 1; i < entries.length; i++) assert.equal(entries[i]?.prevHash, entries[i - 1]?.hash);
  assert.equal((await call('audit:list', { requestId: null, limit: 2 })).length, 2);
  const ok = auditVerifyShape.parse(await call('audit:verify', null));
  assert.equal(ok.ok, true, ok.problems.join('\n'));
  assert.equal(ok.entries, entries.length);

  const store = openStore(dbPath, { mode: 'read', actor: 'test' });
  const row = listCertifications(store.db, 1)[0];
  const artefact = row ? getArtefact(store.db, row.fisher_id) : null;
  store.close();
  assert.ok(artefact);
  const file = absolute(path.dirname(dbPath) === dir ? path.join(dir, 'ssse.db.artefacts') : dir, artefact.path);
  const models = await call('models:list', null);
  const realFile = models[0]?.versions[0]?.certifications[0]?.artefact.path ?? file;
  const bytes = fs.readFileSync(realFile);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
  fs.writeFileSync(realFile, bytes);
  const bad = await call('audit:verify', null);
  assert.equal(bad.ok, false);
  assert.match(bad.problems[0] ?? '', new RegExp(`${path.basename(realFile)}.*SHA-256`));
  assert.equal((await call('models:list', null))[0]?.versions[0]?.certifications[0]?.artefact.status, 'altered');
});

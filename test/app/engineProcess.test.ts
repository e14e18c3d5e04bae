import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openStore } from '../../db/connection.js';
import { listModels, listRequests } from '../../db/queries.js';
import { verifyStore } from '../../db/verify.js';
import { APP_ORIGIN, type JobView } from '../../preload/contract.js';
import { forkEngine } from '../../main/app/forkEngine.js';
import { createWorkstation, type Workstation } from '../../main/app/workstation.js';
import { createDispatcher, type Dispatch } from '../../main/ipc/dispatch.js';
import { tempDir, writeSmallNpyDataset } from '../helpers/fixtures.js';

// Jobs in real engine processes (child_process.fork of the same entry the app starts in
// Electron's utilityProcess): progress flows back, a cancel stops the work between units, and an
// engine that does not answer is killed, its request recorded as failed and resumable.

const ours = { webContentsId: 1, frameUrl: `${APP_ORIGIN}/index.html` };
let dir: string;
let dataDir: string;
let workstation: Workstation;
let dispatch: Dispatch;
const updates: JobView[] = [];

before(() => {
  dir = tempDir('ssse-engine-process-');
  dataDir = writeSmallNpyDataset(path.join(dir, 'data'), 150, 50);
  workstation = createWorkstation({
    dbPath: path.join(dir, 'ssse.db'),
    cacheDir: null,
    appVersion: 'test',
    spawn: forkEngine,
    emit: (_channel, view) => updates.push(view),
  });
  dispatch = createDispatcher(workstation.handlers, { origin: APP_ORIGIN, isOurWindow: () => true });
});

after(() => {
  workstation.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Polls until `ready` holds, failing after 60 s rather than hanging the suite. */
async function waitFor(what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!ready()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function call(channel: Parameters<Dispatch>[0], args: unknown) {
  const r = await dispatch(channel, ours, args);
  if (!r.ok) assert.fail(`${channel}: ${r.error.code}: ${r.error.message}`);
  return r.value as { jobId: string; requestId: number | null };
}

test('a cancelled training stops in the engine process and registers no model', async () => {
  // The bundled images at full size (d = 784): each Newton step takes long enough to cancel in.
  const { jobId } = await call('models:train', { actor: 'alice', name: 'big', datasetDir: null, limitTrain: 300, limitTest: 100, l2: 1e-4, seed: 0 });
  await waitFor('training progress', () => updates.some((u) => u.jobId === jobId && u.phases.some((p) => p.phase === 'train')));
  const r = await dispatch('jobs:cancel', ours, { jobId });
  assert.deepEqual(r, { ok: true, value: { cancelling: true } });
  const final = await workstation.jobs.finished(jobId);
  assert.equal(final.state, 'cancelled');
  assert.equal(final.error?.code, 'CANCELLED');
  assert.ok(updates.some((u) => u.jobId === jobId && u.state === 'cancelling'));
  const store = openStore(path.join(dir, 'ssse.db'), { mode: 'read', actor: 't' });
  try {
    assert.equal(listModels(store.db).length, 0);
  } finally {
    store.close();
  }
});

test('an engine stuck mid-erasure is killed after the grace period; its request is recorded failed and nothing half-written remains', async () => {
  const t = await call('models:train', { actor: 'alice', name: 'small', datasetDir: dataDir, limitTrain: null, limitTest: null, l2: 1e-4, seed: 0 });
  assert.equal((await workstation.jobs.finished(t.jobId)).state, 'done');
  const c = await call('models:certify', { actor: 'alice', modelVersionId: 1, method: 'ssse', damping: null, calibrate: false });
  assert.equal((await workstation.jobs.finished(c.jobId)).state, 'done');

  // The engine blocks (without answering messages) once the request is computing.
  process.env['SSSE_TEST_PAUSE_AT'] = 'computing';
  let created: { jobId: string; requestId: number | null };
  try {
    created = await call('requests:create', {
      modelVersionId: 1, sampleIds: ['img-0001', 'img-0002'], subjectRef: 's', legalGround: 'g', actor: 'bob', method: 'ssse',
      epsilon: { source: 'value', value: 1 }, verify: 'retrain', receivedOn: null,
    });
  } finally {
    delete process.env['SSSE_TEST_PAUSE_AT'];
  }
  assert.equal(created.requestId, 1);
  // Wait until the engine has marked the request computing (it then blocks, before any progress).
  await waitFor('the request to be computing', () => {
    const s = openStore(path.join(dir, 'ssse.db'), { mode: 'read', actor: 't' });
    try {
      return listRequests(s.db)[0]?.status === 'computing';
    } finally {
      s.close();
    }
  });
  (workstation.jobs as unknown as { cancelGraceMs: number }).cancelGraceMs = 200;
  assert.equal(workstation.jobs.cancel(created.jobId), true);
  const final = await workstation.jobs.finished(created.jobId);
  assert.equal(final.state, 'cancelled');

  const store = openStore(path.join(dir, 'ssse.db'), { mode: 'read', actor: 't' });
  try {
    const [request] = listRequests(store.db);
    assert.equal(request?.status, 'failed');
    assert.match(request?.reason ?? '', /interrupted: .*stopped before finishing; no model version was written/);
    assert.deepEqual(listModels(store.db).map((m) => m.version), [1]);
    const v = verifyStore(store.db, store.root);
    assert.equal(v.ok, true, v.problems.join('\n'));
    assert.deepEqual(v.warnings, []);
  } finally {
    store.close();
  }
});

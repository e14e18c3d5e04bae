import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { absolute } from '../../db/artefacts.js';
import { openStore, type Store } from '../../db/connection.js';
import { getArtefact, listArtefacts, listOperations, type ModelRow } from '../../db/queries.js';
import { initBackend } from '../../main/engine/backend.js';
import { loadDataset } from '../../main/engine/data/dataset.js';
import { SsseError } from '../../main/engine/errors.js';
import { fisherInverse } from '../../main/engine/linear/fisher.js';
import { defaultWorkers } from '../../main/engine/linear/fisherBuild.js';
import { WorkerPool } from '../../main/engine/workers/pool.js';
import { calibrate, certifyModel, loadFisher, versionData } from '../../main/store/certify.js';
import { loadParameters, trainModel } from '../../main/store/models.js';
import { tempDir, writeSmallNpyDataset } from '../helpers/fixtures.js';

// Certification streams F̂⁻¹ into its artefact block by block (store/operations.ts,
// writeArtefactStreamed): the stored file must hold exactly the inverse an in-memory build gives,
// under the SHA-256 the database records, and a cancelled certification must leave no file and
// no lease behind.

let dir: string;
let store: Store;
let model: ModelRow;

before(async () => {
  dir = tempDir('ssse-certify-');
  await initBackend('cpu');
  store = openStore(path.join(dir, 'ssse.db'), { mode: 'write', actor: 'alice' });
  const dataset = loadDataset(writeSmallNpyDataset(path.join(dir, 'data'), 120, 40));
  model = await trainModel(store, 'small', dataset, {}, { l2: 1e-4, seed: 0, tolerance: 1e-6 });
});

after(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a cancelled certification leaves no artefact file, no staged file and no lease', async () => {
  const files = (): string[] => fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith('.npy'));
  const before = files();
  const ac = new AbortController();
  await assert.rejects(
    certifyModel(store, model, { curvature: 'empirical', damping: null, method: 'blocked', signal: ac.signal, onProgress: (e) => e.done >= 1 && ac.abort() }),
    (e: unknown) => e instanceof SsseError && e.code === 'CANCELLED',
  );
  assert.deepEqual(files(), before);
  assert.deepEqual(listOperations(store.db), []);
  assert.equal(listArtefacts(store.db).filter((a) => a.kind === 'fisher-inverse').length, 0);
});

test('the streamed artefact holds the in-memory F̂⁻¹, under the recorded SHA-256 and size', async () => {
  const { certification, created } = await certifyModel(store, model, { curvature: 'empirical', damping: null, method: 'blocked' });
  assert.ok(created);
  const { dataset } = versionData(store, model);
  const theta = loadParameters(store, model);
  const reference = await fisherInverse(theta, dataset.train.features, dataset.train.labels, dataset.train.n, { damping: model.l2, method: 'blocked' });
  const stored = loadFisher(store, model, certification); // checks the file's SHA-256 against the row
  assert.deepEqual(stored.blocks, reference.blocks);
  assert.equal(certification.terms, dataset.train.n);
  const artefact = getArtefact(store.db, certification.fisher_id);
  assert.ok(artefact);
  const d = model.d;
  assert.equal(fs.statSync(absolute(store.root, artefact.path)).size, artefact.bytes);
  assert.equal(artefact.bytes % 4, 0);
  assert.ok(artefact.bytes > model.attributes * d * d * 4, 'header + A·d²·4 bytes of blocks');
  assert.deepEqual(listOperations(store.db), []);
});

test("a command's worker pool: certifying prestarts the build's threads before reading the data, builds on them, and calibrating keeps the pool open", async () => {
  class RecordingPool extends WorkerPool {
    readonly prestarts: { count: number; idle: number }[] = [];
    override prestart(count: number): void {
      this.prestarts.push({ count, idle: this.idleWorkers });
      super.prestart(count);
    }
  }
  const pool = new RecordingPool('cpu');
  const expected = defaultWorkers('cpu', model.attributes);
  try {
    const phases: string[] = [];
    const { certification, created } = await certifyModel(store, model, {
      curvature: 'empirical',
      damping: 1e-3,
      method: 'blocked',
      pool,
      onProgress: (e) => phases.push(e.phase),
    });
    assert.ok(created);
    assert.deepEqual(pool.prestarts, [{ count: expected, idle: 0 }], "the build's workers, asked for once");
    assert.equal(pool.idleWorkers, expected, 'the build gave its workers back to the pool');
    const threads = pool.idleThreadIds().sort();
    const { dataset } = versionData(store, model);
    const reference = await fisherInverse(loadParameters(store, model), dataset.train.features, dataset.train.labels, dataset.train.n, { damping: 1e-3, method: 'blocked' });
    assert.deepEqual(loadFisher(store, model, certification).blocks, reference.blocks, 'the same inverse as without the pool');
    const calibration = await calibrate(store, model, certification, { fraction: 0.05, seed: 0, epsilonGrid: [0.5, 1], tolerance: 1e-6, pool });
    assert.ok(calibration.epsilon === 0.5 || calibration.epsilon === 1);
    assert.deepEqual(pool.idleThreadIds().sort(), threads, 'the command’s pool is still open, with the same threads');
    // An existing certification is returned without starting anything.
    await certifyModel(store, model, { curvature: 'empirical', damping: 1e-3, method: 'blocked', pool });
    assert.equal(pool.prestarts.length, 1);
  } finally {
    await pool.close();
  }
});

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { currentBackend, initBackend } from '../../../main/engine/backend.js';
import { SsseError } from '../../../main/engine/errors.js';
import { buildFisherInverse } from '../../../main/engine/linear/fisherBuild.js';
import type { LinearModel } from '../../../main/engine/linear/model.js';
import { trainLinear } from '../../../main/engine/linear/train.js';
import { POOL_WORKER_YOUNG_GENERATION_MB, startPoolWorker, WorkerPool } from '../../../main/engine/workers/pool.js';
import type { FromPoolWorker } from '../../../main/engine/workers/poolMessages.js';
import { gaussian, randomFeatures, randomLabels } from '../../helpers/reference.js';

before(async () => {
  await initBackend('auto');
});

describe('WorkerPool: pool workers kept from job to job', () => {
  const n = 240;
  const d = 24;
  const A = 5;
  const features = randomFeatures(n, d, 601);
  const labels = randomLabels(n, A, 602);
  const g = gaussian(603);
  const model: LinearModel = { d, A, weights: Float64Array.from({ length: d * A }, () => (2 * g()) / Math.sqrt(d)) };
  const backend = (): 'wasm' | 'cpu' | 'tensorflow' => currentBackend()?.name ?? 'wasm';

  test('a training, two Fisher builds and a retraining share the same threads, and give the results of no worker at all', async () => {
    const alone = await trainLinear(features, labels, n, d, A, { l2: 1e-2, seed: 5, workers: 0 });
    const fisherAlone = await buildFisherInverse(alone.model, features, labels, n, { damping: 1e-3, workers: 0 });
    const pool = new WorkerPool(backend());
    try {
      const trained = await trainLinear(features, labels, n, d, A, { l2: 1e-2, seed: 5, workers: 2, pool });
      assert.deepEqual(trained.model.weights, alone.model.weights);
      assert.deepEqual(trained.iterations, alone.iterations);
      assert.equal(pool.idleWorkers, 2, 'both workers are kept');
      const threads = pool.idleThreadIds().sort();
      for (const round of [1, 2]) {
        const fisher = await buildFisherInverse(trained.model, features, labels, n, { damping: 1e-3, workers: 2, pool });
        assert.deepEqual(fisher.blocks, fisherAlone.blocks, `Fisher build ${round}`);
        assert.deepEqual(pool.idleThreadIds().sort(), threads, `Fisher build ${round} ran on the same threads`);
      }
      // One worker asked for: one of the two is taken, the other stays idle.
      const again = await trainLinear(features, labels, n, d, A, { l2: 1e-2, seed: 5, workers: 1, pool, phase: 'retrain' });
      assert.deepEqual(again.model.weights, alone.model.weights);
      assert.deepEqual(pool.idleThreadIds().sort(), threads);
    } finally {
      await pool.close();
    }
    assert.equal(pool.idleWorkers, 0);
    assert.throws(() => pool.take(1), (e: unknown) => e instanceof SsseError && /closed/.test(e.message));
  });

  test('a failed or cancelled job ends its workers; the pool starts new ones for the next job, which succeeds', async () => {
    const fisherAlone = await buildFisherInverse(model, features, labels, n, { damping: 1e-3, workers: 0 });
    const pool = new WorkerPool(backend());
    try {
      await pool.warm(2);
      const before = pool.idleThreadIds();
      const broken = Float32Array.from(features);
      broken[7 * d + 2] = Number.NaN;
      await assert.rejects(buildFisherInverse(model, broken, labels, n, { damping: 1e-3, workers: 2, pool }), /weight 7 is NaN/);
      assert.equal(pool.idleWorkers, 0, 'the failed build’s workers are not kept');
      const ac = new AbortController();
      await assert.rejects(
        trainLinear(features, labels, n, d, A, { l2: 1e-2, seed: 5, workers: 2, pool, signal: ac.signal, onProgress: (e) => e.done > 0 && ac.abort() }),
        (e: unknown) => e instanceof SsseError && e.code === 'CANCELLED',
      );
      assert.equal(pool.idleWorkers, 0, 'the cancelled training’s workers are not kept');
      const fisher = await buildFisherInverse(model, features, labels, n, { damping: 1e-3, workers: 2, pool });
      assert.deepEqual(fisher.blocks, fisherAlone.blocks);
      assert.equal(pool.idleWorkers, 2);
      for (const id of pool.idleThreadIds()) assert.ok(!before.includes(id), 'new threads');
    } finally {
      await pool.close();
    }
  });

  test('prestart: workers start without being waited for, and a job taken before or after they are ready runs on them', async () => {
    const fisherAlone = await buildFisherInverse(model, features, labels, n, { damping: 1e-3, workers: 0 });
    const pool = new WorkerPool(backend());
    try {
      pool.prestart(2);
      assert.equal(pool.idleWorkers, 2, 'idle at once, while their backends start');
      pool.prestart(1);
      assert.equal(pool.idleWorkers, 2, 'no more than asked for');
      const threads = pool.idleThreadIds().sort();
      // Taken straight away, before either has its backend: the job waits for them.
      const fisher = await buildFisherInverse(model, features, labels, n, { damping: 1e-3, workers: 2, pool });
      assert.deepEqual(fisher.blocks, fisherAlone.blocks);
      assert.deepEqual(pool.idleThreadIds().sort(), threads, 'the prestarted threads did the job and were kept');
      const trained = await trainLinear(features, labels, n, d, A, { l2: 1e-2, seed: 5, workers: 2, pool });
      assert.deepEqual(pool.idleThreadIds().sort(), threads);
      assert.ok(trained.model.weights.every(Number.isFinite));
    } finally {
      await pool.close();
    }
    pool.prestart(1);
    assert.equal(pool.idleWorkers, 0, 'a closed pool starts nothing');
  });

  test('prestart: a worker whose backend fails to start is dropped from the pool', async (t) => {
    // tfjs-node is not installed on the machines that run these tests, so its workers fail to start.
    const missing = await initBackend('tensorflow').then(
      () => false,
      () => true,
    );
    await initBackend(backend());
    if (!missing) {
      t.skip('tfjs-node is installed here: its workers do not fail to start');
      return;
    }
    const pool = new WorkerPool('tensorflow');
    try {
      pool.prestart(1);
      assert.equal(pool.idleWorkers, 1);
      const deadline = Date.now() + 30_000;
      while (pool.idleWorkers > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(pool.idleWorkers, 0, 'the failed worker is no longer offered to jobs');
    } finally {
      await pool.close();
    }
  });

  test('a pool of another backend is refused, naming both', async () => {
    const other = backend() === 'cpu' ? 'wasm' : 'cpu';
    const pool = new WorkerPool(other);
    await assert.rejects(
      buildFisherInverse(model, features, labels, n, { damping: 1e-3, workers: 1, pool }),
      (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && e.message.includes(other) && e.message.includes(backend()),
    );
    await pool.close();
  });

  test("a pool worker runs with the pool's young-generation limit and says when its backend is ready", async () => {
    const worker = startPoolWorker('wasm');
    try {
      const first = await new Promise<FromPoolWorker>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      assert.deepEqual(first, { type: 'ready' });
      assert.equal(worker.resourceLimits?.maxYoungGenerationSizeMb, POOL_WORKER_YOUNG_GENERATION_MB);
    } finally {
      await worker.terminate();
    }
  });

  test('idle workers do not keep a process alive: a command that never closes its pool still exits', () => {
    const root = path.resolve(__dirname, '../../..');
    const script = [
      "const { initBackend } = require('./main/engine/backend.ts');",
      "const { WorkerPool } = require('./main/engine/workers/pool.ts');",
      "(async () => { await initBackend('wasm'); const pool = new WorkerPool('wasm'); await pool.warm(2); console.log('idle', pool.idleWorkers); })();",
    ].join('\n');
    const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(child.error, undefined, `the process did not exit: ${String(child.error)}`);
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /idle 2/);
  });
});

import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { SsseError } from '../../../main/engine/errors.js';
import { fisherInverse, fisherWeights } from '../../../main/engine/linear/fisher.js';
import { fisherWeightColumn } from '../../../main/engine/linear/fisherWeights.js';
import { runFisherPool } from '../../../main/engine/workers/fisherPool.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtefactCache } from '../../../main/engine/cache.js';
import {
  buildFisherInverse,
  buildFisherIntoCache,
  checkFisherFits,
  defaultWorkers,
  describeFisherPlan,
  planFisher,
  type FisherPlan,
} from '../../../main/engine/linear/fisherBuild.js';
import type { LinearModel } from '../../../main/engine/linear/model.js';
import type { ProgressEvent } from '../../../main/engine/progress.js';
import { gaussian, randomFeatures, randomLabels } from '../../helpers/reference.js';

before(async () => {
  await initBackend('auto');
});

describe('the Fisher storage plan', () => {
  test('states blocks × B² × 4 bytes exactly, and the working memory on top', () => {
    const plan = planFisher(6000, 784, 10, 2, { availableBytes: 1e12 });
    assert.equal(plan.storageBytes, 10 * 784 * 784 * 4);
    assert.equal(plan.sharedDataBytes, 6000 * 784 * 4 + 6000 * 10 + 10 * 784 * 8);
    assert.ok(plan.totalBytes > plan.storageBytes + plan.sharedDataBytes);
    assert.match(describeFisherPlan(plan), /^F̂⁻¹: 10 blocks × 784² × 4 B = 24\.6 MB stored; about [\d.]+ MB while it is built \(the main thread and 2 workers\)$/);
    // Three threads compute: working memory for each, a runtime for each worker.
    assert.equal(plan.totalBytes, plan.heldBytes + plan.sharedDataBytes + 3 * plan.workingBytesPerBlock + 2 * plan.runtimeBytesPerWorker);
    const inProcess = planFisher(6000, 784, 10, 0, { availableBytes: 1e12 });
    assert.equal(inProcess.sharedDataBytes, 0);
    assert.equal(inProcess.runtimeBytesPerWorker, 0);
    assert.match(describeFisherPlan(inProcess), /\(in-process\)$/);
    checkFisherFits(plan);
  });

  test('the default helpers: one worker per core beyond the calling thread, at most one fewer than the blocks, none for tfjs-node', () => {
    const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
    assert.equal(defaultWorkers('wasm', 64), cores - 1);
    assert.equal(defaultWorkers('cpu', 2), Math.min(cores, 2) - 1);
    assert.equal(defaultWorkers('wasm', 1), 0, 'one block: the calling thread alone');
    assert.equal(defaultWorkers('tensorflow', 64), 0, "tfjs-node's kernels already use every core");
  });

  test('a build that does not fit is refused with the figures', () => {
    const plan = planFisher(6000, 784, 10, 2, { availableBytes: 50e6 });
    assert.throws(
      () => checkFisherFits(plan),
      (e: unknown) =>
        e instanceof SsseError &&
        e.code === 'RESOURCE' &&
        /24\.6 MB stored/.test(e.message) &&
        /only 50\.0 MB of memory is available/.test(e.message) &&
        /fewer workers/.test(e.message),
    );
    // Blocks too large for one JavaScript array are refused whatever the memory.
    assert.throws(() => checkFisherFits(planFisher(10, 70000, 1, 0, { availableBytes: 1e15 })), /largest array/);
  });
});

describe('buildFisherInverse: in-process and on worker threads', () => {
  const n = 300;
  const d = 40;
  const A = 4;
  const features = randomFeatures(n, d, 301);
  const labels = randomLabels(n, A, 302);
  const g = gaussian(303);
  const model: LinearModel = { d, A, weights: Float64Array.from({ length: d * A }, () => (3 * g()) / Math.sqrt(d)) };

  test('refuses before computing anything when the plan does not fit', async () => {
    const events: ProgressEvent[] = [];
    let told: FisherPlan | null = null;
    await assert.rejects(
      buildFisherInverse(model, features, labels, n, {
        damping: 1e-4,
        workers: 2,
        memoryLimitBytes: 1000,
        onPlan: (p) => (told = p),
        onProgress: (e) => events.push(e),
      }),
      (e: unknown) => e instanceof SsseError && e.code === 'RESOURCE' && /4 blocks × 40² × 4 B = 25\.6 kB stored/.test(e.message),
    );
    assert.ok(told !== null, 'the plan is stated before the refusal');
    assert.equal(events.length, 0, 'nothing computed');
  });

  test('two workers give bit for bit the in-process blocks, with progress to A/A and no tensor left on this thread', async () => {
    const before = tf.memory().numTensors;
    const inProcess = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: 0 });
    assert.equal(inProcess.method, 'blocked');
    const events: ProgressEvent[] = [];
    const pooled = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: 2, onProgress: (e) => events.push(e) });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(pooled.blocks.length, A);
    // The same code on the same backend in another thread: identical floats.
    for (let a = 0; a < A; a++) assert.deepEqual(Array.from(pooled.blocks[a] ?? []), Array.from(inProcess.blocks[a] ?? []), `block ${a}`);
    assert.deepEqual(events[0], { phase: 'fisher', done: 0, total: A });
    assert.deepEqual(events[events.length - 1], { phase: 'fisher', done: A, total: A });
    const dones = events.map((e) => e.done);
    assert.deepEqual(dones, [...dones].sort((x, y) => x - y), 'progress only grows');
    // Other methods still go through fisherInverse, in-process.
    const chol = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, method: 'cholesky', workers: 2 });
    assert.deepEqual(chol, await fisherInverse(model, features, labels, n, { damping: 1e-4, method: 'cholesky' }));
  });

  test('features that are a view into part of a shared buffer reach the workers as that view, not the whole buffer', async () => {
    const inProcess = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: 0 });
    // The same rows, 7 rows into a larger SharedArrayBuffer (as a subset of a loaded dataset would be).
    const big = new Float32Array(new SharedArrayBuffer((n + 13) * d * 4));
    big.fill(Number.NaN);
    big.set(features, 7 * d);
    const view = big.subarray(7 * d, (7 + n) * d);
    const pooled = await buildFisherInverse(model, view, labels, n, { damping: 1e-4, workers: 2, mainThreadComputes: false });
    for (let a = 0; a < A; a++) assert.deepEqual(Array.from(pooled.blocks[a] ?? []), Array.from(inProcess.blocks[a] ?? []), `block ${a}`);
  });

  test('cancelling stops the workers and rejects with CANCELLED', async () => {
    for (const after of [0, 1]) {
      // After 0 blocks: aborted from the first progress report, before any worker answers; after 1:
      // while the workers are computing.
      const ac = new AbortController();
      const seen: number[] = [];
      await assert.rejects(
        buildFisherInverse(model, features, labels, n, {
          damping: 1e-4,
          workers: 2,
          signal: ac.signal,
          onProgress: (e) => {
            seen.push(e.done);
            if (e.done >= after) ac.abort();
          },
        }),
        (e: unknown) => e instanceof SsseError && e.code === 'CANCELLED',
      );
      assert.ok(Math.max(...seen) < A, `cancelled after ${after}: the build must not have finished (${seen.join(',')})`);
    }
    const already = new AbortController();
    already.abort();
    await assert.rejects(buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: 2, signal: already.signal }), /cancelled/);
  });

  test("a worker's error reaches the caller with its code and message", async () => {
    const broken = Float32Array.from(features);
    broken[5 * d + 3] = Number.NaN; // row 5's weight becomes NaN
    await assert.rejects(
      buildFisherInverse(model, broken, labels, n, { damping: 1e-4, workers: 2 }),
      (e: unknown) => e instanceof SsseError && e.code === 'NUMERIC' && /weight 5 is NaN/.test(e.message),
    );
    await assert.rejects(
      buildFisherInverse(model, broken, labels, n, { damping: 1e-4, workers: 0 }),
      (e: unknown) => e instanceof SsseError && e.code === 'NUMERIC' && /weight 5 is NaN/.test(e.message),
    );
  });

  test('streamed (a sink): every block handed over once, equal to the kept build, none kept; in-process and on workers', async () => {
    for (const method of ['blocked', 'cholesky', 'sherman-morrison'] as const) {
      for (const workers of method === 'blocked' ? [0, 2] : [0]) {
        const kept = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, method, workers: 0 });
        const got = new Map<number, number[]>();
        const streamed = await buildFisherInverse(model, features, labels, n, {
          damping: 1e-4,
          method,
          workers,
          // The block's memory is reused after the call: copy it, as a sink must.
          sink: (a, block) => {
            assert.ok(!got.has(a), `block ${a} handed over twice`);
            got.set(a, Array.from(block));
          },
        });
        assert.deepEqual(streamed.blocks, [], 'a streamed build keeps no block');
        assert.equal(got.size, A);
        for (let a = 0; a < A; a++) assert.deepEqual(got.get(a), Array.from(kept.blocks[a] ?? []), `${method}, ${workers} workers, block ${a}`);
      }
    }
  });

  test('the plan of a streamed build holds two blocks per worker and one of this thread, not all of them', () => {
    const kept = planFisher(6000, 784, 10, 2, { availableBytes: 1e12 });
    const streamed = planFisher(6000, 784, 10, 2, { availableBytes: 1e12, streamed: true });
    assert.equal(kept.heldBytes, 10 * 784 * 784 * 4);
    assert.equal(streamed.heldBytes, 5 * 784 * 784 * 4);
    assert.equal(kept.totalBytes - streamed.totalBytes, 5 * 784 * 784 * 4);
    assert.equal(planFisher(6000, 784, 10, 0, { availableBytes: 1e12, streamed: true }).heldBytes, 784 * 784 * 4);
    assert.match(describeFisherPlan(streamed), /each block written out as it is finished/);
  });

  test('buildFisherIntoCache: the entry equals the kept build; a failed or cancelled build leaves no entry', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-fisher-cache-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const cache = new ArtefactCache(dir);
    const kept = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: 0 });
    for (const workers of [0, 2]) {
      const key = `k${workers}`;
      const got = await buildFisherIntoCache(cache, key, model, features, labels, n, { damping: 1e-4, workers });
      assert.deepEqual(got, kept);
      assert.deepEqual(cache.read('fisher', key)?.arrays, kept.blocks);
    }
    const none = await buildFisherIntoCache(cache, 'nb', model, features, labels, n, { damping: 1e-4, workers: 0, readBack: false });
    assert.deepEqual(none.blocks, []);
    assert.ok(cache.has('fisher', 'nb'));
    const broken = Float32Array.from(features);
    broken[5 * d + 3] = Number.NaN;
    await assert.rejects(buildFisherIntoCache(cache, 'bad', model, broken, labels, n, { damping: 1e-4, workers: 2 }), /weight 5 is NaN/);
    const ac = new AbortController();
    await assert.rejects(
      buildFisherIntoCache(cache, 'cancelled', model, features, labels, n, { damping: 1e-4, workers: 0, signal: ac.signal, onProgress: (e) => e.done >= 2 && ac.abort() }),
      (e: unknown) => e instanceof SsseError && e.code === 'CANCELLED',
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), ['fisher-k0.bin', 'fisher-k2.bin', 'fisher-nb.bin'], 'no entry and no temporary file from the failed builds');
  });

  test('every thread computes its own blocks’ weights: each column is fisherWeights’ column bit for bit, for both curvatures', () => {
    for (const curvature of ['empirical', 'expected'] as const) {
      const all = fisherWeights(model, features, labels, curvature);
      for (let a = 0; a < A; a++) {
        const column = fisherWeightColumn(model, features, labels, curvature, a, new Float64Array(n));
        assert.deepEqual(column, Float64Array.from({ length: n }, (_, i) => all[i * A + a] as number), `${curvature}, attribute ${a}`);
      }
    }
    assert.throws(() => fisherWeightColumn(model, features, labels, 'empirical', A, new Float64Array(n)), /attribute 4/);
    assert.throws(() => fisherWeightColumn(model, features, labels, 'empirical', 0, new Float64Array(n - 1)), /out/);
  });

  test('this thread computes blocks beside the workers, or only waits when told; every block once, bit for bit the same', async () => {
    const source = { theta: model.weights, labels, curvature: 'empirical' as const };
    const kept = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: 0 });
    const expected = Array.from({ length: A }, (_, a) => Array.from(kept.blocks[a] ?? []));
    const blocksOf = (store: Float32Array) => Array.from({ length: A }, (_, a) => Array.from(store.subarray(a * d * d, (a + 1) * d * d)));
    const both = await runFisherPool(features, source, n, d, A, { backend: 'wasm', workers: 1, N: n, damping: 1e-4 });
    assert.deepEqual(blocksOf(both.store), expected);
    assert.equal(both.blocksByThread.length, 2);
    assert.equal(both.blocksByThread.reduce((x, y) => x + y, 0), A);
    // The worker is still starting tfjs when this thread claims its first block.
    assert.ok((both.blocksByThread[0] ?? 0) >= 1, `this thread computed ${both.blocksByThread[0]} blocks`);
    const waiting = await runFisherPool(features, source, n, d, A, { backend: 'wasm', workers: 2, N: n, damping: 1e-4, mainThread: false });
    assert.deepEqual(blocksOf(waiting.store), expected);
    assert.equal(waiting.blocksByThread[0], 0);
    assert.equal(waiting.blocksByThread.reduce((x, y) => x + y, 0), A);
    // The expected (model) Fisher too: the workers' weights are the calling thread's.
    const expectedAlone = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: 0, curvature: 'expected' });
    const expectedPooled = await buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: 2, curvature: 'expected' });
    assert.deepEqual(expectedPooled.blocks, expectedAlone.blocks);
    assert.notDeepEqual(expectedAlone.blocks, kept.blocks);
  });

  test('a streamed build whose sink is slow: each worker waits for its slot to be taken, and every block arrives once and intact', async () => {
    const big = 12;
    const wide: LinearModel = { d, A: big, weights: Float64Array.from({ length: d * big }, (_, i) => Math.sin(i) / Math.sqrt(d)) };
    const bigLabels = randomLabels(n, big, 304);
    const kept = await buildFisherInverse(wide, features, bigLabels, n, { damping: 1e-4, workers: 0 });
    const got = new Map<number, number[]>();
    let slowest = 0;
    const streamed = await buildFisherInverse(wide, features, bigLabels, n, {
      damping: 1e-4,
      workers: 1,
      sink: (a, block) => {
        // Hold this thread (and so the worker's slots) for longer than a block takes.
        const t0 = performance.now();
        while (performance.now() - t0 < 20);
        slowest = Math.max(slowest, performance.now() - t0);
        assert.ok(!got.has(a), `block ${a} handed over twice`);
        got.set(a, Array.from(block));
      },
    });
    assert.deepEqual(streamed.blocks, []);
    assert.equal(got.size, big);
    for (let a = 0; a < big; a++) assert.deepEqual(got.get(a), Array.from(kept.blocks[a] ?? []), `block ${a}`);
    assert.ok(slowest >= 20);
  });

  test('bad arguments are refused', async () => {
    await assert.rejects(buildFisherInverse(model, features, labels, n, { damping: 1e-4, workers: -1 }), /--workers/);
    await assert.rejects(buildFisherInverse(model, features, labels, n, { damping: 0 }), /--damping/);
    await assert.rejects(buildFisherInverse(model, features.subarray(1), labels, n, { damping: 1e-4 }), (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT');
  });
});

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { classRemoval, randomRemoval } from '../../../main/engine/data/removal.js';
import type { Dataset } from '../../../main/engine/data/types.js';
import { SsseError } from '../../../main/engine/errors.js';
import { eraseNetwork, type NetworkEraseConfig } from '../../../main/engine/nn/erase.js';
import { disposeNetwork } from '../../../main/engine/nn/network.js';
import type { ProgressEvent } from '../../../main/engine/progress.js';
import { WorkerPool } from '../../../main/engine/workers/pool.js';
import { TINY_CLASSES, tinyDataset, tinyNetworkConfig } from '../../helpers/tinyNetwork.js';

before(async () => {
  await initBackend('wasm');
});

const C = TINY_CLASSES;
const dataset = tinyDataset;
const config = (overrides: Partial<NetworkEraseConfig> = {}): NetworkEraseConfig => tinyNetworkConfig([0.01, 0.1, 1], overrides);

test('a whole-class erasure on a network: every figure of summary.json, ε by the accuracy rule', async () => {
  const ds = dataset();
  const removed = classRemoval(ds.train.classIds as Int32Array, 1, 1, 0);
  const before = tf.memory().numTensors;
  const logs: string[] = [];
  const out = await eraseNetwork(ds, removed, config({ retrainSeeds: 2, removal: { kind: 'class', class: 1, fraction: 1, seed: 0 }, log: (l) => logs.push(l) }));
  try {
    const s = out.summary;
    assert.equal(s.model_kind, 'network');
    assert.equal(s.model.p, 12 * 6 + 6 + 6 * 3 + 3);
    assert.equal(s.k, removed.length);
    assert.deepEqual(s.removed_class_counts, [0, removed.length, 0]);
    assert.equal(s.fisher.N, 30);
    assert.deepEqual(s.fisher.block_methods, { woodbury: 2, cholesky: 1, 'sherman-morrison': 0 });
    assert.equal(s.fisher.block_order, 'unit-major', 'the default block order');
    assert.match(s.fisher.block_order_description, /^unit-major: each kernel taken output unit by output unit/);
    assert.match(logs[0] as string, /^Fisher: N = 30 rows × p = 99 parameters in 3 blocks of 40/);
    assert.equal(s.gamma_S, null, 'one class in S: no one-vs-rest AUC is defined');
    assert.equal(s.epsilon_rule, 'min_accuracy_difference');
    const best = Math.min(...s.sweep.map((r) => r.mean_abs_accuracy_difference as number));
    assert.equal(s.sweep.find((r) => r.epsilon === s.epsilon)?.mean_abs_accuracy_difference, best);
    for (const model of ['star', 'hat', 'retrained'] as const) {
      const pc = s.per_class_accuracy[model];
      assert.ok(pc);
      assert.equal(pc.removed?.length, C);
      assert.deepEqual(pc.removed?.map((v) => v === null), [true, false, true], 'S holds class 1 only');
      assert.equal(pc.retained?.length, C);
      assert.equal(pc.test?.length, C);
    }
    assert.equal(s.per_class_accuracy.retrained?.removed?.[1], s.accuracy.retrained?.removed);
    const diff = s.accuracy_difference?.hat;
    assert.ok(diff && Math.abs((diff.removed as number) - Math.abs((s.accuracy.hat.removed as number) - (s.accuracy.retrained?.removed as number))) < 1e-15);
    assert.deepEqual(s.retrain_spread?.seeds, [1, 2]);
    assert.equal(s.retrain_spread?.accuracy.test.values.length, 2);
    assert.ok(s.normalized_distance !== null && s.normalized_distance >= 0 && s.normalized_distance <= 1);
    // θ̂ = θ* + ε·u really is what was evaluated and returned.
    assert.notDeepEqual(out.thetaHat, out.thetaStar);
    assert.equal(s.parameter_sha256.retrained === null, false);
    assert.ok(Object.values(s.timings_s).every((t) => t === null || t >= 0));
  } finally {
    disposeNetwork(out.net);
  }
  assert.equal(tf.memory().numTensors, before, 'nothing but the network’s own weights was left, and they are gone');
});

test('a random removal chooses ε by the largest γ_S; θ* and F̂⁻¹ come from the cache the second time, with θ̂ to the bit', async () => {
  const ds = dataset();
  const removed = randomRemoval(90, 9, 3);
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-nn-cache-'));
  try {
    const first = await eraseNetwork(ds, removed, config({ cacheDir }));
    disposeNetwork(first.net);
    const second = await eraseNetwork(ds, removed, config({ cacheDir }));
    disposeNetwork(second.net);
    assert.equal(first.summary.cache.theta_star, 'miss');
    assert.equal(second.summary.cache.theta_star, 'hit');
    assert.deepEqual([first.summary.cache.fisher, first.summary.cache.fisher_columns], ['miss', 'miss']);
    assert.deepEqual([second.summary.cache.fisher, second.summary.cache.fisher_columns], ['hit', 'hit']);
    // Columns 30×99 float32; factors: two Woodbury blocks (30² each) and a Cholesky block of 19 (19²), float64.
    assert.equal(second.summary.cache.fisher_bytes, 4 * 30 * 99 + 8 * (2 * 30 * 30 + 19 * 19));
    assert.deepEqual(second.thetaStar, first.thetaStar);
    assert.equal(second.summary.parameter_sha256.hat, first.summary.parameter_sha256.hat, 'θ̂ from the stored F̂⁻¹ has the same bits');
    assert.deepEqual(second.thetaHat, first.thetaHat);
    // Another damping: the stored columns serve it, its factors are computed and stored.
    const third = await eraseNetwork(ds, removed, config({ cacheDir, damping: 1e-2 }));
    disposeNetwork(third.net);
    assert.deepEqual([third.summary.cache.fisher, third.summary.cache.fisher_columns], ['miss', 'hit']);
    const uncached = await eraseNetwork(ds, removed, config({ cacheDir: null, damping: 1e-2 }));
    disposeNetwork(uncached.net);
    assert.deepEqual([uncached.summary.cache.fisher, uncached.summary.cache.fisher_bytes], ['off', null]);
    assert.equal(third.summary.parameter_sha256.hat, uncached.summary.parameter_sha256.hat);
    const s = first.summary;
    if (s.sweep.some((r) => r.gamma_S !== null)) {
      assert.equal(s.epsilon_rule, 'max_gamma_S');
      assert.equal(s.gamma_S, Math.max(...s.sweep.map((r) => r.gamma_S ?? -1)));
    }
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
});

test('a Fisher that will not fit is refused with the figure before anything is trained, and the network is released', async () => {
  const events: ProgressEvent[] = [];
  const before = tf.memory().numTensors;
  await assert.rejects(
    eraseNetwork(dataset(), [0, 1], config({ memoryBudget: 4096, onProgress: (e) => events.push(e) })),
    (e: unknown) => e instanceof SsseError && e.code === 'RESOURCE' && /the Fisher needs [\d.]+ KiB .* but the memory budget is 4\.0 KiB/.test(e.message),
  );
  assert.deepEqual(events, []);
  assert.equal(tf.memory().numTensors, before, 'the refused request left no network behind');
});

test('cancelling during retraining stops the erasure and releases the network', async () => {
  const controller = new AbortController();
  const before = tf.memory().numTensors;
  await assert.rejects(
    eraseNetwork(dataset(), [0, 1, 2], config({ signal: controller.signal, onProgress: (e) => e.phase === 'retrain' && e.done === 3 && controller.abort() })),
    { code: 'CANCELLED', message: /retrain was cancelled/ },
  );
  assert.equal(tf.memory().numTensors, before, 'no tensor of the cancelled request is left');
});

test('bad requests are refused', async () => {
  const ds = dataset();
  await assert.rejects(eraseNetwork(ds, [], config()), /empty/);
  await assert.rejects(eraseNetwork(ds, [3, 3], config()), /distinct rows/);
  await assert.rejects(eraseNetwork(ds, [0], config({ epsilon: null, verify: 'none' })), /needs --verify retrain/);
  await assert.rejects(eraseNetwork(ds, [0], config({ retrainSeeds: 1 })), /at least 2 retrainings/);
  await assert.rejects(eraseNetwork(ds, [0], config({ blockOrder: 'column' as never })), /--block-order: expected one of unit-major, input-major, got column/);
  const binary: Dataset = { ...ds, numClasses: null };
  await assert.rejects(eraseNetwork(binary, [0], config()), /needs class ids/);
});

test('the Fisher on worker threads gives θ̂ to the bit; summary.json says how many threads factored it', async () => {
  const ds = dataset();
  const removed = randomRemoval(90, 9, 5);
  const runs = [];
  for (const workers of [0, 2]) {
    const out = await eraseNetwork(ds, removed, config({ workers, epsilon: 0.1, epsilonGrid: null, verify: 'none' }));
    disposeNetwork(out.net);
    runs.push(out);
  }
  const [alone, threaded] = runs as [(typeof runs)[number], (typeof runs)[number]];
  assert.equal(alone.summary.fisher.threads, 1);
  // Three blocks: two workers beside this thread.
  assert.equal(threaded.summary.fisher.threads, 3);
  assert.equal(threaded.summary.parameter_sha256.hat, alone.summary.parameter_sha256.hat);
  assert.deepEqual(Buffer.from(threaded.thetaHat.buffer), Buffer.from(alone.thetaHat.buffer));
  await assert.rejects(eraseNetwork(ds, removed, config({ workers: -1 })), /--workers: expected a whole number ≥ 0, got -1/);
});

test('calibration trials and the spread retrained on worker threads: summary.json the same, figure for figure, as on the main thread alone', async () => {
  const ds = dataset();
  const removal = { kind: 'random' as const, fraction: 0.1, seed: 0 };
  const rows = randomRemoval(90, 9, 0);
  const summaries = [];
  // Workers started beforehand, so that they take part in these short trainings from the start.
  const pool = new WorkerPool('wasm');
  await pool.warm(2);
  for (const workers of [0, 2]) {
    const phases = new Map<string, number[]>();
    const out = await eraseNetwork(
      ds,
      rows,
      config({ workers, pool, calibrateTrials: 3, retrainSeeds: 2, removal, onProgress: (e) => phases.set(e.phase, [...(phases.get(e.phase) ?? []), e.done / e.total]) }),
    ).finally(() => (workers === 2 ? pool.close() : undefined));
    disposeNetwork(out.net);
    for (const phase of ['calibrate-retrain', 'retrain-spread']) {
      const seen = phases.get(phase) ?? [];
      assert.ok(seen.length > 0, `${workers} workers: progress of ${phase}`);
      assert.ok(
        seen.every((v, i) => i === 0 || v >= (seen[i - 1] as number)),
        `${workers} workers: ${phase} progress never goes back`,
      );
      assert.equal(seen.at(-1), 1, `${workers} workers: ${phase} ends at 100%`);
    }
    summaries.push(out.summary);
  }
  const [alone, threaded] = summaries as [(typeof summaries)[number], (typeof summaries)[number]];
  assert.deepEqual(threaded.epsilon_calibration, alone.epsilon_calibration);
  assert.deepEqual(threaded.retrain_spread, alone.retrain_spread);
  assert.deepEqual(threaded.parameter_sha256, alone.parameter_sha256);
  assert.deepEqual(threaded.sweep, alone.sweep);
  assert.deepEqual(threaded.retraining, alone.retraining);
});

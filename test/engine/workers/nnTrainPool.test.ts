import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { CancelledError } from '../../../main/engine/errors.js';
import { modelFiles } from '../../../main/engine/nn/loadModel.js';
import { disposeNetwork, initialParams, setParams } from '../../../main/engine/nn/network.js';
import { buildNetwork, type ModelSpec } from '../../../main/engine/nn/spec.js';
import { trainNetwork, type ClassData, type SgdConfig, type TrainResult } from '../../../main/engine/nn/train.js';
import type { NnTrainRun, NnTrainSource } from '../../../main/engine/workers/nnTrainMessages.js';
import { runNnTrainings } from '../../../main/engine/workers/nnTrainPool.js';
import { networkOf } from '../../../main/engine/workers/nnTrainTask.js';
import { WorkerPool } from '../../../main/engine/workers/pool.js';
import { tinySplit, TINY_CLASSES, TINY_FEATURES } from '../../helpers/tinyNetwork.js';
import { xorshift32 } from '../../helpers/reference.js';
import { trialSweep } from '../../../main/engine/nn/calibrate.js';
import { complementRows, removalSplits } from '../../../main/engine/nn/evaluate.js';

before(async () => {
  await initBackend('wasm');
});

const SPEC: ModelSpec = { kind: 'mlp', hidden: [5] };
const SGD: SgdConfig = { epochs: 30, batchSize: 8, lr: 0.1, momentum: 0.9, lrSchedule: 'cosine', l2: 1e-4, seed: 0 };
const split = tinySplit(60, 31);
const data: ClassData = { features: split.features, classIds: split.classIds as Int32Array, n: split.n };
const SOURCE: NnTrainSource = { kind: 'spec', spec: SPEC, inputShape: [TINY_FEATURES], classes: TINY_CLASSES };

/** Five runs: other rows left out, another seed, and one from given initial weights. */
function runs(init: Float32Array): NnTrainRun[] {
  return [
    { sgd: SGD, exclude: Int32Array.from([0, 1, 2]), init: null, direction: null },
    { sgd: SGD, exclude: Int32Array.from([10, 20, 30, 40]), init: null, direction: null },
    { sgd: { ...SGD, seed: 3 }, exclude: Int32Array.from([5]), init: null, direction: null },
    { sgd: SGD, exclude: Int32Array.from([7, 8]), init, direction: null },
    { sgd: { ...SGD, seed: 4 }, exclude: new Int32Array(0), init: null, direction: null },
  ];
}

test('runs trained on 0, 1 and 3 workers come back in order with the bits of each run trained alone', async () => {
  const net = buildNetwork(SPEC, [TINY_FEATURES], TINY_CLASSES);
  const pool = new WorkerPool('wasm');
  try {
    const init = initialParams(net, 9).map((v) => v * 0.5);
    const list = runs(init);
    const reference: TrainResult[] = [];
    for (const run of list) reference.push(await trainNetwork(net, data, run.sgd, { exclude: run.exclude, ...(run.init ? { init: run.init } : {}) }));
    // Started beforehand, so that the workers claim runs from the start rather than after this thread has trained them all.
    await pool.warm(3);
    for (const workers of [0, 1, 3]) {
      const before = tf.memory().numTensors;
      const events: number[] = [];
      const { results: out, threadOf } = await runNnTrainings(net, data, SOURCE, list, { backend: 'wasm', workers, pool, phase: 'retrain', onProgress: (e) => events.push(e.done / e.total) });
      assert.equal(out.length, list.length);
      out.forEach((r, i) => {
        const ref = reference[i] as TrainResult;
        assert.deepEqual(Buffer.from(r.theta.buffer, r.theta.byteOffset, r.theta.byteLength), Buffer.from(ref.theta.buffer), `${workers} workers: run ${i}'s θ`);
        assert.deepEqual(r.epochLoss, ref.epochLoss);
        assert.equal(r.steps, ref.steps);
      });
      if (workers > 0) assert.ok(threadOf.some((t) => t > 0), `${workers} workers: some run was trained on a worker (${threadOf.join(', ')})`);
      else assert.deepEqual(threadOf, [0, 0, 0, 0, 0]);
      assert.equal(events.at(-1), 1, `${workers} workers: progress ends at 100%`);
      assert.ok(events.every((v, i) => i === 0 || v >= (events[i - 1] as number)), `${workers} workers: progress never goes back`);
      assert.equal(tf.memory().numTensors, before, `${workers} workers: no tensor left behind on this thread`);
    }
  } finally {
    disposeNetwork(net);
    await pool.close();
  }
});

test('a model file that changed since it was loaded, a run that diverges, or a cancel: the trainings end with that error', async () => {
  const net = buildNetwork(SPEC, [TINY_FEATURES], TINY_CLASSES);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-train-pool-'));
  try {
    setParams(net, initialParams(net, 1));
    const files = await modelFiles(net, 'w.bin');
    fs.writeFileSync(path.join(dir, 'model.json'), files.json);
    fs.writeFileSync(path.join(dir, 'w.bin'), files.weights);
    // A worker loads a model file itself, and refuses one that is not the file loaded on this thread.
    const loaded = await networkOf({ kind: 'file', path: path.join(dir, 'model.json'), sha256: '0'.repeat(64) }).catch((e: Error) => e);
    assert.ok(loaded instanceof Error);
    assert.match(loaded.message, /model\.json: the model file changed during the erasure \(SHA-256 [0-9a-f]{64}, was 0{64}\)/);
    const two: NnTrainRun[] = runs(new Float32Array(0)).slice(0, 2);

    // A learning rate that diverges: whichever thread trains the run, its error ends them all.
    const diverging: NnTrainRun[] = [two[0] as NnTrainRun, { sgd: { ...SGD, lr: 1e6 }, exclude: new Int32Array(0), init: null, direction: null }, two[1] as NnTrainRun];
    await assert.rejects(runNnTrainings(net, data, SOURCE, diverging, { backend: 'wasm', workers: 2, phase: 'retrain' }), /retrain: the loss became (NaN|Infinity|-Infinity) at epoch 1/);

    const controller = new AbortController();
    await assert.rejects(
      runNnTrainings(net, data, SOURCE, runs(new Float32Array(0)).slice(0, 3), {
        backend: 'wasm',
        workers: 2,
        phase: 'retrain',
        signal: controller.signal,
        onProgress: (e) => {
          if (e.done > 0) controller.abort();
        },
      }),
      (e: unknown) => e instanceof CancelledError,
    );
  } finally {
    disposeNetwork(net);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runs with a direction are swept by the thread that trained them: the curves of trialSweep on this thread alone', async () => {
  const net = buildNetwork(SPEC, [TINY_FEATURES], TINY_CLASSES);
  const pool = new WorkerPool('wasm');
  try {
    const test = tinySplit(20, 41);
    const evaluation = { thetaStar: (await trainNetwork(net, data, SGD)).theta, grid: [0, 0.05, 0.5, 2], test: { features: test.features, classIds: test.classIds as Int32Array, n: test.n } };
    const g = xorshift32(5);
    const list: NnTrainRun[] = [[1, 2, 3], [4, 5], [6, 7, 8, 9]].map((rows, i) => ({
      sgd: { ...SGD, seed: i },
      exclude: Int32Array.from(rows),
      init: null,
      direction: Float64Array.from({ length: net.p }, () => g() - 0.5),
    }));
    const reference = [];
    for (const run of list) {
      const trained = await trainNetwork(net, data, run.sgd, { exclude: run.exclude });
      const splits = removalSplits(data, evaluation.test, run.exclude, complementRows(data.n, run.exclude));
      reference.push(trialSweep(net, evaluation.thetaStar, run.direction as Float64Array, trained.theta, splits, evaluation.grid).curve);
    }
    await pool.warm(2);
    for (const workers of [0, 2]) {
      const out = await runNnTrainings(net, data, SOURCE, list, { backend: 'wasm', workers, pool, phase: 'calibrate-retrain', evaluation });
      assert.deepEqual(out.curves, reference, `${workers} workers: the curves`);
      if (workers > 0) assert.ok(out.threadOf.some((t) => t > 0), `a worker took part (${out.threadOf.join(', ')})`);
    }
    await assert.rejects(runNnTrainings(net, data, SOURCE, list, { backend: 'wasm', workers: 0, phase: 'x' }), /x: a run with a direction needs θ\*, the grid and the test set to sweep/);
  } finally {
    disposeNetwork(net);
    await pool.close();
  }
});

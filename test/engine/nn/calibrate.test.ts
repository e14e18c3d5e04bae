import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { classRemoval, randomRemoval } from '../../../main/engine/data/removal.js';
import { CancelledError, SsseError } from '../../../main/engine/errors.js';
import { solveBlockFisher } from '../../../main/engine/nn/blockFisher.js';
import { calibrationDraws, chooseCalibratedEpsilon, trialBestEpsilon, trialSweep, type CurvePoint } from '../../../main/engine/nn/calibrate.js';
import { complementRows, eraseNetwork, evaluationSplits, type NetworkEraseConfig } from '../../../main/engine/nn/erase.js';
import { accuracyDifference, evaluateParams, stepParams } from '../../../main/engine/nn/evaluate.js';
import { disposeNetwork, initialParams } from '../../../main/engine/nn/network.js';
import { buildNetwork } from '../../../main/engine/nn/spec.js';
import { randomFeatures } from '../../helpers/reference.js';
import { tinyDataset, tinyNetworkConfig } from '../../helpers/tinyNetwork.js';

before(async () => {
  await initBackend('wasm');
});

const curve = (grid: number[], values: number[]): CurvePoint[] => grid.map((epsilon, i) => ({ epsilon, mean_abs_accuracy_difference: values[i] as number }));

test('ε_cal minimizes the mean of the trials\' curves, not any one trial\'s', () => {
  const grid = [0.01, 0.1, 1];
  // Trial A is best at 0.1, trial B at 0.01; their mean [0.25, 0.2, 0.3] is smallest at 0.1, and
  // the third ε is no trial's best. Worked by hand.
  const a = curve(grid, [0.4, 0.1, 0.3]);
  const b = curve(grid, [0.1, 0.3, 0.3]);
  const chosen = chooseCalibratedEpsilon([a, b]);
  assert.equal(chosen.epsilon, 0.1);
  assert.equal(chosen.index, 1);
  assert.deepEqual(
    chosen.mean_curve.map((p) => p.epsilon),
    grid,
  );
  // Means of two values: exact up to one rounding, hence 1e-15.
  chosen.mean_curve.forEach((p, i) => assert.ok(Math.abs(p.mean_abs_accuracy_difference - [0.25, 0.2, 0.3][i]!) < 1e-15));
  assert.equal(trialBestEpsilon(a), 0.1);
  assert.equal(trialBestEpsilon(b), 0.01);
  // A different mean moves the choice: a third trial that is very bad at 0.1.
  assert.equal(chooseCalibratedEpsilon([a, b, curve(grid, [0.1, 0.9, 0.0])]).epsilon, 0.01);
});

test('ties go to the smaller ε, also when summation order makes them differ in the last bits', () => {
  const grid = [0.001, 0.01, 0.1, 1];
  assert.equal(chooseCalibratedEpsilon([curve(grid, [0.3, 0.1, 0.1, 0.1])]).epsilon, 0.01);
  // (0.1 + 0.2)/2 and (0.3 + 0)/2 differ by one ulp in float64; they are the same mean accuracy difference.
  assert.notEqual(0.1 + 0.2, 0.3);
  const t1 = curve(grid, [0.5, 0.1, 0.3, 0.4]);
  const t2 = curve(grid, [0.5, 0.2, 0.0, 0.4]);
  assert.equal(chooseCalibratedEpsilon([t1, t2]).epsilon, 0.01);
  assert.equal(trialBestEpsilon(curve(grid, [0.2, 0.2, 0.2, 0.2])), 0.001);
});

test('curves on different grids, undefined values and no trials are refused', () => {
  const grid = [0.01, 0.1];
  assert.throws(() => chooseCalibratedEpsilon([]), (e: unknown) => e instanceof SsseError && /no calibration trials/.test(e.message));
  assert.throws(
    () => chooseCalibratedEpsilon([curve(grid, [0.1, 0.2]), curve([0.01, 0.2], [0.1, 0.2])]),
    (e: unknown) => e instanceof SsseError && /trial 1's ε grid differs/.test(e.message),
  );
  assert.throws(() => chooseCalibratedEpsilon([curve(grid, [0.1, NaN])]), (e: unknown) => e instanceof SsseError && /undefined accuracy difference/.test(e.message));
  assert.throws(() => chooseCalibratedEpsilon([curve([0.1, 0.01], [0.1, 0.2])]), (e: unknown) => e instanceof SsseError && /strictly ascending/.test(e.message));
});

/** 200 rows over 4 classes, class c at rows ≡ c (mod 4): 50 each. */
const IDS = Int32Array.from({ length: 200 }, (_, i) => i % 4);

test('calibration draws: the request\'s kind, never the request itself, reproducible from the seed', () => {
  // A random fraction: the same k, removal seeds s+1, s+2.
  const S = randomRemoval(200, 10, 7);
  const random = calibrationDraws(IDS, 4, { rows: S, removal: { kind: 'random', fraction: 0.05, seed: 7 } }, 2, 0);
  assert.deepEqual(
    random.map((d) => d.removal),
    [
      { kind: 'random', fraction: 0.05, seed: 8 },
      { kind: 'random', fraction: 0.05, seed: 9 },
    ],
  );
  assert.deepEqual(random[0]?.rows, randomRemoval(200, 10, 8));
  for (const d of random) {
    assert.equal(d.rows.length, 10);
    assert.notDeepEqual(d.rows, S);
  }
  assert.deepEqual(calibrationDraws(IDS, 4, { rows: S, removal: { kind: 'random', fraction: 0.05, seed: 7 } }, 2, 0), random, 'same arguments, same draws');
  // A draw that happens to equal S is skipped: make S the draw of seed 8.
  const clash = calibrationDraws(IDS, 4, { rows: randomRemoval(200, 10, 8), removal: { kind: 'random', fraction: 0.05, seed: 7 } }, 2, 0);
  assert.deepEqual(
    clash.map((d) => d.removal.kind === 'random' && d.removal.seed),
    [9, 10],
  );

  // Part of a class: other draws of the same fraction from the same class.
  const part = calibrationDraws(IDS, 4, { rows: classRemoval(IDS, 2, 0.2, 0), removal: { kind: 'class', class: 2, fraction: 0.2, seed: 0 } }, 3, 0);
  assert.equal(part.length, 3);
  for (const d of part) {
    assert.equal(d.rows.length, 10);
    assert.ok(d.rows.every((r) => IDS[r] === 2));
    assert.notDeepEqual(d.rows, classRemoval(IDS, 2, 0.2, 0));
  }
  assert.deepEqual(part[2]?.rows, classRemoval(IDS, 2, 0.2, 3));

  // A whole class: the next classes round the circle.
  const whole = calibrationDraws(IDS, 4, { rows: classRemoval(IDS, 3, 1, 0), removal: { kind: 'class', class: 3, fraction: 1, seed: 0 } }, 3, 0);
  assert.deepEqual(
    whole.map((d) => d.removal.kind === 'class' && d.removal.class),
    [0, 1, 2],
  );
  assert.ok(whole.every((d) => d.rows.length === 50));

  // A file: random draws of its size from the fallback seed.
  const file = calibrationDraws(IDS, 4, { rows: [1, 2, 3], removal: { kind: 'file', file: '/x' } }, 1, 5);
  assert.deepEqual(file[0]?.rows, randomRemoval(200, 3, 6));
});

test('calibration draws that cannot exist are refused with the figures', () => {
  assert.throws(
    () => calibrationDraws(IDS, 4, { rows: classRemoval(IDS, 0, 1, 0), removal: { kind: 'class', class: 0, fraction: 1, seed: 0 } }, 4, 0),
    (e: unknown) => e instanceof SsseError && /--calibrate-trials 4: .*only 3 of the 3 other classes have training samples/.test(e.message),
  );
  // 0.99 of a class of 50 rounds to all 50: every draw is the request.
  assert.throws(
    () => calibrationDraws(IDS, 4, { rows: classRemoval(IDS, 1, 0.99, 0), removal: { kind: 'class', class: 1, fraction: 0.99, seed: 0 } }, 1, 0),
    (e: unknown) => e instanceof SsseError && /--calibrate-trials 1: .*repeated the request/.test(e.message),
  );
  assert.throws(() => calibrationDraws(IDS, 4, { rows: [1], removal: null }, 0, 0), (e: unknown) => e instanceof SsseError && /--calibrate-trials: expected a whole number ≥ 1/.test(e.message));
});

test('several vectors in one block pass give each vector what it alone gives', async () => {
  // solveBlockFisher shares the Gram matrix and factors between vectors; each vector's solution
  // must not depend on the others (the trials ride with S). Same arithmetic per vector, so exact.
  const N = 7;
  const p = 30;
  const rows = Float32Array.from(randomFeatures(N, p, 3, 0));
  const G = { N, p, m: 1, rows };
  const a = Float64Array.from(randomFeatures(1, p, 4, 0));
  const b = Float64Array.from(randomFeatures(1, p, 5, 0));
  for (const method of ['woodbury', 'cholesky'] as const) {
    const options = { blockSize: method === 'woodbury' ? 16 : 4, dampings: [1e-3], method };
    const both = await solveBlockFisher(G, [a, b], options);
    const alone = await solveBlockFisher(G, [b], options);
    assert.deepEqual(both[0]?.[1], alone[0]?.[0], method);
  }
});

test('trialSweep: each row is θ* + ε·Δ evaluated directly, the curve its mean differences, θ* and θ*_{−S_t} evaluated on the trial\'s splits', () => {
  const ds = tinyDataset();
  const net = buildNetwork({ kind: 'mlp', hidden: [5] }, [ds.d], 3);
  try {
    const star = initialParams(net, 11);
    const retrained = initialParams(net, 12);
    const direction = Float64Array.from(randomFeatures(1, net.p, 13, 0), (v) => v - 0.5);
    const removed = Int32Array.from(randomRemoval(90, 9, 4)).sort();
    const splits = evaluationSplits(ds, removed, complementRows(90, removed));
    const grid = [0.01, 0.1, 1, 10];
    const before = tf.memory().numTensors;
    const swept = trialSweep(net, star, direction, retrained, splits, grid);
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    assert.deepEqual(
      swept.curve.map((p) => p.epsilon),
      grid,
    );
    const starEval = evaluateParams(net, star, splits);
    const retrainedEval = evaluateParams(net, retrained, splits);
    assert.deepEqual(swept.star.accuracy, starEval.accuracy);
    assert.deepEqual(swept.retrained.accuracy, retrainedEval.accuracy);
    assert.equal(swept.rows.length, grid.length);
    grid.forEach((epsilon, i) => {
      const row = swept.rows[i];
      assert.ok(row);
      assert.equal(row.epsilon, epsilon);
      const hat = evaluateParams(net, stepParams(star, direction, epsilon), splits);
      assert.deepEqual(row.accuracy, hat.accuracy);
      assert.equal(row.mean_abs_accuracy_difference, accuracyDifference(hat.accuracy, retrainedEval.accuracy).mean);
      assert.equal(swept.curve[i]?.mean_abs_accuracy_difference, row.mean_abs_accuracy_difference);
    });
  } finally {
    disposeNetwork(net);
  }
});

// ---------------------------------------------------------------------------------------------
// End to end on a tiny network

const dataset = tinyDataset;
const config = (overrides: Partial<NetworkEraseConfig> = {}): NetworkEraseConfig => tinyNetworkConfig([0.01, 0.03, 0.1, 0.3, 1, 3], overrides);

test('a calibrated erasure: ε_cal from the trials, θ̂ at ε_cal, the in-sample choice kept apart; no tensors leak', async () => {
  const ds = dataset();
  const removal = { kind: 'random' as const, fraction: 0.1, seed: 0 };
  const rows = randomRemoval(90, 9, 0);
  const before = tf.memory().numTensors;
  const phases = new Set<string>();
  const out = await eraseNetwork(ds, rows, config({ calibrateTrials: 2, removal, onProgress: (e) => phases.add(e.phase) }));
  try {
    const s = out.summary;
    const cal = s.epsilon_calibration;
    assert.ok(cal);
    assert.equal(s.epsilon_rule, 'calibrated');
    assert.equal(cal.trials.length, 2);
    assert.deepEqual(
      cal.trials.map((t) => t.removal),
      [
        { kind: 'random', fraction: 0.1, seed: 1 },
        { kind: 'random', fraction: 0.1, seed: 2 },
      ],
    );
    assert.deepEqual(
      cal.trials.map((t) => t.k),
      [9, 9],
    );
    // ε_cal is the choice over the recorded curves, and θ̂ is θ* + ε_cal·Δ.
    assert.equal(cal.epsilon, chooseCalibratedEpsilon(cal.trials.map((t) => t.curve)).epsilon);
    assert.equal(s.epsilon, cal.epsilon);
    for (const t of cal.trials) {
      assert.deepEqual(
        t.curve.map((p) => p.epsilon),
        config().epsilonGrid,
      );
      assert.equal(t.best_epsilon, trialBestEpsilon(t.curve));
    }
    // The result at ε_cal is the sweep's row for ε_cal, measured against S's own retrained model.
    const row = s.sweep.find((r) => r.epsilon === cal.epsilon);
    assert.ok(row);
    assert.deepEqual(cal.result.accuracy, row.accuracy);
    assert.deepEqual(cal.result.accuracy, s.accuracy.hat);
    assert.equal(cal.result.accuracy_difference?.mean, row.mean_abs_accuracy_difference);
    assert.equal(cal.result.gamma_S, row.gamma_S);
    // The in-sample rule's choice is the old rule on the same sweep, kept and labelled.
    const ins = s.epsilon_in_sample;
    assert.ok(ins);
    assert.match(ins.note, /^in-sample/);
    const best = s.sweep.reduce((a, b) => ((b.gamma_S ?? -Infinity) > (a.gamma_S ?? -Infinity) ? b : a));
    assert.equal(ins.rule, 'max_gamma_S');
    assert.equal(ins.epsilon, best.epsilon);
    assert.ok(s.timings_s.calibrate !== null && s.timings_s.calibrate > 0);
    // Each trial's retraining and sweep report as one run of the calibration's bar.
    assert.ok(phases.has('calibrate-retrain') && !phases.has('calibrate-sweep'));
  } finally {
    disposeNetwork(out.net);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('the request\'s own retrained model does not move ε_cal', async () => {
  // Two removal files of the same size: their calibration removals are the same random draws (from
  // the seed), but S and so θ*_{−S} differ. ε_cal and every trial's curve must be identical.
  const ds = dataset();
  const file = { kind: 'file' as const, file: 'request.txt' };
  const one = await eraseNetwork(ds, [0, 1, 2, 3, 4, 5], config({ calibrateTrials: 2, removal: file }));
  disposeNetwork(one.net);
  const two = await eraseNetwork(ds, [40, 51, 62, 73, 84, 85], config({ calibrateTrials: 2, removal: file }));
  disposeNetwork(two.net);
  assert.notEqual(one.summary.parameter_sha256.retrained, two.summary.parameter_sha256.retrained);
  assert.deepEqual(one.summary.epsilon_calibration?.trials, two.summary.epsilon_calibration?.trials);
  assert.equal(one.summary.epsilon, two.summary.epsilon);
  assert.equal(one.summary.epsilon_calibration?.trials[0]?.k, 6);
});

test('calibration is refused with --verify none or a given ε, and can be cancelled in its retrainings', async () => {
  const ds = dataset();
  const rows = randomRemoval(90, 9, 0);
  await assert.rejects(eraseNetwork(ds, rows, config({ calibrateTrials: 2, verify: 'none', epsilon: 0.1 })), (e: unknown) => e instanceof SsseError && /--calibrate-trials: .*--verify/.test(e.message));
  await assert.rejects(eraseNetwork(ds, rows, config({ calibrateTrials: 2, epsilon: 0.1 })), (e: unknown) => e instanceof SsseError && /--calibrate-trials: ε is either given \(--epsilon 0.1\)/.test(e.message));
  await assert.rejects(eraseNetwork(ds, rows, config({ calibrateTrials: 1.5 })), (e: unknown) => e instanceof SsseError && /--calibrate-trials: expected a whole number/.test(e.message));
  const controller = new AbortController();
  await assert.rejects(
    eraseNetwork(ds, rows, config({ calibrateTrials: 2, signal: controller.signal, onProgress: (e) => e.phase === 'calibrate-retrain' && e.done > 3 && controller.abort() })),
    (e: unknown) => e instanceof CancelledError,
  );
});

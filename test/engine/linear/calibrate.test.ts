import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SsseError } from '../../../main/engine/errors.js';
import { argmaxDefined, attributeRemoval, chooseCalibratedEpsilon, meanCurve, settingName, spread } from '../../../main/engine/linear/calibrate.js';
import { randomLabels } from '../../helpers/reference.js';

describe('calibration numerics', () => {
  test('spread: mean, sample std, min, max over the defined values', () => {
    const s = spread([1, null, 2, 4]);
    assert.equal(s.count, 3);
    assert.equal(s.mean, 7 / 3);
    // Σ(x − 7/3)² = 16/9 + 1/9 + 25/9 = 42/9; /(3 − 1) = 7/3.
    assert.ok(Math.abs((s.std as number) - Math.sqrt(7 / 3)) < 1e-15);
    assert.equal(s.min, 1);
    assert.equal(s.max, 4);
    assert.deepEqual(spread([null]), { mean: null, std: null, min: null, max: null, count: 0 });
    assert.equal(spread([5]).std, null);
  });

  test('argmaxDefined takes the first of equal maxima and skips nulls', () => {
    assert.equal(argmaxDefined([null, 0.2, 0.7, 0.7, null]), 2);
    assert.equal(argmaxDefined([null, null]), null);
  });

  test('chooseCalibratedEpsilon on a hand-worked example (dyadic values: exact in float64)', () => {
    const grid = [0.1, 1, 10];
    const curves = [
      [0.25, 0.75, 0.5],
      [0.25, 0.5, 1],
      [null, 1, null],
    ];
    // Means per ε: 0.25, (0.75 + 0.5 + 1)/3 = 0.75, (0.5 + 1)/2 = 0.75 → the first maximum, ε = 1.
    const c = chooseCalibratedEpsilon(grid, curves);
    assert.equal(c.rule, 'max_gamma_S');
    assert.equal(c.epsilon, 1);
    assert.equal(c.index, 1);
    assert.deepEqual(c.mean_gamma_S, [0.25, 0.75, 0.75]);
    assert.equal(c.at_epsilon.mean, 0.75);
    // Deviations 0, −0.25, 0.25: Σ² = 0.125, /(3 − 1) → std 0.25.
    assert.equal(c.at_epsilon.std, 0.25);
    assert.deepEqual(c.trial_best_epsilon, [1, 10, 1]);
    assert.equal(c.trial_best_epsilon_spread.log10_range, 1);
    // Regrets: 0, 1 − 0.5, 0 → mean 1/6.
    assert.ok(Math.abs((c.mean_regret as number) - 1 / 6) < 1e-15);
  });

  test('γ_S undefined in every trial (one class removed from a one-vs-rest model): the smallest mean accuracy difference', () => {
    const c = chooseCalibratedEpsilon(
      [0.5, 1, 2],
      [
        [null, null, null],
        [null, null, null],
      ],
      [
        [0.25, 0.125, 0.5],
        [0.5, 0.25, 0.125],
      ],
    );
    // Means 0.375, 0.1875, 0.3125 → ε = 1; each trial's own best: 1 and 2.
    assert.equal(c.rule, 'min_accuracy_difference');
    assert.equal(c.epsilon, 1);
    assert.deepEqual(c.mean_accuracy_difference, [0.375, 0.1875, 0.3125]);
    assert.deepEqual(c.trial_best_epsilon, [1, 2]);
    assert.equal(c.accuracy_difference_at_epsilon.mean, 0.1875);
    assert.equal(c.mean_regret, null);
    // Where some trial defines γ_S, γ_S decides and the accuracy curves are not consulted.
    assert.equal(chooseCalibratedEpsilon([0.5, 1, 2], [[null, null, null], [0.5, 0.25, 0.75]], [[0, 1, 1], [1, 1, 1]]).epsilon, 2);
  });

  test('undefined everywhere, no trials, an empty grid or a ragged curve are errors', () => {
    const is = (code: string) => (e: unknown) => e instanceof SsseError && e.code === code;
    assert.throws(() => chooseCalibratedEpsilon([1, 2], [[null, null]]), is('BAD_REQUEST'));
    assert.throws(() => chooseCalibratedEpsilon([1, 2], [[null, null]], [[null, null]]), is('BAD_REQUEST'));
    assert.throws(() => chooseCalibratedEpsilon([1, 2], [[null, null]], []), is('BAD_ARGUMENT'));
    assert.throws(() => chooseCalibratedEpsilon([1, 2], []), is('BAD_ARGUMENT'));
    assert.throws(() => chooseCalibratedEpsilon([], [[]]), is('BAD_ARGUMENT'));
    assert.throws(() => meanCurve([[0.1, 0.2], [0.3]], 2), (e: unknown) => e instanceof SsseError && /trial 1 has 1 values/.test(e.message));
  });

  test('attributeRemoval: k distinct positives of the attribute, sorted, reproducible; too few is BAD_REQUEST', () => {
    const n = 200;
    const A = 4;
    const labels = randomLabels(n, A, 601, 0.3);
    const rows = attributeRemoval(labels, n, A, 2, 15, 9);
    assert.equal(rows.length, 15);
    assert.equal(new Set(rows).size, 15);
    assert.deepEqual(rows, [...rows].sort((a, b) => a - b));
    for (const r of rows) assert.equal(labels[r * A + 2], 1);
    assert.deepEqual(attributeRemoval(labels, n, A, 2, 15, 9), rows);
    assert.notDeepEqual(attributeRemoval(labels, n, A, 2, 15, 10), rows);
    let positives = 0;
    for (let i = 0; i < n; i++) positives += labels[i * A + 2] as number;
    assert.throws(() => attributeRemoval(labels, n, A, 2, positives + 1, 9), (e: unknown) => e instanceof SsseError && e.code === 'BAD_REQUEST' && /fewer than k/.test(e.message));
    assert.throws(() => attributeRemoval(labels, n, A, 4, 3, 9), (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT');
  });

  test('settingName', () => {
    assert.equal(settingName({ curvature: 'expected', leaveKOut: true }), 'expected+leave-k-out');
    assert.equal(settingName({ curvature: 'empirical', leaveKOut: false }), 'empirical');
  });
});

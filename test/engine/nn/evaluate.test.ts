import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../../main/engine/backend.js';
import {
  accuracyDifference,
  logSoftmaxRows,
  networkEpsilonGrid,
  NetworkStepEvaluator,
  retrainSpread,
  spreadOf,
  type EvalSplit,
} from '../../../main/engine/nn/evaluate.js';
import { disposeNetwork, initialParams } from '../../../main/engine/nn/network.js';
import { buildNetwork } from '../../../main/engine/nn/spec.js';
import { randomFeatures, xorshift32 } from '../../helpers/reference.js';

before(async () => {
  await initBackend('wasm');
});

test('logSoftmaxRows matches log(exp(z)/Σexp(z)) and survives large logits', () => {
  const z = Float32Array.from([1, 2, 3, -1, 0, 0.5]);
  const out = logSoftmaxRows(z, 2, 3);
  for (let i = 0; i < 2; i++) {
    const row = Array.from(z.subarray(i * 3, i * 3 + 3));
    const s = row.reduce((a, v) => a + Math.exp(v), 0);
    row.forEach((v, c) => assert.ok(Math.abs((out[i * 3 + c] as number) - Math.log(Math.exp(v) / s)) < 1e-12));
  }
  const big = logSoftmaxRows(Float32Array.from([1000, 0]), 1, 2);
  assert.equal(big[0], 0);
  assert.equal(big[1], -1000);
});

test('the network ε grid runs from 0.001 to 10, twenty values per decade', () => {
  const grid = networkEpsilonGrid();
  assert.equal(grid.length, 81);
  assert.equal(grid[0], 0.001);
  assert.equal(grid[20], 0.01);
  assert.equal(grid[60], 1);
  assert.equal(grid[80], 10);
  assert.equal(grid[21], 0.0112202); // 10^(−2 + 1/20), six significant digits
  assert.ok(grid.every((v, i) => i === 0 || v > (grid[i - 1] as number)));
});

test('accuracy differences and the retraining spread', () => {
  const d = accuracyDifference({ removed: 0.5, retained: 0.9, test: null }, { removed: 0.1, retained: 0.95, test: 0.8 });
  assert.ok(Math.abs((d.removed as number) - 0.4) < 1e-15);
  assert.ok(Math.abs((d.retained as number) - 0.05) < 1e-15);
  assert.equal(d.test, null);
  assert.ok(Math.abs((d.mean as number) - 0.225) < 1e-15);

  const s = spreadOf([0.8, 0.9, null, 1.0]);
  assert.ok(Math.abs((s.mean as number) - 0.9) < 1e-15);
  assert.ok(Math.abs((s.std as number) - 0.1) < 1e-15, 'sample standard deviation (n − 1)');
  assert.equal(spreadOf([0.5]).std, null);

  const evals = [0.7, 0.8, 0.9].map((a) => ({
    accuracy: { removed: a, retained: 1 - a, test: 0.5 },
    perClass: { removed: [a, null], retained: [1, 0], test: null },
    aucs: [null, null],
  }));
  const spread = retrainSpread([1, 2, 3], evals, {
    star: { removed: 1, retained: 0.2, test: 0.5 },
    hat: { removed: 0.8, retained: 0.2, test: 0.4 },
    retrained: null,
  });
  assert.ok(Math.abs((spread.z.star.removed as number) - 2) < 1e-12, '(1 − 0.8)/0.1');
  assert.ok(Math.abs(spread.z.hat.removed as number) < 1e-12, 'at the mean');
  assert.equal(spread.z.star.test, null, 'no spread, no z');
  assert.equal(spread.z.retrained.removed, null);
  assert.deepEqual(spread.per_class_accuracy.removed?.std.map((v) => (v === null ? null : Math.round(v * 1e12) / 1e12)), [0.1, null]);
  assert.equal(spread.per_class_accuracy.test, null);
});

test('the step evaluator: ε = 0 is θ*, and a single-class S leaves γ_S undefined', () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [4] }, [5], 3);
  try {
    const u = xorshift32(1);
    const features = randomFeatures(30, 5, 3);
    const classIds = Int32Array.from({ length: 30 }, (_, i) => (i < 6 ? 2 : Math.floor(u() * 3)));
    const rows = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
    const split = (r: Int32Array): EvalSplit => ({ features, classIds, rows: r });
    const star = initialParams(net, 1);
    const retrained = initialParams(net, 2);
    const direction = Float64Array.from(retrained, (v, i) => v - (star[i] as number));
    const onlyClass2 = new NetworkStepEvaluator(net, star, direction, retrained, { removed: split(rows(0, 6)), retained: split(rows(6, 30)), test: null });
    const zero = onlyClass2.evaluate(0);
    assert.deepEqual(zero.hat.accuracy, onlyClass2.star.accuracy);
    assert.equal(zero.row.gamma_S, null, 'every one-vs-rest AUC on S is undefined');
    assert.ok(zero.hat.aucs.every((a) => a === null));
    assert.equal(zero.row.normalized_distance, 1, 'θ̂ = θ*');
    // ε = 1 lands on θ*_{−S} exactly: distance 0, γ_S undefined, no accuracy difference.
    const one = onlyClass2.evaluate(1);
    assert.equal(one.row.normalized_distance, 0);
    assert.equal(one.row.mean_abs_accuracy_difference, 0);

    const mixed = new NetworkStepEvaluator(net, star, direction, retrained, { removed: split(rows(4, 16)), retained: split(rows(16, 30)), test: null });
    const half = mixed.evaluate(0.5);
    assert.ok(half.hat.aucs.some((a) => a !== null), 'a mixed S has one-vs-rest AUCs');
  } finally {
    disposeNetwork(net);
  }
});

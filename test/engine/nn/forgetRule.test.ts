import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { classRemoval } from '../../../main/engine/data/removal.js';
import { SsseError } from '../../../main/engine/errors.js';
import { eraseNetwork } from '../../../main/engine/nn/erase.js';
import { chooseForgetEpsilon, wholeClassesOf } from '../../../main/engine/nn/forgetRule.js';
import { disposeNetwork } from '../../../main/engine/nn/network.js';
import { tinyDataset, tinyNetworkConfig } from '../../helpers/tinyNetwork.js';

before(async () => {
  await initBackend('wasm');
});

test('wholeClassesOf names the classes S removes whole, and refuses part of a class with the counts', () => {
  const ids = Int32Array.from([0, 1, 1, 2, 0, 1]);
  assert.deepEqual(wholeClassesOf(ids, [1, 2, 5], 3), [1]);
  assert.deepEqual(wholeClassesOf(ids, [0, 4, 3], 3), [0, 2]);
  assert.throws(
    () => wholeClassesOf(ids, [1, 2], 3),
    (e: unknown) => e instanceof SsseError && e.code === 'BAD_REQUEST' && /S holds 2 of the 3 training samples of class 1; the rule needs whole classes/.test(e.message),
  );
  assert.throws(() => wholeClassesOf(Int32Array.from([0, 3]), [0], 3), /training sample 1 has class id 3, outside 0\.\.2/);
});

test('chooseForgetEpsilon: the smallest ε at or under the threshold, whatever the order of the rows', () => {
  // Accuracy on S falls with ε but not monotonically (0.30 at ε = 0.2 after 0.005 at 0.1).
  const rows = [
    { epsilon: 0.2, accuracy: { removed: 0.3 } },
    { epsilon: 0.05, accuracy: { removed: 0.4 } },
    { epsilon: 0.4, accuracy: { removed: 0 } },
    { epsilon: 0.1, accuracy: { removed: 0.005 } },
  ];
  assert.deepEqual(chooseForgetEpsilon(rows, 0.01), { threshold: 0.01, epsilon: 0.1, accuracy_on_S: 0.005 });
  assert.deepEqual(chooseForgetEpsilon(rows, 0), { threshold: 0, epsilon: 0.4, accuracy_on_S: 0 });
  assert.deepEqual(chooseForgetEpsilon(rows, 0.4), { threshold: 0.4, epsilon: 0.05, accuracy_on_S: 0.4 }, 'the threshold itself counts');
  assert.throws(
    () => chooseForgetEpsilon(rows.filter((r) => r.epsilon !== 0.4), 0.001),
    (e: unknown) => e instanceof SsseError && e.code === 'BAD_REQUEST' && /no ε of the sweep brings θ̂'s accuracy on S to 0\.001 or below \(the lowest is 0\.0050 at ε = 0\.1\)/.test(e.message),
  );
  for (const bad of [-0.1, 1, Number.NaN]) assert.throws(() => chooseForgetEpsilon(rows, bad), /--forget-threshold: expected a fraction in \[0, 1\)/);
  assert.throws(() => chooseForgetEpsilon([{ epsilon: 1, accuracy: { removed: null } }], 0.1), /accuracy on S at ε = 1 is null/);
  assert.throws(() => chooseForgetEpsilon([], 0.1), /no ε was evaluated/);
});

const GRID = [0.01, 0.03, 0.1, 0.3, 1, 3, 10];

test('a whole class erased by the forget rule without retraining: ε is the sweep’s smallest value under τ', async () => {
  const ds = tinyDataset();
  const removed = classRemoval(ds.train.classIds as Int32Array, 1, 1, 0);
  const before = tf.memory().numTensors;
  const out = await eraseNetwork(ds, removed, tinyNetworkConfig(GRID, { verify: 'none', forgetThreshold: 0.1 }));
  try {
    const s = out.summary;
    assert.equal(s.epsilon_rule, 'forget_threshold');
    assert.equal(s.accuracy.retrained, null, 'nothing was retrained');
    assert.equal(s.timings_s.retrain, null);
    // Independently from the sweep rows: the smallest grid ε whose accuracy on S is ≤ 0.1.
    const first = GRID.find((eps) => (s.sweep.find((r) => r.epsilon === eps)?.accuracy.removed as number) <= 0.1);
    assert.ok(first !== undefined, 'the tiny network forgets class 1 somewhere on the grid');
    assert.equal(s.epsilon, first);
    assert.equal(s.accuracy.hat.removed, s.epsilon_forget?.accuracy_on_S);
    assert.ok((s.accuracy.hat.removed as number) <= 0.1);
    assert.deepEqual(s.epsilon_forget?.classes, [1]);
    assert.equal(s.epsilon_in_sample, undefined, 'no retrained model, no in-sample choice');
  } finally {
    disposeNetwork(out.net);
  }
  assert.equal(tf.memory().numTensors, before);
});

test('with a retrained model the forget rule still decides, and the in-sample choice is kept beside it', async () => {
  const ds = tinyDataset();
  const removed = classRemoval(ds.train.classIds as Int32Array, 2, 1, 0);
  const out = await eraseNetwork(ds, removed, tinyNetworkConfig(GRID, { forgetThreshold: 0.1 }));
  try {
    const s = out.summary;
    assert.equal(s.epsilon_rule, 'forget_threshold');
    assert.equal(s.epsilon, s.epsilon_forget?.epsilon);
    assert.ok(s.accuracy.retrained !== null);
    assert.equal(s.epsilon_in_sample?.rule, 'min_accuracy_difference');
  } finally {
    disposeNetwork(out.net);
  }
});

test('the forget rule refuses part of a class, a given ε and calibration, before any training', async () => {
  const ds = tinyDataset();
  const ids = ds.train.classIds as Int32Array;
  const half = classRemoval(ids, 0, 0.5, 0);
  const before = tf.memory().numTensors;
  await assert.rejects(eraseNetwork(ds, half, tinyNetworkConfig(GRID, { verify: 'none', forgetThreshold: 0.01 })), /S holds \d+ of the \d+ training samples of class 0/);
  const whole = classRemoval(ids, 0, 1, 0);
  await assert.rejects(eraseNetwork(ds, whole, tinyNetworkConfig(GRID, { forgetThreshold: 0.01, epsilon: 0.1 })), /ε is either given \(--epsilon 0\.1\) or chosen by the threshold/);
  await assert.rejects(eraseNetwork(ds, whole, tinyNetworkConfig(GRID, { forgetThreshold: 0.01, calibrateTrials: 1 })), /by the threshold or by --calibrate-trials, not both/);
  await assert.rejects(eraseNetwork(ds, whole, tinyNetworkConfig(GRID, { forgetThreshold: 1 })), /expected a fraction in \[0, 1\), got 1/);
  assert.equal(tf.memory().numTensors, before, 'refused before a network was built');
});

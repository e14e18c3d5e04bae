import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  argmaxRows,
  attributeAccuracy,
  classAccuracy,
  meanAbsoluteDifference,
  perAttributeAccuracy,
  perClassAccuracy,
} from '../../../main/engine/metrics/accuracy.js';
import { SsseError } from '../../../main/engine/errors.js';

function badArgument(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && pattern.test(e.message);
}

function close(actual: number | null | undefined, expected: number): void {
  assert.ok(typeof actual === 'number', `expected a number, got ${String(actual)}`);
  assert.ok(Math.abs(actual - expected) < 1e-15, `${actual} vs ${expected}`);
}

describe('attribute accuracy', () => {
  // n = 3, A = 2.
  //   row 0: scores ( 0.5, −1 ) → predictions (1, 0); labels (1, 0) → ✓ ✓
  //   row 1: scores ( 0,    2 ) → predictions (0, 1); labels (0, 1) → ✓ ✓   (score exactly 0 predicts 0)
  //   row 2: scores (−0.3,  0 ) → predictions (0, 0); labels (1, 0) → ✗ ✓
  // All rows: 5 of 6 correct; attribute 0: 2/3, attribute 1: 3/3.
  const scores = new Float32Array([0.5, -1, 0, 2, -0.3, 0]);
  const labels = new Uint8Array([1, 0, 0, 1, 1, 0]);

  test('all rows', () => {
    close(attributeAccuracy(scores, labels, 3, 2), 5 / 6);
    const per = perAttributeAccuracy(scores, labels, 3, 2);
    close(per[0], 2 / 3);
    assert.equal(per[1], 1);
  });

  test('rows subset', () => {
    assert.equal(attributeAccuracy(scores, labels, 3, 2, [2]), 0.5);
    assert.deepEqual(perAttributeAccuracy(scores, labels, 3, 2, [2]), [0, 1]);
    assert.equal(attributeAccuracy(scores, labels, 3, 2, [0, 1]), 1);
    assert.equal(attributeAccuracy(scores, labels, 3, 2, [2, 0]), 0.75);
  });

  test('no rows → null', () => {
    assert.equal(attributeAccuracy(scores, labels, 3, 2, []), null);
    assert.deepEqual(perAttributeAccuracy(scores, labels, 3, 2, []), [null, null]);
    assert.equal(attributeAccuracy([], [], 0, 2), null);
  });

  test('the threshold is strictly above 0', () => {
    // scores 0, −0, 1e−300, −1e−300 predict 0, 0, 1, 0.
    const s = [0, -0, 1e-300, -1e-300];
    assert.equal(attributeAccuracy(s, [0, 0, 1, 0], 4, 1), 1);
    assert.equal(attributeAccuracy(s, [1, 1, 0, 1], 4, 1), 0);
  });

  test('contract violations', () => {
    assert.throws(() => attributeAccuracy(scores, labels, 2, 2), badArgument(/scores.*length/));
    assert.throws(() => attributeAccuracy(scores, [1, 0, 0, 1, 2, 0], 3, 2), badArgument(/labels\[4\]/));
    assert.throws(() => attributeAccuracy([0, Number.NaN], [0, 0], 1, 2), badArgument(/scores\[1\].*NaN/));
    assert.throws(() => perAttributeAccuracy(scores, labels, 3, 2, [3]), badArgument(/rows\[0\]/));
    assert.throws(() => attributeAccuracy(scores, labels, -3, -2), badArgument(/n must be/));
  });
});

describe('class accuracy', () => {
  //   row:        0  1  2  3  4
  //   predicted:  0  1  2  1  0
  //   true class: 0  1  1  1  2
  //   correct:    ✓  ✓  ✗  ✓  ✗   → 3 / 5
  const predicted = new Int32Array([0, 1, 2, 1, 0]);
  const classIds = new Uint8Array([0, 1, 1, 1, 2]);

  test('overall', () => {
    assert.equal(classAccuracy(predicted, classIds), 3 / 5);
    // rows 1, 2, 4: ✓ ✗ ✗ → 1/3
    close(classAccuracy(predicted, classIds, [1, 2, 4]), 1 / 3);
    assert.equal(classAccuracy(predicted, classIds, []), null);
  });

  test('per class, an absent class → null', () => {
    // class 0: row 0 ✓ → 1; class 1: rows 1 ✓, 2 ✗, 3 ✓ → 2/3; class 2: row 4 ✗ → 0; class 3: no rows → null
    const per = perClassAccuracy(predicted, classIds, 4);
    assert.equal(per.length, 4);
    assert.equal(per[0], 1);
    close(per[1], 2 / 3);
    assert.equal(per[2], 0);
    assert.equal(per[3], null);
    // rows 0, 4 only: class 1 is absent too.
    assert.deepEqual(perClassAccuracy(predicted, classIds, 4, [0, 4]), [1, null, 0, null]);
    assert.deepEqual(perClassAccuracy(predicted, classIds, 3, []), [null, null, null]);
  });

  test('contract violations', () => {
    assert.throws(() => classAccuracy(predicted, classIds.subarray(1)), badArgument(/length/));
    assert.throws(() => classAccuracy([0.5], [0]), badArgument(/predictedClass\[0\]/));
    assert.throws(() => perClassAccuracy(predicted, classIds, 2), badArgument(/predictedClass\[2\]|classIds\[4\]/));
    assert.throws(() => perClassAccuracy([0], [-1], 2), badArgument(/classIds\[0\]/));
    assert.throws(() => classAccuracy(predicted, classIds, [0, 0]), badArgument(/repeated/));
  });
});

describe('argmaxRows', () => {
  test('hand-worked, the first maximum wins', () => {
    const scores = new Float64Array([
      1, 3, 3, // → 1 (tie between 1 and 2: first)
      5, 5, 5, // → 0
      -Infinity, -Infinity, -1, // → 2
      -Infinity, -Infinity, -Infinity, // → 0
      2, 1, 0, // → 0
    ]);
    assert.deepEqual(Array.from(argmaxRows(scores, 5, 3)), [1, 0, 2, 0, 0]);
    assert.ok(argmaxRows(scores, 5, 3) instanceof Int32Array);
    assert.equal(argmaxRows([], 0, 3).length, 0);
  });

  test('contract violations', () => {
    assert.throws(() => argmaxRows([1, Number.NaN], 1, 2), badArgument(/scores\[1\].*NaN/));
    assert.throws(() => argmaxRows([1, 2, 3], 2, 2), badArgument(/length/));
    assert.throws(() => argmaxRows([], 2, 0), badArgument(/A must be at least 1/));
  });
});

describe('meanAbsoluteDifference', () => {
  test('over entries where both are non-null', () => {
    // entries 0 and 3: |0.5 − 0.75| + |0.25 − 0.5| = 0.5, over 2 → 0.25
    assert.equal(meanAbsoluteDifference([0.5, null, 1, 0.25], [0.75, 0.5, null, 0.5]), 0.25);
    assert.equal(meanAbsoluteDifference([null, 1], [0, null]), null);
    assert.equal(meanAbsoluteDifference([], []), null);
  });

  test('contract violations', () => {
    assert.throws(() => meanAbsoluteDifference([1], [1, 2]), badArgument(/length/));
    assert.throws(() => meanAbsoluteDifference([Number.NaN], [1]), badArgument(/a\[0\]/));
  });
});

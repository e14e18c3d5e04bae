import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { aucDistance, similarityRatio } from '../../../main/engine/metrics/similarity.js';
import { SsseError } from '../../../main/engine/errors.js';

function badArgument(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && pattern.test(e.message);
}

describe('aucDistance', () => {
  test('hand-worked sum of absolute differences', () => {
    // |0.75 − 1| + |0.5 − 0.5| + |0.25 − 0.625| = 0.25 + 0 + 0.375 = 0.625 (all exact in binary)
    assert.equal(aucDistance([0.75, 0.5, 0.25], [1, 0.5, 0.625]), 0.625);
    assert.equal(aucDistance([], []), 0);
  });

  test('a null attribute contributes nothing', () => {
    assert.equal(aucDistance([0.5, null, 0.25], [0.75, null, 0.5]), aucDistance([0.5, 0.25], [0.75, 0.5]));
    assert.equal(aucDistance([null, null], [null, null]), 0);
  });

  test('contract violations', () => {
    assert.throws(() => aucDistance([0.5, null], [0.5, 0.5]), badArgument(/attribute 1/));
    assert.throws(() => aucDistance([0.5], [0.5, 0.5]), badArgument(/length/));
    assert.throws(() => aucDistance([Number.NaN], [0.5]), badArgument(/a\[0\]/));
    assert.throws(() => aucDistance([0.5], [1.5]), badArgument(/b\[0\]/));
  });
});

describe('similarityRatio', () => {
  test('hand-worked', () => {
    // D(hat, star)      = |0.75 − 1|    + |0.5 − 0.5|   = 0.25
    // D(hat, retrained) = |0.75 − 0.25| + |0.5 − 0.625| = 0.5 + 0.125 = 0.625
    // γ = 0.25 / (0.25 + 0.625) = 2/7
    const r = similarityRatio([0.75, 0.5, null], [1, 0.5, null], [0.25, 0.625, null]);
    assert.equal(r.dStar, 0.25);
    assert.equal(r.dRetrained, 0.625);
    assert.ok(r.gamma !== null && Math.abs(r.gamma - 2 / 7) < 1e-15);
  });

  test('like the original → 0, like the retrained → 1', () => {
    const star = [0.9, 0.8];
    const retrained = [0.5, 0.625];
    assert.equal(similarityRatio(star, star, retrained).gamma, 0);
    assert.equal(similarityRatio(retrained, star, retrained).gamma, 1);
    // Halfway in AUC: 0.7 is 0.2 from both 0.9 and 0.5; 0.7125 is 0.0875 from both 0.8 and 0.625.
    const g = similarityRatio([0.7, 0.7125], star, retrained).gamma as number;
    assert.ok(Math.abs(g - 0.5) < 1e-12);
  });

  test('both distances 0 → null, never NaN', () => {
    const r = similarityRatio([0.5, null], [0.5, null], [0.5, null]);
    assert.deepEqual(r, { gamma: null, dStar: 0, dRetrained: 0 });
    assert.equal(similarityRatio([null], [null], [null]).gamma, null);
    assert.equal(similarityRatio([], [], []).gamma, null);
  });

  test('contract violations name the argument', () => {
    assert.throws(() => similarityRatio([0.5], [0.5], [0.5, 0.5]), badArgument(/retrained/));
    assert.throws(() => similarityRatio([0.5], [null], [0.5]), badArgument(/star/));
  });
});

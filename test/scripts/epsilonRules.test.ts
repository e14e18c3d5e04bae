import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  argminFirst,
  DROP_MATCH,
  EPSILON_RULES,
  HELD_OUT_MEAN,
  HELD_OUT_MEDIAN,
  HELD_OUT_ONE_SE,
  HELD_OUT_SMOOTHED,
  HINDSIGHT,
  IN_SAMPLE_GAMMA,
  type RuleDraw,
} from '../../scripts/epsilonRules.js';

const grid = [0.01, 0.02, 0.05, 0.1, 0.2];

function draw(curve: number[], drop = 0.06, gamma: (number | null)[] = curve.map(() => null), accS = [0.97, 0.95, 0.92, 0.9, 0.85]): RuleDraw {
  return { curve, gamma, accS, starAccS: 0.97, retrainedAccS: 0.97 - drop };
}

// Worked by hand: the judged draw 0 and three others whose own bests are at indices 3, 1 and 2.
const draws: RuleDraw[] = [
  draw([5, 3, 1, 2, 4], 0.06, [0.1, 0.5, 0.9, 0.9, 0.2]),
  draw([5, 4, 3, 1, 2], 0.05),
  draw([4, 1, 2, 3, 5], 0.07),
  draw([3, 3, 2, 2, 4], 0.06),
];

describe('ε rules of the results-nn comparison (hand-worked on a 5-point grid)', () => {
  test('argminFirst takes the first of equal values, within 1e-12', () => {
    assert.equal(argminFirst([2, 1, 1 + 1e-13, 0.5 + 1]), 1);
    assert.equal(argminFirst([3, 2, 1]), 2);
  });

  test("held out: the other draws' mean curve [4, 8/3, 7/3, 2, 11/3] is smallest at index 3", () => {
    assert.equal(HELD_OUT_MEAN.choose(draws, 0, grid), 3);
  });

  test("median of bests: the others' bests 3, 1, 2 have median 2; with four, the lower middle", () => {
    assert.equal(HELD_OUT_MEDIAN.choose(draws, 0, grid), 2);
    // Judging draw 3: the others' bests are 2 (draw 0), 3, 1 → 2; adding a fifth draw with best 4
    // gives bests 1, 2, 3, 4 for draw 3, whose lower middle is 2.
    const five = [...draws, draw([9, 9, 9, 9, 1])];
    assert.equal(HELD_OUT_MEDIAN.choose(five, 3, grid), 2);
    assert.equal(HELD_OUT_MEDIAN.choose(five, 1, grid), 2); // bests 2, 1, 2, 4 → sorted 1, 2, 2, 4
  });

  test('smoothed: the 3-point mean [10/3, 3, 7/3, 8/3, 17/6] is smallest at index 2', () => {
    assert.equal(HELD_OUT_SMOOTHED.choose(draws, 0, grid), 2);
  });

  test('one-SE: minimum 2 at index 3, standard error 1/√3; index 2 (7/3) is the first within it', () => {
    assert.equal(HELD_OUT_ONE_SE.choose(draws, 0, grid), 2);
    // A tighter spread at the minimum excludes index 2: the others all 2 there (SE 0).
    const tight = [draws[0] as RuleDraw, draw([5, 4, 3, 2, 2]), draw([4, 1, 2, 2, 5]), draw([3, 3, 2, 2, 4])];
    assert.equal(HELD_OUT_ONE_SE.choose(tight, 0, grid), 3);
  });

  test("drop matching: the others' mean drop 0.06 puts the target at 0.91, first reached at index 3; none when never reached", () => {
    assert.equal(DROP_MATCH.choose(draws, 0, grid), 3);
    const unreachable = [draw([1, 1, 1, 1, 1], 0.06, undefined, [0.97, 0.97, 0.96, 0.95, 0.95]), ...draws.slice(1)];
    assert.equal(DROP_MATCH.choose(unreachable, 0, grid), null);
  });

  test('in-sample γ_S: the first largest γ_S; the smallest mean |Δ| where γ_S is undefined', () => {
    assert.equal(IN_SAMPLE_GAMMA.choose(draws, 0, grid), 2);
    assert.equal(IN_SAMPLE_GAMMA.choose(draws, 1, grid), 3);
  });

  test("hindsight reads the draw's own curve; only it and in-sample read the draw's retrained model", () => {
    assert.equal(HINDSIGHT.choose(draws, 2, grid), 1);
    assert.deepEqual(
      EPSILON_RULES.filter((r) => r.readsOwnRetrained).map((r) => r.key),
      [IN_SAMPLE_GAMMA.key, HINDSIGHT.key],
    );
  });

  test("a held-out rule's choice for a draw does not depend on that draw's own curve", () => {
    const changed = [draw([0, 9, 9, 9, 9], 0.3, [1, 0, 0, 0, 0], [0.5, 0.5, 0.5, 0.5, 0.5]), ...draws.slice(1)];
    for (const rule of [HELD_OUT_MEAN, HELD_OUT_MEDIAN, HELD_OUT_SMOOTHED, HELD_OUT_ONE_SE]) {
      assert.equal(rule.choose(changed, 0, grid), rule.choose(draws, 0, grid), rule.key);
    }
  });
});

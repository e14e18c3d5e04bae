import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { SsseError } from '../../../main/engine/errors.js';
import { membershipAuc, membershipAucFromLogits, sampleLosses } from '../../../main/engine/metrics/membership.js';
import { gaussian, negLogLikelihood, randomLabels } from '../../helpers/reference.js';

/** The attack's AUC by counting every (member, non-member) pair: lower member loss wins, ties ½. */
function pairCount(members: number[], others: number[]): number {
  let wins = 0;
  for (const a of members) for (const b of others) wins += a < b ? 1 : a === b ? 0.5 : 0;
  return wins / (members.length * others.length);
}

describe('loss-threshold membership inference', () => {
  test('sampleLosses sums −log p over the attributes (reference negLogLikelihood)', () => {
    const n = 50;
    const A = 4;
    const g = gaussian(501);
    const z = Float64Array.from({ length: n * A }, () => 8 * g());
    z[0] = 800; // far into the tail: must stay finite and exact
    z[1] = -800;
    const y = randomLabels(n, A, 502);
    const losses = sampleLosses(z, y, n, A);
    for (let i = 0; i < n; i++) {
      let want = 0;
      for (let a = 0; a < A; a++) want += negLogLikelihood(z[i * A + a] as number, y[i * A + a] as number);
      // Same function written twice (different branch structure): equal to a few ulps.
      assert.ok(Math.abs((losses[i] as number) - want) <= 1e-12 * Math.max(1, want), `row ${i}: ${losses[i]} vs ${want}`);
    }
  });

  test('membershipAuc equals the pair count, ties included', () => {
    const g = gaussian(503);
    for (let trial = 0; trial < 5; trial++) {
      // Rounded losses so that ties occur, within and across the groups.
      const members = Array.from({ length: 37 }, () => Math.round(4 * Math.abs(g())) / 4);
      const others = Array.from({ length: 53 }, () => Math.round(4 * Math.abs(g() + 0.3)) / 4);
      const got = membershipAuc(members, others);
      assert.ok(got !== null);
      // Both are exact rationals with denominator 37·53 computed in halves: equal to rounding.
      assert.ok(Math.abs(got - pairCount(members, others)) < 1e-12, `${got} vs ${pairCount(members, others)}`);
    }
  });

  test('0.5 when members look exactly like non-members; 1 when every member has the lower loss', () => {
    const losses = [0.3, 1.2, 0.7, 2.5, 0.01];
    assert.equal(membershipAuc(losses, [...losses].reverse()), 0.5);
    assert.equal(membershipAuc([0.1, 0.2], [0.3, 5]), 1);
    assert.equal(membershipAuc([0.3, 5], [0.1, 0.2]), 0);
  });

  test('empty sides give null; NaN logits and non-0/1 labels throw BAD_ARGUMENT naming the row', () => {
    assert.equal(membershipAuc([], [1, 2]), null);
    assert.equal(membershipAuc([1], []), null);
    const bad = (re: RegExp) => (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && re.test(e.message);
    assert.throws(() => sampleLosses([0, Number.NaN], [0, 1], 1, 2), bad(/row 0, attribute 1\) is NaN/));
    assert.throws(() => sampleLosses([0, 1], [0, 2], 1, 2), bad(/= 2 is not a 0\/1 label/));
    assert.throws(() => sampleLosses([0, 1, 2], [0, 1], 1, 2), bad(/logits has length 3/));
    const r = membershipAucFromLogits({ logits: [5, -5], labels: [1, 0], n: 1 }, { logits: [-5, 5], labels: [1, 0], n: 1 }, 2);
    assert.equal(r, 1);
  });
});

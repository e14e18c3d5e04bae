import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { auc, attributeAucs } from '../../../main/engine/metrics/auc.js';
import { SsseError } from '../../../main/engine/errors.js';

/** Seeded PRNG (mulberry32), so the random cases are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Independent reference: count every (positive, negative) pair, O(n²), a tie worth ½. */
function bruteForceAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      const p = scores[i] as number;
      const q = scores[j] as number;
      if (p > q) wins += 1;
      else if (p === q) wins += 0.5;
    }
  }
  return pairs === 0 ? null : wins / pairs;
}

function badArgument(pattern: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && pattern.test(e.message);
}

describe('auc', () => {
  test('hand-worked, no ties', () => {
    // positives 0.35, 0.8; negatives 0.1, 0.4.
    // pairs: 0.35>0.1 ✓, 0.35<0.4 ✗, 0.8>0.1 ✓, 0.8>0.4 ✓  → 3 of 4 = 0.75
    assert.equal(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 0.75);
  });

  test('hand-worked, ties count ½', () => {
    // positives 0.5, 0.9; negatives 0.5, 0.2.
    // pairs: 0.5=0.5 ½, 0.5>0.2 1, 0.9>0.5 1, 0.9>0.2 1 → 3.5 / 4 = 0.875.
    // Average ranks: 0.2→1, 0.5,0.5→2.5, 0.9→4; R₊ = 2.5 + 4 = 6.5; U = 6.5 − 2·3/2 = 3.5. Same.
    assert.equal(auc([0.5, 0.5, 0.2, 0.9], [1, 0, 0, 1]), 0.875);
    // All scores tied: every pair is ½ → 0.5.
    assert.equal(auc([2, 2, 2, 2, 2], [0, 1, 0, 1, 1]), 0.5);
    // A tie group mixing several of each: positives {1, 1, 3}, negatives {1, 0}.
    // 1 vs 1: ½ each (2 pairs → 1); 1 vs 0: 1 each (2); 3 vs 1, 3 vs 0: 2 → 5 / 6.
    assert.equal(auc([1, 1, 3, 1, 0], [1, 1, 1, 0, 0]), 5 / 6);
  });

  test('perfect, reversed and infinite scores', () => {
    assert.equal(auc([0, 1, 2, 3], [0, 0, 1, 1]), 1);
    assert.equal(auc([0, 1, 2, 3], [1, 1, 0, 0]), 0);
    assert.equal(auc([-Infinity, Infinity, 0], [0, 1, 0]), 1);
    assert.equal(auc([Infinity, Infinity, -Infinity], [0, 1, 0]), 0.75);
    // −0 and 0 are the same score: a tie.
    assert.equal(auc([-0, 0], [1, 0]), 0.5);
  });

  test('matches the O(n²) pairwise count on random data with ties', () => {
    const rand = mulberry32(12345);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rand() * 60);
      const levels = 1 + Math.floor(rand() * 8); // few distinct values → many ties
      const scores = new Float32Array(n);
      const labels = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        scores[i] = Math.floor(rand() * levels) / 4 - 1;
        labels[i] = rand() < 0.4 ? 1 : 0;
      }
      const expected = bruteForceAuc(scores, labels);
      const got = auc(scores, labels);
      if (expected === null) assert.equal(got, null);
      else {
        assert.ok(got !== null);
        assert.ok(Math.abs(got - expected) <= 1e-12, `trial ${trial}: ${got} vs ${expected}`);
      }
    }
  });

  test('continuous random data matches too', () => {
    const rand = mulberry32(7);
    const n = 500;
    const scores = new Float64Array(n);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = rand() < 0.3 ? 1 : 0;
      scores[i] = rand() + 0.3 * (labels[i] as number);
    }
    const expected = bruteForceAuc(scores, labels) as number;
    assert.ok(Math.abs((auc(scores, labels) as number) - expected) <= 1e-12);
  });

  test('no positives or no negatives → null', () => {
    assert.equal(auc([0.1, 0.2, 0.3], [1, 1, 1]), null);
    assert.equal(auc([0.1, 0.2, 0.3], [0, 0, 0]), null);
    assert.equal(auc([], []), null);
  });

  test('contract violations throw BAD_ARGUMENT naming the argument', () => {
    assert.throws(() => auc([0.1, Number.NaN], [0, 1]), badArgument(/scores\[1\].*NaN/));
    assert.throws(() => auc([0.1, 0.2], [0, 1, 1]), badArgument(/scores.*labels|labels.*scores/));
    assert.throws(() => auc([0.1, 0.2], [0, 2]), badArgument(/labels\[1\]/));
    assert.throws(() => auc([0.1, 0.2], [0, 0.5]), badArgument(/labels\[1\]/));
  });
});

describe('attributeAucs', () => {
  // n = 5 rows, A = 3 attributes, row-major.
  const scores = new Float32Array([
    0.1, 5, 1, //
    0.4, 4, 1, //
    0.35, 3, 1, //
    0.8, 2, 1, //
    0.0, 1, 1, //
  ]);
  const labels = new Uint8Array([
    0, 1, 0, //
    0, 1, 1, //
    1, 0, 0, //
    1, 0, 1, //
    1, 1, 1, //
  ]);

  test('all rows, hand-worked', () => {
    // Attribute 0: positives 0.35, 0.8, 0; negatives 0.1, 0.4.
    //   0.35: beats 0.1 → 1; 0.8: beats both → 2; 0: beats none → 0. 3 / 6 = 0.5.
    // Attribute 1: positives 5, 4, 1; negatives 3, 2. 5: 2, 4: 2, 1: 0 → 4 / 6.
    // Attribute 2: all scores tied → 0.5.
    const got = attributeAucs(scores, labels, 5, 3);
    assert.equal(got.length, 3);
    assert.equal(got[0], 0.5);
    assert.ok(Math.abs((got[1] as number) - 4 / 6) < 1e-15);
    assert.equal(got[2], 0.5);
  });

  test('rows subset, with a constant attribute → null', () => {
    // Rows 0..3: attribute 0 is the 0.75 example above.
    // Attribute 1 on rows 0..3: positives 5, 4; negatives 3, 2 → 1.
    const got = attributeAucs(scores, labels, 5, 3, [3, 1, 2, 0]);
    assert.deepEqual(got, [0.75, 1, 0.5]);
    // Rows 0, 1: attribute 0 all negative, attribute 1 all positive → null; attribute 2: the one pair (1 vs 1) is a tie → ½.
    assert.deepEqual(attributeAucs(scores, labels, 5, 3, [0, 1]), [null, null, 0.5]);
    assert.deepEqual(attributeAucs(scores, labels, 5, 3, []), [null, null, null]);
  });

  test('contract violations', () => {
    assert.throws(() => attributeAucs(scores, labels, 5, 2), badArgument(/scores.*length/));
    assert.throws(() => attributeAucs(scores, labels.subarray(1), 5, 3), badArgument(/labels.*length/));
    assert.throws(() => attributeAucs(scores, labels, 5, 3, [0, 5]), badArgument(/rows\[1\]/));
    assert.throws(() => attributeAucs(scores, labels, 5, 3, [1, 1]), badArgument(/rows\[1\].*repeated/));
    assert.throws(() => attributeAucs(scores, labels, 5, 3, [0.5]), badArgument(/rows\[0\]/));
    const nan = Float64Array.from(scores);
    nan[4] = Number.NaN;
    assert.throws(() => attributeAucs(nan, labels, 5, 3), badArgument(/scores\[4\].*row 1, attribute 1.*NaN/));
    const bad = Uint8Array.from(labels);
    bad[2] = 3;
    assert.throws(() => attributeAucs(scores, bad, 5, 3), badArgument(/labels\[2\]/));
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mirrorTriangle } from '../../../main/engine/linalg/symmetric.js';

test('mirrorTriangle copies one strict triangle over the other, diagonal untouched, across tile edges', () => {
  for (const d of [1, 5, 64, 70, 130]) {
    for (const from of ['lower', 'upper'] as const) {
      // a[i][j] = 1000·i + j: every entry distinct, so a wrong copy shows.
      const a = Float64Array.from({ length: d * d }, (_, k) => 1000 * Math.floor(k / d) + (k % d));
      mirrorTriangle(a, d, from);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          const lo = Math.max(i, j);
          const hi = Math.min(i, j);
          // The kept triangle's entry for the pair (i, j): row lo, column hi when the lower is kept.
          const want = i === j ? 1000 * i + i : from === 'lower' ? 1000 * lo + hi : 1000 * hi + lo;
          assert.equal(a[i * d + j], want, `d = ${d}, from ${from}, (${i}, ${j})`);
        }
      }
    }
  }
});

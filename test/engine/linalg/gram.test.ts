import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { SsseError } from '../../../main/engine/errors.js';
import { panelBounds, weightedGramPanels, type MatMulShape } from '../../../main/engine/linalg/gram.js';
import { denseWeightedGram, randomFeatures, randomWeights, relFrob, U32 } from '../../helpers/reference.js';


before(async () => {
  await initBackend('auto');
});

describe('panelBounds', () => {
  test('cuts 0…d into increasing panels, interior cuts on multiples of 8', () => {
    assert.deepEqual(panelBounds(784, 4), [0, 200, 392, 592, 784]);
    assert.deepEqual(panelBounds(10, 1), [0, 10]);
    // More panels than columns: one column each, never an empty panel.
    const b = panelBounds(3, 8);
    assert.deepEqual(b, [0, 1, 2, 3]);
  });
});

describe('weightedGramPanels (chunked, lower panels, float32 products) against a dense float64 Σ w_i x_i x_iᵀ', () => {
  const n = 700;
  const d = 45;
  const features = randomFeatures(n, d, 11);
  const w = randomWeights(n, 12, 0.1);
  const ref = denseWeightedGram(features, n, d, w);
  for (let i = 0; i < ref.length; i++) ref[i] = (ref[i] as number) / n;

  for (const plan of [
    { chunkRows: 700, panels: 1 },
    { chunkRows: 128, panels: 3 },
    { chunkRows: 97, panels: 4 }, // chunks and panels that do not divide n and d
    { chunkRows: 64, panels: 9 },
  ]) {
    test(`plan ${JSON.stringify(plan)}: the whole symmetric matrix, float32-accurate`, (t) => {
      const before = tf.memory().numTensors;
      const shapes: MatMulShape[] = [];
      const g = weightedGramPanels(features, n, d, w, 1 / n, { plan, onMatMul: (s) => shapes.push(s) });
      assert.equal(tf.memory().numTensors, before, 'tensor leak');
      assert.ok(g instanceof Float64Array);
      // Non-negative data, so no cancellation: each entry is a float32 sum of at most chunkRows
      // products (error ≲ √c·u₃₂ typically, c·u₃₂ at worst) plus the float32 sum of the ⌈n/c⌉
      // chunk sums. 4·(√c + √(n/c) + 2)·u₃₂ covers the typical case with room (1.7e-6 for one
      // chunk of 700); a lost row, a wrong weight or a misplaced panel is O(1e-3) or more.
      const c = Math.min(plan.chunkRows, n);
      const tol = 4 * (Math.sqrt(c) + Math.sqrt(Math.ceil(n / c)) + 2) * U32;
      const err = relFrob(g, ref);
      t.diagnostic(`‖G − G₆₄‖/‖G₆₄‖ = ${err.toExponential(2)} (tolerance ${tol.toExponential(2)})`);
      assert.ok(err < tol, `${err} ≥ ${tol}`);
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) assert.equal(g[i * d + j], g[j * d + i], `symmetry at (${i}, ${j})`);
      // Only the panels on and below the diagonal were computed: Σ (d − b_j)·w_j per chunk.
      const bounds = panelBounds(d, plan.panels);
      let perChunk = 0;
      for (let j = 0; j + 1 < bounds.length; j++) perChunk += (d - (bounds[j] as number)) * ((bounds[j + 1] as number) - (bounds[j] as number));
      const work = shapes.reduce((s, [m, k, nn]) => s + m * k * nn, 0);
      const nonzeroRows = Array.from(w).filter((v) => v !== 0).length;
      assert.ok(work <= perChunk * n, `work ${work} exceeds the lower panels' ${perChunk * n}`);
      assert.ok(work >= perChunk * nonzeroRows, `work ${work} below what the non-zero rows need`);
      if (plan.panels > 1) assert.ok(perChunk < d * d, 'panels must save work over the full square');
    });
  }

  test('chunks whose weights are all zero are skipped and change nothing', () => {
    const zeroed = Float64Array.from(w);
    zeroed.fill(0, 128, 256);
    const shapes: MatMulShape[] = [];
    const g = weightedGramPanels(features, n, d, zeroed, 1, { plan: { chunkRows: 128, panels: 2 }, onMatMul: (s) => shapes.push(s) });
    assert.equal(shapes.length, 2 * (Math.ceil(n / 128) - 1));
    const r = denseWeightedGram(features, n, d, zeroed);
    assert.ok(relFrob(g, r) < 1e-5);
    const none = weightedGramPanels(features, n, d, new Float64Array(n), 1);
    assert.ok(none.every((v) => v === 0));
  });

  test('a NaN, infinite or negative weight is a NUMERIC error naming the row; bad shapes are BAD_ARGUMENT', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      const ww = Float64Array.from(w);
      ww[333] = bad;
      const before = tf.memory().numTensors;
      assert.throws(
        () => weightedGramPanels(features, n, d, ww, 1, { plan: { chunkRows: 100, panels: 2 } }),
        (e: unknown) => e instanceof SsseError && e.code === 'NUMERIC' && /weight 333 /.test(e.message),
      );
      assert.equal(tf.memory().numTensors, before, 'tensor leak on error');
    }
    assert.throws(() => weightedGramPanels(features, n, d + 1, w, 1), (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT');
    assert.throws(() => weightedGramPanels(features, n, d, w.subarray(1), 1), (e: unknown) => e instanceof SsseError && /weights has 699/.test(e.message));
  });
});

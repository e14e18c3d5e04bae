import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { weightedGram } from '../../../main/engine/linalg/weightedGram.js';
import { SsseError } from '../../../main/engine/errors.js';
import { denseWeightedGram, randomFeatures, randomWeights, relFrob, U32, xorshift32 } from '../../helpers/reference.js';


before(async () => {
  await initBackend('auto');
});

describe('weightedGram (backend float32) against a dense float64 Σ w_i x_i x_iᵀ', () => {
  for (const [n, d, seed] of [
    [500, 40, 1],
    [3000, 100, 2],
  ] as const) {
    test(`${n}×${d} random non-negative data, a tenth of the weights zero`, (t) => {
      const features = randomFeatures(n, d, seed);
      const w = randomWeights(n, seed + 7, 0.1);
      const x = tf.tensor2d(features, [n, d]);
      let gram: Float64Array;
      try {
        gram = weightedGram(x, w);
      } finally {
        x.dispose();
      }
      // The reference reads the same float32 features exactly and keeps w in float64.
      const ref = denseWeightedGram(features, n, d, w);
      // Tolerance: the float32 route rounds √w (relative u₃₂ each, so 2u₃₂ on w), the scaled rows
      // (u₃₂) and accumulates n products per entry. With non-negative data no cancellation
      // happens, so the entrywise relative error is ≤ (3 + n)·u₃₂ worst case and ~(3 + √n)·u₃₂
      // typically; blocked/pairwise summation in the backend sits near the typical figure.
      // Allow 4·√n·u₃₂ + 1e-6 (6.3e-6 at n = 500, 1.4e-5 at n = 3000; measured 2e-7 and 6e-7):
      // float32 level, while a wrong weighting, a lost row or a transposition is O(1).
      const err = relFrob(gram, ref);
      const tol = 4 * Math.sqrt(n) * U32 + 1e-6;
      t.diagnostic(`‖G₃₂ − G₆₄‖/‖G₆₄‖ = ${err.toExponential(2)} (tolerance ${tol.toExponential(2)})`);
      assert.ok(err < tol, `relative Frobenius error ${err} ≥ ${tol}`);
      // The result is float64 storage of a symmetric matrix.
      assert.ok(gram instanceof Float64Array);
      assert.equal(gram.length, d * d);
    });
  }

  test('with signed data (cancellation): relative to Σ w_i |x_i||x_i|ᵀ the error stays at float32 level', (t) => {
    const n = 800;
    const d = 30;
    const u = xorshift32(5);
    const features = Float32Array.from({ length: n * d }, () => 2 * u() - 1);
    const w = randomWeights(n, 6);
    const x = tf.tensor2d(features, [n, d]);
    let gram: Float64Array;
    try {
      gram = weightedGram(x, w);
    } finally {
      x.dispose();
    }
    const ref = denseWeightedGram(features, n, d, w);
    // Off-diagonal entries of a signed Gram cancel, so measure the error against the absolute
    // Gram Σ w|x||x|ᵀ, which bounds every partial sum: the same (3 + √n)·u₃₂ argument applies.
    const absRef = denseWeightedGram(Float32Array.from(features, Math.abs), n, d, w);
    let num = 0;
    let den = 0;
    for (let i = 0; i < d * d; i++) {
      num = Math.max(num, Math.abs((gram[i] as number) - (ref[i] as number)));
      den = Math.max(den, absRef[i] as number);
    }
    const err = num / den;
    t.diagnostic(`max |G₃₂ − G₆₄| / max Σw|x||x| = ${err.toExponential(2)}`);
    assert.ok(err < 4 * Math.sqrt(n) * U32 + 1e-6, `${err}`);
  });

  test('all-zero weights give the zero matrix', () => {
    const features = randomFeatures(20, 5, 9);
    const x = tf.tensor2d(features, [20, 5]);
    try {
      assert.deepEqual(Array.from(weightedGram(x, new Float64Array(20))), new Array<number>(25).fill(0));
    } finally {
      x.dispose();
    }
  });

  test('negative, NaN or infinite weights throw, naming the row', () => {
    const n = 10;
    const x = tf.tensor2d(randomFeatures(n, 4, 10), [n, 4]);
    try {
      for (const bad of [-1e-12, Number.NaN, Number.POSITIVE_INFINITY]) {
        const w = new Float64Array(n).fill(0.5);
        w[7] = bad;
        assert.throws(
          () => weightedGram(x, w),
          (e: unknown) => e instanceof SsseError && e.code === 'NUMERIC' && /weight 7/.test(e.message),
          `weight ${bad}`,
        );
      }
    } finally {
      x.dispose();
    }
  });

  test('a weight vector of the wrong length throws BAD_ARGUMENT naming `weights`', () => {
    const x = tf.tensor2d(randomFeatures(10, 4, 11), [10, 4]);
    try {
      assert.throws(
        () => weightedGram(x, new Float64Array(9)),
        (e: unknown) =>
          e instanceof SsseError && e.code === 'BAD_ARGUMENT' && /weights/.test(e.message) && /9/.test(e.message) && /10/.test(e.message),
      );
    } finally {
      x.dispose();
    }
  });

  test('leaks no tensors, on success or on error', () => {
    const x = tf.tensor2d(randomFeatures(200, 30, 12), [200, 30]);
    try {
      const before = tf.memory().numTensors;
      weightedGram(x, randomWeights(200, 13));
      weightedGram(x, randomWeights(200, 14));
      assert.throws(() => weightedGram(x, new Float64Array(200).fill(-1)));
      assert.equal(tf.memory().numTensors, before);
    } finally {
      x.dispose();
    }
  });
});

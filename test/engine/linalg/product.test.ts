import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { blockedSpdInverse } from '../../../main/engine/linalg/blockedCholesky.js';
import { weightedGramPanels } from '../../../main/engine/linalg/gram.js';
import { gemm, product, productEngine } from '../../../main/engine/linalg/product.js';
import { denseWeightedGram, matMul, randomFeatures, randomMatrix, relFrob, spdWithCondition, xorshift32 } from '../../helpers/reference.js';

describe('product: tfjs matMul on wasm, JavaScript float64 gemm on the cpu backend', () => {
  test('gemm equals the reference product to float64 rounding, zero rows and odd sizes included', () => {
    for (const [m, k, n] of [
      [7, 5, 3],
      [130, 260, 33],
      [1, 1, 1],
    ] as const) {
      const a = Float32Array.from(randomMatrix(m, k, m + k));
      if (m > 1) for (let j = 0; j < k; j++) a[j] = 0; // a zero first row (the zero-skipping path)
      const b = Float32Array.from(randomMatrix(k, n, n));
      // Both sum the same float32-exact products in float64, in different orders: k·u₆₄ relative.
      assert.ok(relFrob(gemm(a, m, k, b, n), matMul(a, b, m, k, n)) < 1e-13, `${m}×${k}×${n}`);
    }
  });

  test('the engine follows the backend, and both engines give the product', async () => {
    const a = Float32Array.from(randomMatrix(40, 30, 1));
    const b = Float32Array.from(randomMatrix(30, 20, 2));
    const ref = matMul(a, b, 40, 30, 20);
    await initBackend('wasm');
    assert.equal(productEngine(), 'backend');
    const viaBackend = product(a, 40, 30, b, 20);
    assert.ok(viaBackend instanceof Float32Array);
    // float32 products of length 30: ≲ √30·u₃₂ relative typically; 1e-5 is ample.
    assert.ok(relFrob(viaBackend, ref) < 1e-5);
    await initBackend('cpu');
    assert.equal(productEngine(), 'javascript');
    const viaJs = product(a, 40, 30, b, 20);
    assert.ok(viaJs instanceof Float64Array);
    assert.ok(relFrob(viaJs, ref) < 1e-13);
    await initBackend('wasm');
  });

  test('on the cpu backend the Gram and the blocked inverse run in JavaScript, at float64-product accuracy, with no tensors', async () => {
    await initBackend('cpu');
    try {
      const before = tf.memory().numTensors;
      const n = 300;
      const d = 50;
      const x = randomFeatures(n, d, 3);
      const u = xorshift32(4);
      const w = Float64Array.from({ length: n }, () => u());
      const g = weightedGramPanels(x, n, d, w, 1, { plan: { chunkRows: 64, panels: 3 } });
      // Sums in float64, but the scaled rows w_i·x_i are rounded to float32 on the way in (2u₃₂
      // per term: the weight and the product); the terms are non-negative, so ≤ 2u₃₂ overall.
      // Measured 3.8e-9; the float32 backend path measures ~5e-8 (gram.test.ts).
      assert.ok(relFrob(g, denseWeightedGram(x, n, d, w)) < 2 * 2 ** -24);
      const { a, inverse } = spdWithCondition(d, 1e4, 5);
      const inv = blockedSpdInverse(a, d, { block: 16 });
      // The factor and L⁻¹ are stored in float32 between products (u₃₂ each), so κ·u₃₂ as on
      // wasm (blockedCholesky.test.ts); it measures ~10× below the wasm figure.
      assert.ok(relFrob(inv, inverse) < 1e4 * 2 ** -24 + 1e-6);
      assert.equal(tf.memory().numTensors, before);
    } finally {
      await initBackend('wasm');
    }
  });
});

import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { blockedSpdInverse } from '../../../main/engine/linalg/blockedCholesky.js';
import { weightedGramPanels } from '../../../main/engine/linalg/gram.js';
import { gemm, operandTensor, product, productEngine, readTensor, withProduct, withProductOfThree } from '../../../main/engine/linalg/product.js';
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

describe('withProduct / readTensor: products handed over without copies', () => {
  test('strided sub-block operands give the product of the sub-blocks, on wasm (heap views) and on cpu (gemm)', async () => {
    // A 9×12 matrix whose rows 0..8, columns 3..9 form the left operand; a 7×5 right operand.
    const big = Float32Array.from(randomMatrix(9, 12, 5));
    const sub = new Float32Array(9 * 7);
    for (let r = 0; r < 9; r++) for (let c = 0; c < 7; c++) sub[r * 7 + c] = big[r * 12 + 3 + c] as number;
    const b = Float32Array.from(randomMatrix(7, 5, 6));
    const ref = matMul(sub, b, 9, 7, 5);
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const shapes: number[][] = [];
      const got = withProduct({ data: big, rows: 9, cols: 7, stride: 12, col0: 3 }, { data: b, rows: 7, cols: 5 }, (c) => Float64Array.from(c), (s) => shapes.push(s));
      // float32 products of length 7 on wasm: a few u₃₂; float64 on cpu.
      assert.ok(relFrob(got, ref) < (backend === 'wasm' ? 1e-6 : 1e-13), backend);
      assert.deepEqual(shapes, [[9, 7, 5]]);
      assert.equal(tf.memory().numTensors, before, `${backend}: no tensor left`);
    }
    await initBackend('wasm');
  });

  test("on wasm the view is the tensor's own memory and equals dataSync; readTensor refuses other dtypes", async () => {
    await initBackend('wasm');
    const t = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    try {
      const viewed = readTensor(t, (v) => {
        const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8;
        assert.equal(v.buffer, heap.buffer, "a view of the backend's heap, not a copy");
        return Array.from(v);
      });
      assert.deepEqual(viewed, Array.from(t.dataSync()));
    } finally {
      t.dispose();
    }
    const ints = tf.tensor1d([1, 2], 'int32');
    try {
      assert.throws(() => readTensor(ints, () => 0), /expected a float32 tensor, got int32/);
    } finally {
      ints.dispose();
    }
  });

  test('operandTensor writes contiguous and strided operands (rows starting anywhere) into tensors equal to the gathered values', async () => {
    // A 9×12 matrix: rows 2..7 × columns 4..10 (strided), rows 2..7 whole (contiguous, starting at
    // row 2 through col0), and the whole matrix. The tensor's values must be exactly the
    // gathered floats, on wasm (written into the heap) and on cpu (tf.tensor2d).
    const big = Float32Array.from(randomMatrix(9, 12, 7));
    const cases = [
      { x: { data: big, rows: 5, cols: 6, stride: 12, col0: 2 * 12 + 4 }, r0: 2, c0: 4 },
      { x: { data: big, rows: 5, cols: 12, col0: 2 * 12 }, r0: 2, c0: 0 },
      { x: { data: big, rows: 9, cols: 12 }, r0: 0, c0: 0 },
    ];
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      for (const { x, r0, c0 } of cases) {
        const expected: number[] = [];
        for (let r = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++) expected.push(big[(r0 + r) * 12 + c0 + c] as number);
        const t = operandTensor(x, 1);
        try {
          assert.deepEqual(t.shape, [x.rows, x.cols]);
          assert.deepEqual(Array.from(t.dataSync()), expected, `${backend}: ${x.rows}×${x.cols} at (${r0}, ${c0})`);
        } finally {
          t.dispose();
        }
      }
      assert.equal(tf.memory().numTensors, before, `${backend}: no tensor left`);
    }
    await initBackend('wasm');
  });

  test('float64 operands are rounded to float32 as they are written, strided or not', async () => {
    const big = Float64Array.from(randomMatrix(6, 8, 9), (v) => v / 3); // not float32-exact
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      for (const x of [
        { data: big, rows: 6, cols: 8 },
        { data: big, rows: 4, cols: 3, stride: 8, col0: 8 + 2 },
      ]) {
        const expected: number[] = [];
        const stride = x.stride ?? x.cols;
        const col0 = x.col0 ?? 0;
        for (let r = 0; r < x.rows; r++) for (let c = 0; c < x.cols; c++) expected.push(Math.fround(big[r * stride + col0 + c] as number));
        const t = operandTensor(x);
        try {
          assert.deepEqual(Array.from(t.dataSync()), expected, `${backend}: ${x.rows}×${x.cols}`);
        } finally {
          t.dispose();
        }
      }
    }
    await initBackend('wasm');
  });

  test('withProductOfThree is A·(B·C) with B·C rounded to float32 between the products, shapes reported in order', async () => {
    // A 5×4 float64 (strided in a 5×6), B 4×7 float32, C 7×3 float32 (strided in a 7×5).
    const aBig = Float64Array.from(randomMatrix(5, 6, 11));
    const b = Float32Array.from(randomMatrix(4, 7, 12));
    const cBig = Float32Array.from(randomMatrix(7, 5, 13));
    const a = new Float64Array(5 * 4);
    for (let r = 0; r < 5; r++) for (let j = 0; j < 4; j++) a[r * 4 + j] = Math.fround(aBig[r * 6 + 1 + j] as number);
    const c = new Float64Array(7 * 3);
    for (let r = 0; r < 7; r++) for (let j = 0; j < 3; j++) c[r * 3 + j] = cBig[r * 5 + 2 + j] as number;
    // Reference: float64 throughout, B·C rounded to float32 as the engines do.
    const bc = matMul(Float64Array.from(b), c, 4, 7, 3).map((v) => Math.fround(v));
    const ref = matMul(a, bc, 5, 4, 3);
    for (const backend of ['wasm', 'cpu'] as const) {
      await initBackend(backend);
      const before = tf.memory().numTensors;
      const shapes: number[][] = [];
      const got = withProductOfThree(
        { data: aBig, rows: 5, cols: 4, stride: 6, col0: 1 },
        { data: b, rows: 4, cols: 7 },
        { data: cBig, rows: 7, cols: 3, stride: 5, col0: 2 },
        (abc) => Float64Array.from(abc),
        (s) => shapes.push(s),
      );
      // Sums of ≤ 7 float32 products: a few u₃₂ relative on wasm (float32 arithmetic); on cpu the
      // only float32 step is B·C's rounding, which the reference repeats.
      assert.ok(relFrob(got, ref) < (backend === 'wasm' ? 1e-6 : 1e-13), `${backend}: ${relFrob(got, ref)}`);
      assert.deepEqual(shapes, [[4, 7, 3], [5, 4, 3]]);
      assert.equal(tf.memory().numTensors, before, `${backend}: no tensor left`);
    }
    await initBackend('wasm');
    assert.throws(() => withProductOfThree({ data: b, rows: 4, cols: 7 }, { data: b, rows: 4, cols: 7 }, { data: b, rows: 4, cols: 7 }, () => 0), /4×7 times 4×7 times 4×7/);
  });

  test('inner dimensions that differ are refused, naming both shapes', () => {
    const a = new Float32Array(6);
    assert.throws(() => withProduct({ data: a, rows: 2, cols: 3 }, { data: a, rows: 2, cols: 3 }, () => 0), /2×3 times 2×3/);
  });
});

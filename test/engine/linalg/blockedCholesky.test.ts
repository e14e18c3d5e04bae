import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { SsseError } from '../../../main/engine/errors.js';
import {
  blockedCholesky,
  blockedLowerInverse,
  blockedSpdInverse,
  inverseFromLowerInverse,
  lowerInverseSmall,
} from '../../../main/engine/linalg/blockedCholesky.js';
import type { MatMulShape } from '../../../main/engine/linalg/gram.js';
import { Workspace } from '../../../main/engine/linalg/workspace.js';
import { gaussJordanInverse, identity, matMul, randomSpd, relFrob, spdWithCondition, transpose, U32 } from '../../helpers/reference.js';


before(async () => {
  await initBackend('auto');
});

function llt(l: Float64Array, d: number): Float64Array {
  return matMul(l, transpose(l, d, d), d, d, d);
}

describe('blockedCholesky / blockedSpdInverse (float32 backend products, float64 blocks) against float64 references', () => {
  const d = 150;
  const block = 32; // 4 full blocks and a remainder of 22

  test('L is lower-triangular with a positive diagonal and L·Lᵀ reproduces A at float32 product accuracy', (t) => {
    const a = randomSpd(d, 21);
    const before = tf.memory().numTensors;
    const shapes: MatMulShape[] = [];
    const f = blockedCholesky(a, d, { block, onMatMul: (s) => shapes.push(s) });
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (let i = 0; i < d; i++) {
      assert.ok((f.l[i * d + i] as number) > 0);
      for (let j = i + 1; j < d; j++) assert.equal(f.l[i * d + j], 0);
    }
    // Backward error: every entry of L·Lᵀ − A is the float32 rounding of at most ⌈d/block⌉ trailing
    // products of inner length `block` plus a panel product, each ≲ √block·u₃₂·|L||Lᵀ| typically;
    // |L||Lᵀ| ≤ √(a_ii·a_jj), so relative to ‖A‖ the error is ≲ √(d/block)·√block·u₃₂·few
    // = √d·u₃₂·few ≈ 7e-7·few. 1e-5 has room; a wrong panel or a missed update is O(1e-2) or more.
    const err = relFrob(llt(f.l, d), a);
    t.diagnostic(`‖LLᵀ − A‖/‖A‖ = ${err.toExponential(2)}; ${shapes.length} backend products`);
    assert.ok(err < 1e-5, `${err}`);
    // Two products per block step but the last: the panel and the trailing update.
    assert.equal(shapes.length, 2 * (Math.ceil(d / block) - 1));
    assert.equal(f.diagonalInverses.length, Math.ceil(d / block));
  });

  test('the inverse matches the exact inverse of a matrix with known condition number, within κ·√d·u₃₂', (t) => {
    for (const kappa of [10, 1e3, 1e4]) {
      const { a, inverse } = spdWithCondition(d, kappa, 22);
      const inv = blockedSpdInverse(a, d, { block });
      assert.ok(inv instanceof Float32Array);
      // To first order a backward error ε moves the inverse by ≤ κ·ε (relative). ε is measured at
      // 2e-8 ≈ u₃₂/3 above; the float32 triangular inverse and XᵀX product add about u₃₂·κ(L) =
      // u₃₂·√κ. So κ·u₃₂ + 1e-6 bounds it with a margin of ~3 (the eigenvectors here are random,
      // so the errors do not line up with the smallest eigenvalue and land far below the bound).
      // A float32 trailing matrix or a lost update would show at κ = 1e4 as ≳ 1e-3.
      const err = relFrob(inv, inverse);
      const tol = kappa * U32 + 1e-6;
      t.diagnostic(`κ = ${kappa}: ‖X − A⁻¹‖/‖A⁻¹‖ = ${err.toExponential(2)} (tolerance ${tol.toExponential(2)})`);
      assert.ok(err < tol, `κ = ${kappa}: ${err} ≥ ${tol}`);
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) assert.equal(inv[i * d + j], inv[j * d + i]);
    }
  });

  test('L⁻¹ from the blocked factor inverts L, and XᵀX = A⁻¹', (t) => {
    const a = randomSpd(d, 23);
    const f = blockedCholesky(a, d, { block });
    const x = blockedLowerInverse(f);
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) assert.equal(x[i * d + j], 0);
    // L·X = I to float32 accuracy (κ(L) = √κ(A) ≈ a few here).
    const err = relFrob(matMul(f.l, x, d, d, d), identity(d));
    t.diagnostic(`‖L·L⁻¹ − I‖/‖I‖ = ${err.toExponential(2)}`);
    assert.ok(err < 1e-5, `${err}`);
    const inv = inverseFromLowerInverse(x, d, block);
    assert.ok(relFrob(inv, gaussJordanInverse(a, d)) < 1e-5);
  });

  test('in place and into a given array: L in the input when it may be overwritten, A⁻¹ in `out`', () => {
    const a = randomSpd(d, 25);
    const copy = Float64Array.from(a);
    const kept = blockedSpdInverse(copy, d, { block });
    assert.deepEqual(copy, a, 'the input is left alone without overwrite');
    const f = blockedCholesky(copy, d, { block, overwrite: true });
    assert.equal(f.l, copy, 'the factor is built in the input array');
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) assert.equal(f.l[i * d + j], 0);
    const out = new Float32Array(d * d).fill(7); // stale contents must not leak into the result
    const inv = blockedSpdInverse(Float64Array.from(a), d, { block, out });
    assert.equal(inv, out);
    assert.deepEqual(inv, kept);
    assert.throws(() => blockedSpdInverse(a, d, { block, out: new Float32Array(3) }), /out has 3 entries, expected/);
  });

  test('with a workspace reused from matrix to matrix: the same results as without, diagonal blocks included', () => {
    // The diagonal blocks' factors, their inverses and their float32 copies live in the workspace
    // and are overwritten by the next matrix: every call must give exactly what a fresh call does.
    const ws = new Workspace();
    for (const seed of [31, 32, 33]) {
      const a = randomSpd(d, seed);
      const fresh = blockedCholesky(a, d, { block });
      const reused = blockedCholesky(a, d, { block, workspace: ws });
      assert.deepEqual(reused.l, fresh.l, `seed ${seed}: L`);
      assert.deepEqual(reused.diagonalInverses, fresh.diagonalInverses, `seed ${seed}: diagonal inverses`);
      const out = new Float32Array(d * d);
      assert.deepEqual(blockedSpdInverse(Float64Array.from(a), d, { block, workspace: ws, overwrite: true, out }), blockedSpdInverse(a, d, { block }), `seed ${seed}: A⁻¹`);
    }
  });

  test('lowerInverseSmall into `out` clears stale entries and equals a fresh inverse', () => {
    const b = 9;
    const l = blockedCholesky(randomSpd(b, 34), b, { block: 16 }).l;
    const out = new Float64Array(b * b).fill(-1);
    assert.equal(lowerInverseSmall(l, b, out), out);
    assert.deepEqual(out, lowerInverseSmall(l, b));
  });

  test('a block at least as large as the matrix is pure float64 (no backend product)', () => {
    const n = 40;
    const a = randomSpd(n, 24);
    const shapes: MatMulShape[] = [];
    const f = blockedCholesky(a, n, { block: 64, onMatMul: (s) => shapes.push(s) });
    assert.equal(shapes.length, 0);
    // Pure float64 Cholesky: backward error a few d·u₆₄.
    assert.ok(relFrob(llt(f.l, n), a) < 1e-13);
  });

  test('not positive definite: NUMERIC naming the first failing pivot in the whole matrix', () => {
    const a = randomSpd(d, 25);
    // Make the leading 100×100 block singular by copying row/column 99 from 98 (pivot 99 fails).
    for (let j = 0; j < d; j++) {
      a[99 * d + j] = a[98 * d + j] as number;
      a[j * d + 99] = a[j * d + 98] as number;
    }
    a[99 * d + 99] = a[98 * d + 98] as number;
    const before = tf.memory().numTensors;
    assert.throws(
      () => blockedSpdInverse(a, d, { block, what: 'test matrix' }),
      (e: unknown) => e instanceof SsseError && e.code === 'NUMERIC' && /test matrix/.test(e.message) && /pivot 99 /.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before, 'tensor leak on error');
    const neg = identity(5);
    neg[12] = -1;
    assert.throws(() => blockedCholesky(neg, 5, { block: 2 }), (e: unknown) => e instanceof SsseError && /pivot 2 /.test(e.message));
  });

  test('a matrix of the wrong size is BAD_ARGUMENT', () => {
    assert.throws(() => blockedCholesky(new Float64Array(10), 3), (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && /3×3/.test(e.message));
  });
});

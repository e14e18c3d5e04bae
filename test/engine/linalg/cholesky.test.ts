import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { cholesky, choleskyInverse, choleskySolve, lowerInverseTransposed, matVec, matVecRows } from '../../../main/engine/linalg/cholesky.js';
import { SsseError } from '../../../main/engine/errors.js';
import {
  gaussJordanInverse,
  gaussian,
  identity,
  luSolve,
  matMul,
  matVecRef,
  randomSpd,
  relFrob,
  spdWithCondition,
  transpose,
} from '../../helpers/reference.js';

/** Unit roundoff of float64. */
const U64 = 2 ** -53;

/** L·Lᵀ for a row-major lower-triangular L. */
function llt(l: Float64Array, d: number): Float64Array {
  return matMul(l, transpose(l, d, d), d, d, d);
}

function randomVector(d: number, seed: number): Float64Array {
  const g = gaussian(seed);
  return Float64Array.from({ length: d }, () => g());
}

describe('cholesky (float64) against independent references', () => {
  for (const [d, seed] of [
    [50, 1],
    [300, 2],
  ] as const) {
    test(`L·Lᵀ reproduces a random SPD ${d}×${d} matrix; L is lower-triangular with a positive diagonal`, (t) => {
      const a = randomSpd(d, seed);
      const l = cholesky(a, d);
      for (let i = 0; i < d; i++) {
        assert.ok((l[i * d + i] as number) > 0, `diagonal ${i} must be positive`);
        for (let j = i + 1; j < d; j++) assert.equal(l[i * d + j], 0, `upper entry (${i}, ${j}) must be zero`);
      }
      // Backward stability: ‖LLᵀ − A‖ ≤ c·d·u·‖A‖ with c small; d·u is 5.6e-15 at d = 50 and
      // 3.3e-14 at d = 300, so 1e-13 leaves a margin and still catches any real mistake.
      const err = relFrob(llt(l, d), a);
      t.diagnostic(`‖LLᵀ − A‖/‖A‖ = ${err.toExponential(2)}`);
      assert.ok(err < 1e-13, `relative Frobenius error ${err}`);
    });
  }

  test('only the lower triangle is read', () => {
    const d = 20;
    const a = randomSpd(d, 3);
    const garbled = Float64Array.from(a);
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) garbled[i * d + j] = 1e6 * (i - j);
    assert.deepEqual(cholesky(garbled, d), cholesky(a, d));
  });

  test('into `out`, and in place (out = a): the same L exactly, stale upper entries cleared', () => {
    const d = 20;
    const a = randomSpd(d, 4);
    const fresh = cholesky(a, d);
    const out = new Float64Array(d * d).fill(3); // stale contents, upper triangle included
    assert.equal(cholesky(a, d, 'm', out), out);
    assert.deepEqual(out, fresh);
    const inPlace = Float64Array.from(a);
    for (let i = 0; i < d; i++) for (let j = i + 1; j < d; j++) inPlace[i * d + j] = -5; // not read, then cleared
    assert.equal(cholesky(inPlace, d, 'm', inPlace), inPlace);
    assert.deepEqual(inPlace, fresh, 'each entry of A is read before L overwrites it: bit for bit the same factor');
    assert.throws(() => cholesky(a, d, 'm', new Float64Array(5)), (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && /out has 5 entries/.test(e.message));
  });

  test('choleskySolve agrees with an LU (partial pivoting) solve', (t) => {
    for (const [d, seed] of [
      [50, 11],
      [300, 12],
    ] as const) {
      const a = randomSpd(d, seed);
      const b = randomVector(d, seed + 100);
      const x = choleskySolve(cholesky(a, d), d, b);
      const ref = luSolve(a, d, b);
      // randomSpd has κ of a few tens (eigenvalues of GᵀG/d + I lie in [1, ~5]); both solvers are
      // backward stable, so they differ by ~κ·d·u ≈ 1e-13 at most; 1e-12 leaves margin.
      const err = relFrob(x, ref);
      t.diagnostic(`d = ${d}: ‖x − x_LU‖/‖x_LU‖ = ${err.toExponential(2)}`);
      assert.ok(err < 1e-12, `d = ${d}: ${err}`);
      // And the residual is small on its own terms.
      const res = relFrob(matVecRef(a, d, d, x), b);
      assert.ok(res < 1e-13, `d = ${d}: residual ${res}`);
    }
  });

  test('choleskyInverse agrees with Gauss–Jordan on well-conditioned matrices (< 1e-10)', (t) => {
    for (const [d, seed] of [
      [50, 21],
      [300, 22],
    ] as const) {
      const a = randomSpd(d, seed);
      const inv = choleskyInverse(cholesky(a, d), d);
      const ref = gaussJordanInverse(a, d);
      const err = relFrob(inv, ref);
      t.diagnostic(`d = ${d}: ‖A⁻¹ − A⁻¹_GJ‖/‖A⁻¹_GJ‖ = ${err.toExponential(2)}`);
      assert.ok(err < 1e-10, `d = ${d}: ${err}`);
      // The result must be exactly symmetric (it is assembled symmetrically).
      for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) assert.equal(inv[i * d + j], inv[j * d + i]);
    }
  });

  test('choleskyInverse on an ill-conditioned matrix (κ = 1e6) within the κ·d·u bound', (t) => {
    const d = 60;
    const kappa = 1e6;
    const { a, inverse: exact } = spdWithCondition(d, kappa, 31);
    const inv = choleskyInverse(cholesky(a, d), d);
    const gj = gaussJordanInverse(a, d);
    // A computed inverse of a matrix with condition number κ has relative error ≲ c·κ·d·u
    // (forward error of a backward-stable method, plus the κ·u by which the stored A already
    // differs from Q·diag(λ)·Qᵀ). κ·d·u = 1e6·60·1.1e-16 = 6.7e-9; a correct routine lands well
    // below it, while any algorithmic slip (a wrong index, a missed term) gives O(1) errors.
    const bound = kappa * d * U64;
    const errGj = relFrob(inv, gj);
    const errExact = relFrob(inv, exact);
    const errGjExact = relFrob(gj, exact);
    t.diagnostic(
      `κ·d·u = ${bound.toExponential(2)}; vs Gauss–Jordan ${errGj.toExponential(2)}, ` +
        `vs Q·diag(1/λ)·Qᵀ ${errExact.toExponential(2)} (Gauss–Jordan itself: ${errGjExact.toExponential(2)})`,
    );
    assert.ok(errGj < bound, `vs Gauss–Jordan: ${errGj} ≥ ${bound}`);
    assert.ok(errExact < bound, `vs exact: ${errExact} ≥ ${bound}`);
    // At κ = 1e6 the error is visibly bigger than at κ ≈ 5 (not a vacuous test): above 1e3·u.
    assert.ok(errExact > 1e3 * U64, `suspiciously small error ${errExact}`);
  });

  test('lowerInverseTransposed returns (L⁻¹)ᵀ: Uᵀ·L = I', () => {
    const d = 40;
    const l = cholesky(randomSpd(d, 41), d);
    const u = lowerInverseTransposed(l, d);
    for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) assert.equal(u[i * d + j], 0, `U must be upper-triangular at (${i}, ${j})`);
    const prod = matMul(transpose(u, d, d), l, d, d, d);
    assert.ok(relFrob(prod, identity(d)) < 1e-13);
  });

  test('matVec is M·x (float32 storage read exactly)', () => {
    const d = 30;
    const m32 = Float32Array.from(randomSpd(d, 51));
    const x = randomVector(d, 52);
    const y = matVec(m32, d, x);
    assert.ok(relFrob(y, matVecRef(m32, d, d, x)) < 1e-14);
  });

  test('four entries per pass give the one-entry loop bit for bit (every d mod 4, well and ill conditioned, in place)', () => {
    // The textbook row-by-row loop: each entry subtracts l[i][k]·l[j][k] for k = 0 … j − 1.
    const reference = (m: Float64Array, d: number): Float64Array => {
      const l = new Float64Array(d * d);
      for (let i = 0; i < d; i++) {
        for (let j = 0; j <= i; j++) {
          let sum = m[i * d + j] as number;
          for (let k = 0; k < j; k++) sum -= (l[i * d + k] as number) * (l[j * d + k] as number);
          l[i * d + j] = i === j ? Math.sqrt(sum) : sum / (l[j * d + j] as number);
        }
      }
      return l;
    };
    const sameBits = (x: Float64Array, y: Float64Array): boolean => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));
    const sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 64, 101];
    for (const d of sizes) {
      for (const [name, m] of [
        ['random', randomSpd(d, 100 + d)],
        ['κ = 1e8', spdWithCondition(d, 1e8, 200 + d).a],
      ] as const) {
        const want = reference(m, d);
        assert.ok(sameBits(cholesky(m, d), want), `d = ${d}, ${name}`);
        const inPlace = Float64Array.from(m);
        cholesky(inPlace, d, 'm', inPlace);
        assert.ok(sameBits(inPlace, want), `d = ${d}, ${name}, in place`);
      }
    }
  });

  test('a non-positive-definite matrix throws NUMERIC naming the pivot', () => {
    // diag(4, 9, −1, 1): the third pivot (index 2) is −1.
    const d = 4;
    const a = new Float64Array(d * d);
    [4, 9, -1, 1].forEach((v, i) => (a[i * d + i] = v));
    assert.throws(
      () => cholesky(a, d, 'test matrix'),
      (e: unknown) => {
        assert.ok(e instanceof SsseError);
        assert.equal(e.code, 'NUMERIC');
        assert.match(e.message, /pivot 2/);
        assert.match(e.message, /test matrix/);
        assert.match(e.message, /-1/);
        return true;
      },
    );
    // A symmetric indefinite matrix with positive diagonal: [[1, 2], [2, 1]] fails at pivot 1.
    assert.throws(
      () => cholesky(Float64Array.of(1, 2, 2, 1), 2),
      (e: unknown) => e instanceof SsseError && e.code === 'NUMERIC' && /pivot 1/.test(e.message),
    );
    // Singular (positive semi-definite) is not positive definite either: zero pivot.
    assert.throws(
      () => cholesky(Float64Array.of(1, 1, 1, 1), 2),
      (e: unknown) => e instanceof SsseError && e.code === 'NUMERIC' && /pivot 1/.test(e.message),
    );
    // NaN never passes the pivot test.
    assert.throws(
      () => cholesky(Float64Array.of(Number.NaN), 1),
      (e: unknown) => e instanceof SsseError && e.code === 'NUMERIC' && /pivot 0/.test(e.message),
    );
  });

  test('a wrong size throws BAD_ARGUMENT', () => {
    assert.throws(
      () => cholesky(new Float64Array(10), 3),
      (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && /10 entries/.test(e.message) && /3×3/.test(e.message),
    );
  });
});

describe('matVec', () => {
  test('several rows per pass give the plain loop bit for bit, for every d mod 8, float32 and float64 storage and x', () => {
    let seed = 7;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (const d of [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 15, 16, 17, 64, 101]) {
      const m64 = Float64Array.from({ length: d * d }, () => next() * 1e3);
      const m32 = Float32Array.from(m64);
      const x = Float64Array.from({ length: d }, () => next() / 7);
      // matVecRef: the plain loop, one row at a time, summed in order j = 0…d−1.
      assert.deepEqual(matVec(m64, d, x), matVecRef(m64, d, d, x), `float64, d = ${d}`);
      // float32 storage with a float64 x (an erasure's blocks) has a loop of its own; float32 x and plain arrays take the shared one.
      assert.deepEqual(matVec(m32, d, x), matVecRef(m32, d, d, x), `float32, d = ${d}`);
      const x32 = Float32Array.from(x);
      assert.deepEqual(matVec(m32, d, x32), matVecRef(m32, d, d, x32), `float32 with a float32 x, d = ${d}`);
      assert.deepEqual(matVec(Array.from(m32), d, Array.from(x)), matVecRef(m32, d, d, x), `plain arrays, d = ${d}`);
    }
    // And against a hand-worked product: [[2, 1], [1, 3]]·[1, −2] = [0, −5].
    assert.deepEqual(Array.from(matVec([2, 1, 1, 3], 2, [1, -2])), [0, -5]);
  });

  test('matVecRows: a band of rows at a time, written at its offset, gives matVec bit for bit', () => {
    let seed = 11;
    const next = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (const d of [5, 13, 64]) {
      const m = Float32Array.from({ length: d * d }, () => next() * 100);
      const x = Float64Array.from({ length: d }, () => next());
      const expected = matVec(m, d, x);
      for (const band of [1, 3, 4, 7, 8, 9, 16, d]) {
        const y = new Float64Array(d).fill(Number.NaN);
        for (let r0 = 0; r0 < d; r0 += band) {
          const rows = Math.min(band, d - r0);
          matVecRows(m.subarray(r0 * d, (r0 + rows) * d), rows, d, x, y, r0);
        }
        assert.deepEqual(y, expected, `d = ${d}, bands of ${band}`);
      }
    }
  });
});

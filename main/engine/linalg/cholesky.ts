import { SsseError } from '../errors.js';

/**
 * Dense symmetric positive-definite linear algebra in float64, on row-major square matrices.
 * tfjs has no Cholesky, solve or inverse, and these factorisations are where float32 would lose
 * the most (the Fisher's condition number is about 2.6e4 on Fashion-MNIST), so they run in
 * JavaScript doubles. The O(d³) inner loops are dot products over contiguous rows.
 */

/**
 * Cholesky factor: returns L (row-major, lower triangle filled, upper zero) with A = L·Lᵀ.
 * Only the lower triangle of `a` is read. Throws NUMERIC naming the pivot when A is not
 * positive definite. L is written into `out` when given, which may be `a` itself (each entry of
 * A is read once, just before L's entry in the same place is written).
 */
export function cholesky(a: Float64Array, d: number, what = 'matrix', out?: Float64Array): Float64Array {
  if (a.length !== d * d) {
    throw new SsseError('BAD_ARGUMENT', `cholesky: ${what} has ${a.length} entries, expected ${d}×${d}`);
  }
  if (out && out.length !== d * d) throw new SsseError('BAD_ARGUMENT', `cholesky: out has ${out.length} entries, expected ${d}×${d}`);
  const l = out ?? new Float64Array(d * d);
  if (out) for (let i = 0; i < d; i++) out.fill(0, i * d + i + 1, (i + 1) * d);
  for (let i = 0; i < d; i++) {
    const ri = i * d;
    // Four entries of row i at a time: their dot products share the loads of l[i][k] and run as
    // four independent chains (one chain waits on each subtraction). Each entry still subtracts
    // l[i][k]·l[j][k] for k = 0, 1, …, j − 1 in that order, so the bits are those of the one-entry
    // loop below, which finishes the row and its diagonal.
    let j = 0;
    for (; j + 4 <= i; j += 4) {
      const r0 = j * d;
      const r1 = r0 + d;
      const r2 = r1 + d;
      const r3 = r2 + d;
      let s0 = a[ri + j] as number;
      let s1 = a[ri + j + 1] as number;
      let s2 = a[ri + j + 2] as number;
      let s3 = a[ri + j + 3] as number;
      for (let k = 0; k < j; k++) {
        const lik = l[ri + k] as number;
        s0 -= lik * (l[r0 + k] as number);
        s1 -= lik * (l[r1 + k] as number);
        s2 -= lik * (l[r2 + k] as number);
        s3 -= lik * (l[r3 + k] as number);
      }
      const l0 = s0 / (l[r0 + j] as number);
      l[ri + j] = l0;
      s1 -= l0 * (l[r1 + j] as number);
      const l1 = s1 / (l[r1 + j + 1] as number);
      l[ri + j + 1] = l1;
      s2 -= l0 * (l[r2 + j] as number);
      s2 -= l1 * (l[r2 + j + 1] as number);
      const l2 = s2 / (l[r2 + j + 2] as number);
      l[ri + j + 2] = l2;
      s3 -= l0 * (l[r3 + j] as number);
      s3 -= l1 * (l[r3 + j + 1] as number);
      s3 -= l2 * (l[r3 + j + 2] as number);
      l[ri + j + 3] = s3 / (l[r3 + j + 3] as number);
    }
    for (; j <= i; j++) {
      const rj = j * d;
      let s = a[ri + j] as number;
      for (let k = 0; k < j; k++) s -= (l[ri + k] as number) * (l[rj + k] as number);
      if (i === j) {
        if (!(s > 0)) {
          throw new SsseError(
            'NUMERIC',
            `cholesky: ${what} is not positive definite (pivot ${i} is ${s}); increase the damping`,
          );
        }
        l[ri + i] = Math.sqrt(s);
      } else {
        l[ri + j] = s / (l[rj + j] as number);
      }
    }
  }
  return l;
}

/** Solves A·x = b given A's Cholesky factor L (forward then backward substitution). */
export function choleskySolve(l: Float64Array, d: number, b: ArrayLike<number>): Float64Array {
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    const ri = i * d;
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[ri + k] as number) * (y[k] as number);
    y[i] = s / (l[ri + i] as number);
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < d; k++) s -= (l[k * d + i] as number) * (x[k] as number);
    x[i] = s / (l[i * d + i] as number);
  }
  return x;
}

/**
 * Inverse of a lower-triangular matrix L, returned transposed: row r of the result holds
 * column r of L⁻¹, i.e. the result is (L⁻¹)ᵀ, upper-triangular. Keeping it transposed makes
 * both its computation and A⁻¹ = (L⁻¹)ᵀ·L⁻¹ = Uᵀ… contiguous-row dot products.
 */
export function lowerInverseTransposed(l: Float64Array, d: number): Float64Array {
  // Column c of X = L⁻¹ solves L·x = e_c; x is zero above c. Store it as row c of U = Xᵀ.
  const u = new Float64Array(d * d);
  for (let c = 0; c < d; c++) {
    const rc = c * d;
    u[rc + c] = 1 / (l[c * d + c] as number);
    for (let i = c + 1; i < d; i++) {
      const ri = i * d;
      let s = 0;
      for (let k = c; k < i; k++) s -= (l[ri + k] as number) * (u[rc + k] as number);
      u[rc + i] = s / (l[ri + i] as number);
    }
  }
  return u;
}

/**
 * A⁻¹ for symmetric positive-definite A via its Cholesky factor: A⁻¹ = L⁻ᵀ·L⁻¹, whose (i, j)
 * entry is the dot product of columns i and j of L⁻¹ = rows i and j of U = (L⁻¹)ᵀ.
 */
export function choleskyInverse(l: Float64Array, d: number): Float64Array {
  const u = lowerInverseTransposed(l, d);
  const inv = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const ri = i * d;
    for (let j = 0; j <= i; j++) {
      const rj = j * d;
      // Row j of U is zero before column j, row i before column i; i ≥ j, so start at i.
      let s = 0;
      for (let k = i; k < d; k++) s += (u[ri + k] as number) * (u[rj + k] as number);
      inv[ri + j] = s;
      inv[rj + i] = s;
    }
  }
  return inv;
}

/**
 * Symmetric matrix–vector product y = M·x in float64 (M row-major, any float storage). Several
 * rows per pass over x, each with its own accumulator summed in the same order k = 0…d−1 as one
 * row at a time, so the result is bit for bit that of the plain loop; the independent chains of
 * additions and the shared read of x[k] make it about twice as fast (an erasure's block products).
 */
export function matVec(m: ArrayLike<number>, d: number, x: ArrayLike<number>): Float64Array {
  const y = new Float64Array(d);
  matVecRows(m, d, d, x, y, 0);
  return y;
}

/**
 * y[at + i] = row i of the rows×d matrix m times x, for i < rows: matVec for a band of rows (an
 * erasure streams a block through it piece by piece). Each row's sum runs over k = 0…d−1 in order,
 * several rows per pass each with its own sum, so every y[i] has the bits of the one-row loop.
 */
export function matVecRows(m: ArrayLike<number>, rows: number, d: number, x: ArrayLike<number>, y: Float64Array, at: number): void {
  if (m instanceof Float32Array && x instanceof Float64Array) matVecRowsF32(m, rows, d, x, y, at);
  else matVecRowsAny(m, rows, d, x, y, at);
}

/**
 * matVecRows for float32 storage and a float64 x, the erasure's case (F̂⁻¹ is stored in float32),
 * in a function of its own so that V8 compiles its loads for these two array types alone: the
 * shared loop, once it has also seen float64 matrices, ran about 25% slower on float32 blocks
 * (10 blocks of 784², 5.4 against 4.3 ms on the reference machine). Eight rows per pass (each an
 * independent chain of additions sharing the read of x[k]) took 3.9 ms against four rows' 4.3.
 */
function matVecRowsF32(m: Float32Array, rows: number, d: number, x: Float64Array, y: Float64Array, at: number): void {
  let i = 0;
  for (; i + 8 <= rows; i += 8) {
    const r0 = i * d;
    const r1 = r0 + d;
    const r2 = r1 + d;
    const r3 = r2 + d;
    const r4 = r3 + d;
    const r5 = r4 + d;
    const r6 = r5 + d;
    const r7 = r6 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let s5 = 0;
    let s6 = 0;
    let s7 = 0;
    for (let k = 0; k < d; k++) {
      const xk = x[k] as number;
      s0 += (m[r0 + k] as number) * xk;
      s1 += (m[r1 + k] as number) * xk;
      s2 += (m[r2 + k] as number) * xk;
      s3 += (m[r3 + k] as number) * xk;
      s4 += (m[r4 + k] as number) * xk;
      s5 += (m[r5 + k] as number) * xk;
      s6 += (m[r6 + k] as number) * xk;
      s7 += (m[r7 + k] as number) * xk;
    }
    y[at + i] = s0;
    y[at + i + 1] = s1;
    y[at + i + 2] = s2;
    y[at + i + 3] = s3;
    y[at + i + 4] = s4;
    y[at + i + 5] = s5;
    y[at + i + 6] = s6;
    y[at + i + 7] = s7;
  }
  for (; i < rows; i++) {
    const ri = i * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += (m[ri + k] as number) * (x[k] as number);
    y[at + i] = s;
  }
}

function matVecRowsAny(m: ArrayLike<number>, rows: number, d: number, x: ArrayLike<number>, y: Float64Array, at: number): void {
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const r0 = i * d;
    const r1 = r0 + d;
    const r2 = r1 + d;
    const r3 = r2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < d; k++) {
      const xk = x[k] as number;
      s0 += (m[r0 + k] as number) * xk;
      s1 += (m[r1 + k] as number) * xk;
      s2 += (m[r2 + k] as number) * xk;
      s3 += (m[r3 + k] as number) * xk;
    }
    y[at + i] = s0;
    y[at + i + 1] = s1;
    y[at + i + 2] = s2;
    y[at + i + 3] = s3;
  }
  for (; i < rows; i++) {
    const ri = i * d;
    let s = 0;
    for (let k = 0; k < d; k++) s += (m[ri + k] as number) * (x[k] as number);
    y[at + i] = s;
  }
}

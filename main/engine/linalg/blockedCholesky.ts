import { SsseError } from '../errors.js';
import { cholesky } from './cholesky.js';
import { withProduct, withProductOfThree, type MatMulShape } from './product.js';
import { mirrorTriangle } from './symmetric.js';
import { f32, f64, type Workspace } from './workspace.js';

/**
 * Blocked Cholesky factorisation, triangular inverse and SPD inverse whose O(d³) work is backend
 * matrix products, for the d of a Fisher block (hundreds to a few thousand).
 *
 * Precision (mixed): the matrix being factored and its Schur complements are kept in float64 in
 * JavaScript; each diagonal block (at most `block` rows) is factored and inverted in float64;
 * the panel solves, the trailing updates and the products that build L⁻¹ and L⁻ᵀ·L⁻¹ run on
 * the backend (float32 on wasm; on the cpu backend product.ts computes them in JavaScript
 * float64) and are accumulated back in float64. The float32 part
 * thus enters only as rounding of products whose operands are O(‖F‖^½) factors, not of
 * differences of large numbers, which is why this route, unlike a block inversion by Schur
 * complements carried entirely in float32, stays near the accuracy of the float32 Gram matrix
 * (test/engine/linalg/blockedCholesky.test.ts bounds it against float64 references).
 *
 * Matrices are row-major; "lower" means the strict upper triangle is zero.
 */
export interface BlockedOptions {
  /** Rows per diagonal block; 128 balances float64 JavaScript work against product sizes. */
  block?: number;
  /** Names the matrix in error messages. */
  what?: string;
  /** Called with the shape of every backend product (the benchmark replays them). */
  onMatMul?: (shape: MatMulShape) => void;
  /** blockedCholesky may overwrite a float64 input with its Schur complements instead of copying it. */
  overwrite?: boolean;
  /** Reusable buffers (workspace.ts); results then live in it until the next call. */
  workspace?: Workspace;
  /**
   * blockedLowerInverse / blockedSpdInverse: the d×d float32 array the result is written into
   * (for example a block of the store F̂⁻¹ is being built in), instead of a fresh one.
   */
  out?: Float32Array;
}

export const DEFAULT_BLOCK = 128;

/** The factor L (float64, lower) and the float64 inverses of its diagonal blocks. */
export interface BlockedFactor {
  d: number;
  block: number;
  /** L, row-major, zero above the diagonal: the input's own array when `overwrite` allowed it. */
  l: Float64Array;
  /** Inverse of diagonal block t (rows t·block …), row-major, lower (in the workspace, when one is given). */
  diagonalInverses: Float64Array[];
}

/**
 * Inverse of a small lower-triangular float64 matrix, row-major, by forward substitution; into
 * `out` (b×b, cleared first) when given.
 */
export function lowerInverseSmall(l: Float64Array, b: number, out?: Float64Array): Float64Array {
  const x = out ? out.fill(0) : new Float64Array(b * b);
  for (let c = 0; c < b; c++) {
    x[c * b + c] = 1 / (l[c * b + c] as number);
    for (let i = c + 1; i < b; i++) {
      let s = 0;
      for (let k = c; k < i; k++) s -= (l[i * b + k] as number) * (x[k * b + c] as number);
      x[i * b + c] = s / (l[i * b + i] as number);
    }
  }
  return x;
}

function checkSquare(a: ArrayLike<number>, d: number, fn: string, what: string): void {
  if (!Number.isInteger(d) || d < 1 || a.length !== d * d) {
    throw new SsseError('BAD_ARGUMENT', `${fn}: ${what} has ${a.length} entries, expected ${d}×${d}`);
  }
}

/**
 * A = L·Lᵀ for symmetric positive-definite A (only its lower triangle is read). Right-looking:
 * for each diagonal block, factor it in float64, form the panel L₂₁ = A₂₁·L₁₁⁻ᵀ and the update
 * A₂₂ −= L₂₁·L₂₁ᵀ as backend products, subtract in float64. L is built in place, over the
 * columns of A already consumed, so the factorisation holds one d×d float64 array, not two.
 * Throws NUMERIC naming the first failing pivot (as cholesky() does) when A is not positive
 * definite.
 */
export function blockedCholesky(a: Float32Array | Float64Array, d: number, options: BlockedOptions = {}): BlockedFactor {
  const what = options.what ?? 'matrix';
  checkSquare(a, d, 'blockedCholesky', what);
  const nb = Math.max(1, Math.floor(options.block ?? DEFAULT_BLOCK));
  // s holds the current Schur complement in its lower triangle (float64) and, in the columns
  // already factored, L.
  const ws = options.workspace;
  let s: Float64Array;
  if (options.overwrite && a instanceof Float64Array) s = a;
  else {
    s = f64(ws, 'chol.s', d * d);
    s.set(a);
  }
  const right = f32(ws, 'chol.right', d * nb);
  // The diagonal blocks' work (at most nb×nb each) and their inverses, one after another, reused
  // from block to block rather than allocated for each diagonal block.
  const diagonal = f64(ws, 'chol.a11', nb * nb);
  const inverses = f64(ws, 'chol.dinv', Math.ceil(d / nb) * nb * nb);
  const transposed = f32(ws, 'chol.l11invT', nb * nb);
  const diagonalInverses: Float64Array[] = [];
  for (let t = 0, k = 0; k < d; t++, k += nb) {
    const b = Math.min(nb, d - k);
    const m = d - k - b;
    const a11 = diagonal.subarray(0, b * b);
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) a11[i * b + j] = s[(k + i) * d + k + j] as number;
    let l11: Float64Array;
    try {
      l11 = cholesky(a11, b, what, a11); // in place
    } catch (e) {
      if (e instanceof SsseError && e.code === 'NUMERIC') {
        throw new SsseError('NUMERIC', e.message.replace(/pivot (\d+)/, (_m, p: string) => `pivot ${k + Number(p)}`));
      }
      throw e;
    }
    const l11inv = lowerInverseSmall(l11, b, inverses.subarray(t * nb * nb, t * nb * nb + b * b));
    diagonalInverses.push(l11inv);
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) s[(k + i) * d + k + j] = l11[i * b + j] as number;
    if (m === 0) break;
    // L₂₁ = A₂₁·L₁₁⁻ᵀ: (m×b)·(b×b), written over A₂₁ and, transposed in float32, kept for the
    // update. A₂₁ and then L₂₁ are read in place from s (product.ts rounds them to float32 as it
    // writes the operands: L₂₁ so read equals the float32 panel the backend returned).
    const l11invT = transposed.subarray(0, b * b).fill(0);
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) l11invT[j * b + i] = l11inv[i * b + j] as number;
    const l21T = right.subarray(0, b * m);
    withProduct(
      { data: s, rows: m, cols: b, stride: d, col0: (k + b) * d + k },
      { data: l11invT, rows: b, cols: b },
      (panel) => {
        for (let i = 0; i < m; i++) {
          const row = (k + b + i) * d + k;
          for (let j = 0; j < b; j++) {
            const v = panel[i * b + j] as number;
            s[row + j] = v;
            l21T[j * m + i] = v;
          }
        }
      },
      options.onMatMul,
    );
    // A₂₂ −= L₂₁·L₂₁ᵀ, lower triangle, in float64.
    withProduct(
      { data: s, rows: m, cols: b, stride: d, col0: (k + b) * d + k },
      { data: l21T, rows: b, cols: m },
      (update) => {
        for (let i = 0; i < m; i++) {
          const row = (k + b + i) * d + k + b;
          const ur = i * m;
          for (let j = 0; j <= i; j++) s[row + j] = (s[row + j] as number) - (update[ur + j] as number);
        }
      },
      options.onMatMul,
    );
  }
  for (let i = 0; i < d; i++) s.fill(0, i * d + i + 1, (i + 1) * d);
  return { d, block: nb, l: s, diagonalInverses };
}

/** A d×d float32 result array: the caller's `out` (cleared) or a fresh one. */
function resultArray(d: number, out: Float32Array | undefined, fn: string): Float32Array {
  if (!out) return new Float32Array(d * d);
  if (out.length !== d * d) throw new SsseError('BAD_ARGUMENT', `${fn}: out has ${out.length} entries, expected ${d}×${d}`);
  out.fill(0);
  return out;
}

/**
 * X = L⁻¹ (lower, float32) from a blocked factor, block row by block row:
 * X_ii = L_ii⁻¹ (float64, from the factorisation) and X[i, 0:i] = −L_ii⁻¹·(L[i, 0:i]·X[0:i, 0:i]).
 * Written into `options.out` when given, else a fresh array.
 */
export function blockedLowerInverse(factor: BlockedFactor, options: BlockedOptions = {}): Float32Array {
  const { d, block: nb, l, diagonalInverses } = factor;
  const x = resultArray(d, options.out, 'blockedLowerInverse');
  for (let t = 0, k = 0; k < d; t++, k += nb) {
    const b = Math.min(nb, d - k);
    const dinv = diagonalInverses[t] as Float64Array;
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) x[(k + i) * d + k + j] = dinv[i * b + j] as number;
    if (k === 0) continue;
    // X[i, 0:i] = −L_ii⁻¹·(L[i, 0:i]·X[0:i, 0:i]): L's rows and L_ii⁻¹ read in place from the
    // float64 factor, the inner product (b×k) kept on the backend between the two products.
    withProductOfThree(
      { data: dinv, rows: b, cols: b },
      { data: l, rows: b, cols: k, stride: d, col0: k * d },
      { data: x, rows: k, cols: k, stride: d },
      (row) => {
        for (let i = 0; i < b; i++) {
          const o = (k + i) * d;
          for (let j = 0; j < k; j++) x[o + j] = -(row[i * k + j] as number);
        }
      },
      options.onMatMul,
    );
  }
  return x;
}

/**
 * A⁻¹ = L⁻ᵀ·L⁻¹ = XᵀX for X = L⁻¹, in place: X's array becomes A⁻¹ and is returned. By row
 * panels on and right of the diagonal, A⁻¹[c0:c1, c0:] = (X[c0:, c0:c1])ᵀ·X[c0:, c0:] (X being
 * zero above its diagonal); a panel overwrites only rows c0:c1 on and right of the diagonal, which
 * later panels (rows and columns from c1 on) no longer read. The lower triangle is mirrored from
 * the upper at the end.
 */
export function inverseFromLowerInverse(x: Float32Array, d: number, nb: number, options: BlockedOptions = {}): Float32Array {
  checkSquare(x, d, 'inverseFromLowerInverse', options.what ?? 'matrix');
  const ws = options.workspace;
  const leftScratch = f32(ws, 'inverse.left', nb * d);
  for (let c0 = 0; c0 < d; c0 += nb) {
    const c1 = Math.min(d, c0 + nb);
    const w = c1 - c0;
    const m = d - c0;
    const left = leftScratch.subarray(0, w * m); // (X[c0:, c0:c1])ᵀ, w×m
    for (let i = 0; i < m; i++) {
      const src = (c0 + i) * d + c0;
      for (let j = 0; j < w; j++) left[j * m + i] = x[src + j] as number;
    }
    withProduct(
      { data: left, rows: w, cols: m },
      { data: x.subarray(c0 * d), rows: m, cols: m, stride: d, col0: c0 },
      (panel) => {
        for (let j = 0; j < w; j++) {
          const r = c0 + j;
          x.set(panel.subarray(j * m + j, (j + 1) * m), r * d + r);
        }
      },
      options.onMatMul,
    );
  }
  // The lower triangle from the upper (the row writes above were contiguous; this is the one
  // strided pass).
  mirrorTriangle(x, d, 'upper');
  return x;
}

/**
 * A⁻¹ for symmetric positive-definite A (float32 result) through the blocked Cholesky factor,
 * into `options.out` when given (L⁻¹ is formed there and turned into A⁻¹ in place).
 */
export function blockedSpdInverse(a: Float32Array | Float64Array, d: number, options: BlockedOptions = {}): Float32Array {
  const factor = blockedCholesky(a, d, options);
  const x = blockedLowerInverse(factor, options);
  return inverseFromLowerInverse(x, d, factor.block, options);
}

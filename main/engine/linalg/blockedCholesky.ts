import { SsseError } from '../errors.js';
import { cholesky } from './cholesky.js';
import { product, type MatMulShape } from './product.js';
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
}

export const DEFAULT_BLOCK = 128;

/** The factor L (float64, lower) and the float64 inverses of its diagonal blocks. */
export interface BlockedFactor {
  d: number;
  block: number;
  l: Float64Array;
  /** Inverse of diagonal block t (rows t·block …), row-major, lower. */
  diagonalInverses: Float64Array[];
}

/**
 * Copies rows [r0, r1) × columns [c0, c1) of a row-major d-column matrix into float32 (row by
 * row, natively), into the front of `scratch`: the products copy their operands, so one scratch
 * buffer per operand serves every step without allocating.
 */
function block32(
  src: Float32Array | Float64Array,
  d: number,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
  scratch: Float32Array,
): Float32Array {
  const w = c1 - c0;
  const out = scratch.subarray(0, (r1 - r0) * w);
  for (let r = r0; r < r1; r++) out.set(src.subarray(r * d + c0, r * d + c1), (r - r0) * w);
  return out;
}

/** Inverse of a small lower-triangular float64 matrix, row-major, by forward substitution. */
export function lowerInverseSmall(l: Float64Array, b: number): Float64Array {
  const x = new Float64Array(b * b);
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
 * A₂₂ −= L₂₁·L₂₁ᵀ as backend products, subtract in float64. Throws NUMERIC naming the first
 * failing pivot (as cholesky() does) when A is not positive definite.
 */
export function blockedCholesky(a: Float32Array | Float64Array, d: number, options: BlockedOptions = {}): BlockedFactor {
  const what = options.what ?? 'matrix';
  checkSquare(a, d, 'blockedCholesky', what);
  const nb = Math.max(1, Math.floor(options.block ?? DEFAULT_BLOCK));
  // s holds the current Schur complement in its lower triangle (float64), l the factor.
  const ws = options.workspace;
  let s: Float64Array;
  if (options.overwrite && a instanceof Float64Array) s = a;
  else {
    s = f64(ws, 'chol.s', d * d);
    s.set(a);
  }
  const l = f64(ws, 'chol.l', d * d, true);
  const left = f32(ws, 'chol.left', d * nb);
  const right = f32(ws, 'chol.right', d * nb);
  const diagonalInverses: Float64Array[] = [];
  for (let k = 0; k < d; k += nb) {
    const b = Math.min(nb, d - k);
    const m = d - k - b;
    const a11 = new Float64Array(b * b);
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) a11[i * b + j] = s[(k + i) * d + k + j] as number;
    let l11: Float64Array;
    try {
      l11 = cholesky(a11, b, what);
    } catch (e) {
      if (e instanceof SsseError && e.code === 'NUMERIC') {
        throw new SsseError('NUMERIC', e.message.replace(/pivot (\d+)/, (_m, p: string) => `pivot ${k + Number(p)}`));
      }
      throw e;
    }
    const l11inv = lowerInverseSmall(l11, b);
    diagonalInverses.push(l11inv);
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) l[(k + i) * d + k + j] = l11[i * b + j] as number;
    if (m === 0) break;
    // L₂₁ = A₂₁·L₁₁⁻ᵀ: (m×b)·(b×b).
    const a21 = block32(s, d, k + b, d, k, k + b, left);
    const l11invT = new Float32Array(b * b);
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) l11invT[j * b + i] = l11inv[i * b + j] as number;
    const panel = product(a21, m, b, l11invT, b, options.onMatMul);
    const l21 = panel instanceof Float32Array ? panel : Float32Array.from(panel);
    const l21T = right.subarray(0, b * m);
    for (let i = 0; i < m; i++) {
      const row = (k + b + i) * d + k;
      for (let j = 0; j < b; j++) {
        const v = l21[i * b + j] as number;
        l[row + j] = v;
        l21T[j * m + i] = v;
      }
    }
    // A₂₂ −= L₂₁·L₂₁ᵀ, lower triangle, in float64.
    const update = product(l21, m, b, l21T, m, options.onMatMul);
    for (let i = 0; i < m; i++) {
      const row = (k + b + i) * d + k + b;
      const ur = i * m;
      for (let j = 0; j <= i; j++) s[row + j] = (s[row + j] as number) - (update[ur + j] as number);
    }
  }
  return { d, block: nb, l, diagonalInverses };
}

/**
 * X = L⁻¹ (lower, float32) from a blocked factor, block row by block row:
 * X_ii = L_ii⁻¹ (float64, from the factorisation) and X[i, 0:i] = −L_ii⁻¹·(L[i, 0:i]·X[0:i, 0:i]).
 */
export function blockedLowerInverse(factor: BlockedFactor, options: BlockedOptions = {}): Float32Array {
  const { d, block: nb, l, diagonalInverses } = factor;
  const ws = options.workspace;
  const x = f32(ws, 'trinv.x', d * d, true);
  const rowScratch = f32(ws, 'trinv.row', nb * d);
  const topScratch = f32(ws, 'square', d * d);
  for (let t = 0, k = 0; k < d; t++, k += nb) {
    const b = Math.min(nb, d - k);
    const dinv = diagonalInverses[t] as Float64Array;
    for (let i = 0; i < b; i++) for (let j = 0; j <= i; j++) x[(k + i) * d + k + j] = dinv[i * b + j] as number;
    if (k === 0) continue;
    const lRow = block32(l, d, k, k + b, 0, k, rowScratch); // b×k
    const xTop = block32(x, d, 0, k, 0, k, topScratch); // k×k, lower
    const tmp = product(lRow, b, k, xTop, k, options.onMatMul); // b×k
    const dinv32 = Float32Array.from(dinv);
    const row = product(dinv32, b, b, tmp instanceof Float32Array ? tmp : Float32Array.from(tmp), k, options.onMatMul); // b×k
    for (let i = 0; i < b; i++) {
      const o = (k + i) * d;
      for (let j = 0; j < k; j++) x[o + j] = -(row[i * k + j] as number);
    }
  }
  return x;
}

/**
 * A⁻¹ = L⁻ᵀ·L⁻¹ = XᵀX for X = L⁻¹, computed panel by panel on and below the diagonal
 * (A⁻¹[c0:, c0:c1] = Xᵀ[c0:, c0:]·X[c0:, c0:c1], X being zero above its diagonal), mirrored.
 */
export function inverseFromLowerInverse(x: Float32Array, d: number, nb: number, options: BlockedOptions = {}): Float32Array {
  checkSquare(x, d, 'inverseFromLowerInverse', options.what ?? 'matrix');
  const ws = options.workspace;
  const xt = f32(ws, 'product.xt', d * d, true);
  for (let i = 0; i < d; i++) for (let j = 0; j <= i; j++) xt[j * d + i] = x[i * d + j] as number;
  const inv = new Float32Array(d * d);
  const leftScratch = f32(ws, 'square', d * d);
  const rightScratch = f32(ws, 'product.right', d * nb);
  for (let c0 = 0; c0 < d; c0 += nb) {
    const c1 = Math.min(d, c0 + nb);
    const w = c1 - c0;
    const m = d - c0;
    const left = block32(xt, d, c0, d, c0, d, leftScratch); // m×m
    const right = block32(x, d, c0, d, c0, c1, rightScratch); // m×w
    const panel = product(left, m, m, right, w, options.onMatMul); // rows c0.., cols c0..c1
    for (let i = 0; i < m; i++) {
      const r = c0 + i;
      for (let j = 0; j < w; j++) {
        const c = c0 + j;
        if (c > r) continue;
        const v = panel[i * w + j] as number;
        inv[r * d + c] = v;
        inv[c * d + r] = v;
      }
    }
  }
  return inv;
}

/** A⁻¹ for symmetric positive-definite A (float32 result) through the blocked Cholesky factor. */
export function blockedSpdInverse(a: Float32Array | Float64Array, d: number, options: BlockedOptions = {}): Float32Array {
  const factor = blockedCholesky(a, d, options);
  const x = blockedLowerInverse(factor, options);
  return inverseFromLowerInverse(x, d, factor.block, options);
}

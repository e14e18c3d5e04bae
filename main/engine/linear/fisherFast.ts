import { checkDamping } from '../damping.js';
import { SsseError } from '../errors.js';
import { blockedSpdInverse, DEFAULT_BLOCK } from '../linalg/blockedCholesky.js';
import { DEFAULT_GRAM_PLAN, weightedGramPanels, type GramPlan, type MatMulShape } from '../linalg/gram.js';
import { f64, type Workspace } from '../linalg/workspace.js';

/**
 * One block of F̂⁻¹ by the fast route: F̂ = λ_F·I + (1/N)·Σ_j w_j·x_j·x_jᵀ as chunked, symmetric
 * backend products (gram.ts), then its inverse through a blocked Cholesky factor
 * (blockedCholesky.ts). Every O(n·d²) and O(d³) step is a backend matrix product; sums,
 * diagonal blocks and the damping are float64. The same matrix as equation (3) of SSSE.md,
 * within the tolerance test/engine/linear/fisherFast.test.ts states.
 */
export interface FastBlockOptions {
  gramPlan?: GramPlan;
  /** Diagonal block size of the Cholesky factorisation. */
  block?: number;
  onMatMul?: (shape: MatMulShape) => void;
  /** Buffers reused from block to block. */
  workspace?: Workspace;
  /** Where the d×d block is written (e.g. its place in the store being built); default: a fresh array. */
  out?: Float32Array;
}

export function fastFisherBlock(
  features: Float32Array,
  n: number,
  d: number,
  rowWeights: ArrayLike<number>,
  N: number,
  damping: number,
  options: FastBlockOptions = {},
): Float32Array {
  checkDamping(damping);
  if (!(N > 0)) throw new SsseError('BAD_ARGUMENT', `fastFisherBlock: N must be > 0 (got ${N})`);
  const weights = withoutNegligibleRows(features, n, d, rowWeights, N, damping, f64(options.workspace, 'fast.weights', n));
  const f = weightedGramPanels(features, n, d, weights, 1 / N, {
    plan: options.gramPlan ?? DEFAULT_GRAM_PLAN,
    ...(options.onMatMul ? { onMatMul: options.onMatMul } : {}),
    ...(options.workspace ? { workspace: options.workspace } : {}),
  });
  for (let j = 0; j < d; j++) f[j * d + j] = (f[j * d + j] as number) + damping;
  return blockedSpdInverse(f, d, {
    block: options.block ?? DEFAULT_BLOCK,
    what: 'Fisher block',
    overwrite: true, // f is this function's own
    ...(options.onMatMul ? { onMatMul: options.onMatMul } : {}),
    ...(options.workspace ? { workspace: options.workspace } : {}),
    ...(options.out ? { out: options.out } : {}),
  });
}

/**
 * How far below λ_F the rows a block leaves out may reach, together: their summed contribution
 * to F̂ has norm at most NEGLIGIBLE · λ_F (see withoutNegligibleRows).
 */
export const NEGLIGIBLE = 2 ** -60;

const rowNorms = new WeakMap<Float32Array, Float64Array>();

/** ‖x_j‖² of each row, computed once per features array (a build asks for it once per block). */
export function squaredRowNorms(features: Float32Array, n: number, d: number): Float64Array {
  const cached = rowNorms.get(features);
  if (cached && cached.length === n) return cached;
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    const o = j * d;
    for (let c = 0; c < d; c++) {
      const v = features[o + c] as number;
      s += v * v;
    }
    out[j] = s;
  }
  rowNorms.set(features, out);
  return out;
}

/**
 * The row weights with those of negligible rows set to 0: rows j with (w_j/N)·‖x_j‖² ≤
 * NEGLIGIBLE·λ_F/n. Together they add a positive semi-definite E to F̂ with ‖E‖₂ ≤ trace E ≤
 * NEGLIGIBLE·λ_F ≤ NEGLIGIBLE·λ_min(F̂), so F̂⁻¹ moves by at most about 2⁻⁶⁰ of its norm: far
 * below float64's rounding (2⁻⁵³), let alone the float32 F̂⁻¹ stored. Such rows are common:
 * a confidently right logistic attribute has (p − y)² of 1e-30 and less for hundreds of
 * samples (Fashion-MNIST 6,000: 826 rows of attribute 7 below 1e-30), and their scaled values
 * are float32 subnormals, on which the backend's products run several times slower (that
 * attribute's block took 3.7× as long as attribute 0's; measured on the wasm backend).
 * A weight that is not a finite non-negative number is kept as it is, for the Gram to refuse.
 */
export function withoutNegligibleRows(
  features: Float32Array,
  n: number,
  d: number,
  weights: ArrayLike<number>,
  N: number,
  damping: number,
  out: Float64Array = new Float64Array(n),
): Float64Array {
  if (weights.length !== n || features.length !== n * d) {
    // Left for weightedGramPanels to refuse with its message naming the argument.
    return Float64Array.from(weights);
  }
  const norms = squaredRowNorms(features, n, d);
  const limit = (NEGLIGIBLE * damping * N) / n;
  for (let j = 0; j < n; j++) {
    const w = weights[j] as number;
    out[j] = w > 0 && w * (norms[j] as number) <= limit ? 0 : w;
  }
  return out;
}

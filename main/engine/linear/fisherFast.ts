import { checkDamping } from '../damping.js';
import { SsseError } from '../errors.js';
import { blockedSpdInverse, DEFAULT_BLOCK } from '../linalg/blockedCholesky.js';
import { DEFAULT_GRAM_PLAN, weightedGramPanels, type GramPlan, type MatMulShape } from '../linalg/gram.js';
import type { Workspace } from '../linalg/workspace.js';

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
  const f = weightedGramPanels(features, n, d, rowWeights, 1 / N, {
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

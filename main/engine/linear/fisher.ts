import * as tf from '@tensorflow/tfjs';
import { checkDamping } from '../damping.js';
import { SsseError } from '../errors.js';
import { cholesky, choleskyInverse } from '../linalg/cholesky.js';
import { weightedGram } from '../linalg/weightedGram.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import { Workspace } from '../linalg/workspace.js';
import { collectAfterBlock } from '../memory.js';
import { fastFisherBlock } from './fisherFast.js';
import { fisherWeightColumn } from './fisherWeights.js';
import type { LinearModel } from './model.js';

/**
 * Which curvature stands in for the Hessian.
 * - empirical: the paper's F̂, rows g_j = ∇ log p(y_j|x_j) = (p_j − y_j)·x_j, weight (p − y)².
 * - expected: the Fisher under the model's own predictions, weight p(1 − p); for the logistic
 *   model this is exactly the Hessian of the data term.
 */
export type Curvature = 'empirical' | 'expected';

/**
 * How the inverse is computed. All give the same matrix (tests bound the differences).
 * 'blocked' is the fast route of fisherFast.ts (backend products throughout, see fisherBuild.ts
 * for the storage plan and the worker threads).
 */
export type FisherMethod = 'sherman-morrison' | 'cholesky' | 'blocked';

/**
 * The method every command uses unless told otherwise: the fast route. ('cholesky', the previous
 * default, stays available; certifications and calibrations record the method they were made
 * with and are looked up by it.)
 */
export const DEFAULT_FISHER_METHOD: FisherMethod = 'blocked';

/** The stored certification artefact: F̂⁻¹ per block, one block per attribute. */
export interface FisherInverse {
  d: number;
  A: number;
  damping: number;
  /** Number of rank-1 terms N in F̂ = λ_F·I + (1/N)·Σ g_j g_jᵀ. */
  N: number;
  curvature: Curvature;
  method: FisherMethod;
  /** A blocks, each d×d row-major, float32 (the inverse is computed in float64, stored in float32). */
  blocks: Float32Array[];
}

export { fisherWeights } from './fisherWeights.js';

/**
 * Equation (3) of SSSE.md, literally: from F̂₀⁻¹ = I/λ_F, one Sherman–Morrison update per row,
 * F̂_j⁻¹ = F̂_{j−1}⁻¹ − (F̂_{j−1}⁻¹g_j)(F̂_{j−1}⁻¹g_j)ᵀ / (N + g_jᵀF̂_{j−1}⁻¹g_j), in float64.
 * O(N·d²) per block; the reference the fast path is held to, and the paper's own algorithm.
 */
export function shermanMorrisonBlock(
  features: Float32Array,
  n: number,
  d: number,
  rowWeights: ArrayLike<number>,
  N: number,
  damping: number,
  control?: RunControl,
): Float64Array {
  checkDamping(damping);
  if (features.length !== n * d) {
    throw new SsseError('BAD_ARGUMENT', `shermanMorrisonBlock: features has ${features.length} values, expected ${n}×${d}`);
  }
  if (rowWeights.length !== n) {
    throw new SsseError('BAD_ARGUMENT', `shermanMorrisonBlock: rowWeights has ${rowWeights.length} entries, expected ${n}`);
  }
  if (!(N > 0)) throw new SsseError('BAD_ARGUMENT', `shermanMorrisonBlock: N must be > 0, got ${N}`);
  const inv = new Float64Array(d * d);
  for (let j = 0; j < d; j++) inv[j * d + j] = 1 / damping;
  const g = new Float64Array(d);
  const u = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    if (r % 256 === 0) throwIfCancelled(control, 'fisher');
    const weight = rowWeights[r] as number;
    if (!(weight >= 0) || !Number.isFinite(weight)) {
      throw new SsseError('NUMERIC', `shermanMorrisonBlock: weight of row ${r} is ${weight}, expected a finite non-negative number`);
    }
    const scale = Math.sqrt(weight);
    if (scale === 0) continue; // a zero row leaves F̂ unchanged
    const off = r * d;
    for (let j = 0; j < d; j++) g[j] = scale * (features[off + j] as number);
    let s = N;
    for (let i = 0; i < d; i++) {
      const ri = i * d;
      let acc = 0;
      for (let j = 0; j < d; j++) acc += (inv[ri + j] as number) * (g[j] as number);
      u[i] = acc;
      s += (g[i] as number) * acc;
    }
    for (let i = 0; i < d; i++) {
      const ri = i * d;
      const ui = (u[i] as number) / s;
      for (let j = 0; j < d; j++) inv[ri + j] = (inv[ri + j] as number) - ui * (u[j] as number);
    }
  }
  return inv;
}

/**
 * The same inverse by a faster route: build F̂ = λ_F·I + (1/N)·Xᵀdiag(w)X with one backend
 * matrix product, factor it by Cholesky and invert, all but the product in float64.
 */
export function choleskyBlock(
  x: tf.Tensor2D,
  rowWeights: ArrayLike<number>,
  N: number,
  damping: number,
): Float64Array {
  checkDamping(damping);
  const d = x.shape[1];
  const scaled = new Float64Array(rowWeights.length);
  for (let i = 0; i < scaled.length; i++) scaled[i] = (rowWeights[i] as number) / N;
  const f = weightedGram(x, scaled);
  for (let j = 0; j < d; j++) f[j * d + j] = (f[j * d + j] as number) + damping;
  return choleskyInverse(cholesky(f, d, 'Fisher block'), d);
}

/**
 * Receives each finished block of F̂⁻¹ (block a, d×d float32) as soon as it is computed, instead
 * of the build keeping it: the block's array is reused for the next block, so a sink must copy
 * or write it out before returning. A build with a sink holds one block, not all A, and returns
 * `blocks: []`.
 */
export type FisherSink = (a: number, block: Float32Array) => void;

export interface FisherOptions extends RunControl {
  damping: number;
  curvature?: Curvature;
  method?: FisherMethod;
  sink?: FisherSink;
}

/** Builds the block-diagonal F̂⁻¹ (one block per attribute) of a trained linear model. */
export async function fisherInverse(
  model: LinearModel,
  features: Float32Array,
  labels: Uint8Array,
  n: number,
  options: FisherOptions,
): Promise<FisherInverse> {
  const { d, A } = model;
  const curvature = options.curvature ?? 'empirical';
  const method = options.method ?? DEFAULT_FISHER_METHOD;
  checkDamping(options.damping);
  if (features.length !== n * d) {
    throw new SsseError('BAD_ARGUMENT', `fisherInverse: features has ${features.length} values, expected ${n}×${d}`);
  }
  if (labels.length !== n * A) {
    throw new SsseError('BAD_ARGUMENT', `fisherInverse: labels has ${labels.length} values, expected ${n}×${A}`);
  }
  const blocks: Float32Array[] = [];
  const x = method === 'cholesky' ? tf.tensor2d(features, [n, d]) : null;
  const workspace = method === 'blocked' ? new Workspace() : undefined;
  const sink = options.sink;
  const reused = sink ? new Float32Array(d * d) : null;
  try {
    for (let a = 0; a < A; a++) {
      throwIfCancelled(options, 'fisher');
      report(options, 'fisher', a, A);
      // Attribute a's per-sample weights (column a of fisherWeights), as each thread of a parallel build computes them.
      const w = fisherWeightColumn(model, features, labels, curvature, a, new Float64Array(n));
      const inv =
        method === 'blocked'
          ? fastFisherBlock(features, n, d, w, n, options.damping, { workspace, ...(reused ? { out: reused } : {}) })
          : x
            ? choleskyBlock(x, w, n, options.damping)
            : shermanMorrisonBlock(features, n, d, w, n, options.damping, options);
      if (inv instanceof Float32Array) {
        if (sink) sink(a, inv);
        else blocks.push(inv);
      } else if (sink && reused) {
        reused.set(inv);
        sink(a, reused);
      } else blocks.push(Float32Array.from(inv));
      if (method === 'blocked') collectAfterBlock(); // see memory.ts
      await yieldToEventLoop();
    }
    report(options, 'fisher', A, A);
  } finally {
    x?.dispose();
  }
  return { d, A, damping: options.damping, N: n, curvature, method, blocks };
}

import * as tf from '@tensorflow/tfjs-core';
import { SsseError } from '../errors.js';
import { operandTensor, productEngine, readTensor, withProduct, type MatMulShape, type Operand } from './product.js';
import { mirrorTriangle } from './symmetric.js';
import { f32, f64, type Workspace } from './workspace.js';

export type { MatMulShape } from './product.js';

/**
 * G = scale·Σ_i w_i·x_i·x_iᵀ from row-major float32 features held in JavaScript, as backend
 * matrix products in float32, returned as a symmetric d×d Float64Array (ready for the float64
 * work that follows).
 *
 * Organised for the wasm backend, where (measured on the 2-core reference machine):
 * - only plain A·B products are fast: with transposeA or transposeB the kernel falls back to a
 *   loop about 10–20× slower, so the transposed operand is built here, in JavaScript;
 * - products of a few hundred rows and columns run at up to twice the GFLOP/s of one big
 *   784×6000×784 product (cache), so the rows are taken in chunks;
 * - G is symmetric, so with the columns cut into P panels only the panels on and below the
 *   diagonal are computed: (P + 1)/(2P) of the full product's work (5/8 for P = 4).
 *
 * On the cpu backend the products are product.ts's JavaScript float64 gemm instead (tfjs's cpu
 * matMul is slower than that).
 *
 * The panels are summed over the chunks on the backend and read in place at the end (readTensor):
 * no copies out. Chunking also bounds the float32 rounding of each entry: within a chunk it grows
 * with the chunk length (about √c·u₃₂ for these non-negative sums) rather than with n, and adding
 * the few chunk sums costs only about √(n/c)·u₃₂ more.
 */
export interface GramPlan {
  /** Rows per chunk (the inner dimension of each product). */
  chunkRows: number;
  /** Column panels; 1 computes the full square. */
  panels: number;
}

export const DEFAULT_GRAM_PLAN: GramPlan = { chunkRows: 512, panels: 4 };

export interface GramOptions {
  plan?: GramPlan;
  /** Called with the shape of every backend product (the benchmark replays them). */
  onMatMul?: (shape: MatMulShape) => void;
  /** Reusable buffers (workspace.ts); the result then lives in it until the next call. */
  workspace?: Workspace;
}

/** Panel boundaries: P + 1 increasing column indices from 0 to d, multiples of 8 where possible. */
export function panelBounds(d: number, panels: number): number[] {
  const p = Math.max(1, Math.min(panels, d));
  const bounds = [0];
  for (let j = 1; j < p; j++) {
    const b = Math.round((d * j) / p / 8) * 8;
    bounds.push(Math.min(d, Math.max(b, (bounds[j - 1] as number) + 1)));
  }
  bounds.push(d);
  return bounds;
}

/**
 * Scaled transpose of rows [r0, r0 + c): out[j·c + i] = features[(r0 + i)·d + j]·s_i, in tiles
 * so that both the reads and the writes stay within a few cache lines.
 */
function scaledTranspose(
  features: Float32Array,
  d: number,
  r0: number,
  c: number,
  rowScale: Float32Array,
  out: Float32Array,
): void {
  const T = 32;
  for (let i0 = 0; i0 < c; i0 += T) {
    const i1 = Math.min(c, i0 + T);
    for (let j0 = 0; j0 < d; j0 += T) {
      const j1 = Math.min(d, j0 + T);
      for (let i = i0; i < i1; i++) {
        const s = rowScale[i] as number;
        const src = (r0 + i) * d;
        for (let j = j0; j < j1; j++) out[j * c + i] = (features[src + j] as number) * s;
      }
    }
  }
}

export function weightedGramPanels(
  features: Float32Array,
  n: number,
  d: number,
  weights: ArrayLike<number>,
  scale: number,
  options: GramOptions = {},
): Float64Array {
  const plan = options.plan ?? DEFAULT_GRAM_PLAN;
  if (features.length !== n * d) {
    throw new SsseError('BAD_ARGUMENT', `weightedGramPanels: features has ${features.length} values, expected ${n}×${d}`);
  }
  if (weights.length !== n) {
    throw new SsseError('BAD_ARGUMENT', `weightedGramPanels: weights has ${weights.length} entries, expected ${n} (rows)`);
  }
  if (!(plan.chunkRows >= 1) || !(plan.panels >= 1)) {
    throw new SsseError('BAD_ARGUMENT', `weightedGramPanels: chunkRows and panels must be ≥ 1 (got ${plan.chunkRows}, ${plan.panels})`);
  }
  const bounds = panelBounds(d, plan.panels);
  const P = bounds.length - 1;
  const chunk = Math.min(n, Math.max(1, Math.floor(plan.chunkRows)));
  const ws = options.workspace;
  const xt = f32(ws, 'gram.xt', d * chunk);
  const rowScale = f32(ws, 'gram.scale', chunk);
  // acc[j] accumulates G[b_j:, b_j:b_{j+1}] across chunks on the backend (one SIMD add per
  // product); the javascript engine (cpu backend) adds its float64 products into G directly.
  const javascript = productEngine() === 'javascript';
  const g = f64(ws, 'gram.g', d * d, true);
  const acc: (tf.Tensor2D | null)[] = new Array<tf.Tensor2D | null>(P).fill(null);
  const addLower = (panel: Float32Array | Float64Array, b0: number, w: number): void => {
    for (let r = b0; r < d; r++) {
      const src = (r - b0) * w;
      const dst = r * d + b0;
      const cEnd = Math.min(w, r - b0 + 1);
      for (let cc = 0; cc < cEnd; cc++) g[dst + cc] = (g[dst + cc] as number) + (panel[src + cc] as number);
    }
  };
  try {
    for (let r0 = 0; r0 < n; r0 += chunk) {
      const c = Math.min(chunk, n - r0);
      let any = false;
      for (let i = 0; i < c; i++) {
        const w = weights[r0 + i] as number;
        if (!(w >= 0) || !Number.isFinite(w)) {
          throw new SsseError('NUMERIC', `weightedGramPanels: weight ${r0 + i} is ${w}, expected a finite non-negative number`);
        }
        rowScale[i] = w * scale;
        if (w !== 0) any = true;
      }
      if (!any) continue;
      const xtc = xt.subarray(0, d * c);
      scaledTranspose(features, d, r0, c, rowScale, xtc);
      for (let j = 0; j < P; j++) {
        const b0 = bounds[j] as number;
        const w = (bounds[j + 1] as number) - b0;
        const left: Operand = { data: xtc.subarray(b0 * c), rows: d - b0, cols: c };
        // The chunk's rows, columns b0 … b0 + w, read from the features where they are: written
        // straight into the backend's tensor (product.ts), with no tile copied out first.
        const right: Operand = { data: features, rows: c, cols: w, stride: d, col0: r0 * d + b0 };
        if (javascript) {
          withProduct(left, right, (panel) => addLower(panel, b0, w), options.onMatMul);
          continue;
        }
        options.onMatMul?.([d - b0, c, w]);
        const prev = acc[j] ?? null;
        acc[j] = tf.tidy((): tf.Tensor2D => {
          const product: tf.Tensor2D = tf.matMul(operandTensor(left, 0), operandTensor(right, 1));
          return prev ? (tf.add(prev, product) as tf.Tensor2D) : product;
        });
        prev?.dispose();
      }
    }
    // The panels' lower parts into G, read in place from the backend.
    acc.forEach((t, j) => {
      if (t) readTensor(t, (panel) => addLower(panel, bounds[j] as number, (bounds[j + 1] as number) - (bounds[j] as number)));
    });
  } finally {
    for (const t of acc) t?.dispose();
  }
  // The upper triangle from the lower (not needed by the caller's factorisation, but the result
  // is the whole symmetric matrix).
  mirrorTriangle(g, d, 'lower');
  return g;
}

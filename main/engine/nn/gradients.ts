/**
 * Gradients of a network's loss, flattened in the parameter order of network.ts.
 *
 * - Fisher rows (SSSE.md, equation 2): g_j = ∇_θ of the mean of −log p over the j-th mini-batch
 *   of m training samples (m = 1: one sample's gradient). The sign does not matter to g_j·g_jᵀ.
 *   The mini-batches are fixed by `fisherGroups`: D's rows in a seeded random order, cut into
 *   N = ⌈n/m⌉ consecutive groups (the last one smaller), so that a dataset stored sorted by class
 *   still gives mixed batches, as in the paper's SGD-style batches.
 * - The removal gradient (SSSE.md, equation 1): Σ_{i∈S} ∇ℓ_i(θ*) = Σ_{i∈S} ∇(−log p_i) + k·λ·θ*.
 *
 * The backend computes in float32; sums over chunks are accumulated in float64.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32, sampleWithoutReplacement } from '../data/random.js';
import { SsseError } from '../errors.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import { forward, inputBatch, labelBatch, meanNll, type Network } from './network.js';
import type { ClassData } from './train.js';

/** The Fisher's mini-batches: groups of ≤ m row indices covering 0..n−1 once, in a seeded order. */
export function fisherGroups(n: number, m: number, seed: number): Int32Array[] {
  if (!Number.isSafeInteger(m) || m < 1) throw new SsseError('BAD_ARGUMENT', `--fisher-batch: expected a whole number ≥ 1, got ${m}`);
  if (!Number.isSafeInteger(n) || n < 1) throw new SsseError('BAD_ARGUMENT', `fisherGroups: n must be ≥ 1, got ${n}`);
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  // m = 1 keeps D's own order: row j of G is then sample j's gradient.
  const order = m === 1 ? Array.from(pool) : sampleWithoutReplacement(pool, n, mulberry32((seed ^ 0x2545f491) >>> 0));
  const groups: Int32Array[] = [];
  for (let s = 0; s < n; s += m) groups.push(Int32Array.from(order.slice(s, s + m)));
  return groups;
}

/**
 * ∇_θ of the mean of −log p over the given rows, at the network's current parameters (float32,
 * length p). No L2 term.
 */
export function meanNllGradient(net: Network, data: ClassData, rows: ArrayLike<number>): Float32Array {
  if (rows.length === 0) throw new SsseError('BAD_ARGUMENT', 'meanNllGradient: no rows');
  const flat = tf.tidy(() => {
    const x = inputBatch(net, data.features, rows);
    const y = labelBatch(net, data.classIds, rows);
    const { grads } = tf.variableGrads(() => meanNll(forward(net, x), y), net.variables);
    return tf.concat(
      net.variables.map((v) => {
        const g = grads[v.name];
        if (!g) throw new SsseError('NUMERIC', `meanNllGradient: no gradient for weight ${v.name}`);
        return tf.reshape(g, [-1]);
      }),
    );
  });
  try {
    return (flat.dataSync() as Float32Array).slice();
  } finally {
    flat.dispose();
  }
}

/** The Fisher's rows G, N×p row-major float32, row j from group j. */
export interface FisherRows {
  N: number;
  p: number;
  /** Samples per row (m), as asked; the last group may be smaller. */
  m: number;
  rows: Float32Array;
}

/**
 * Computes the N rows of G at the network's current parameters (θ*). Reports phase
 * 'fisher-rows' per row and can be cancelled between rows. G must fit one Float32Array
 * (planBlockFisher checks the memory first).
 */
export async function fisherRows(net: Network, data: ClassData, groups: Int32Array[], m: number, control?: RunControl): Promise<FisherRows> {
  const N = groups.length;
  const p = net.p;
  const rows = new Float32Array(N * p);
  for (let j = 0; j < N; j++) {
    throwIfCancelled(control, 'fisher');
    rows.set(meanNllGradient(net, data, groups[j] as Int32Array), j * p);
    report(control, 'fisher-rows', j + 1, N);
    if (j % 32 === 31) await yieldToEventLoop();
  }
  return { N, p, m, rows };
}

/**
 * Σ_{i∈rows} ∇ℓ_i(θ) = Σ_i ∇(−log p_i) + k·λ·θ, float64, from chunks of up to `chunk` rows
 * (each chunk's mean gradient times its size).
 */
export async function removalGradient(
  net: Network,
  data: ClassData,
  rows: ArrayLike<number>,
  l2: number,
  theta: Float32Array,
  control?: RunControl,
  chunk = 256,
): Promise<Float64Array> {
  const k = rows.length;
  if (k === 0) throw new SsseError('BAD_REQUEST', 'removalGradient: the removal request is empty (k = 0)');
  const sum = new Float64Array(net.p);
  for (let s = 0; s < k; s += chunk) {
    throwIfCancelled(control, 'erasure');
    const part = Array.from({ length: Math.min(chunk, k - s) }, (_, j) => rows[s + j] as number);
    const g = meanNllGradient(net, data, part);
    for (let t = 0; t < g.length; t++) sum[t] = (sum[t] as number) + part.length * (g[t] as number);
    await yieldToEventLoop();
  }
  if (l2 > 0) for (let t = 0; t < sum.length; t++) sum[t] = (sum[t] as number) + k * l2 * (theta[t] as number);
  return sum;
}

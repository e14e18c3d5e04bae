import type { ArtefactCache } from '../cache.js';
import { SsseError } from '../errors.js';
import { matVecRows } from '../linalg/cholesky.js';
import type { FisherInverse } from './fisher.js';
import type { LinearModel } from './model.js';
import { applyStep, removalGradient } from './ssseStep.js';

/**
 * An erasure request against stored artefacts: θ* and F̂⁻¹ as ArtefactCache entries, S's rows
 * from the request. Nothing else of the training set is read, and of F̂⁻¹ only the blocks of the
 * attributes asked for, one at a time, each streamed in bands of rows through one small buffer
 * (positioned reads; each block checked against its own CRC-32, carried along the bands): the
 * latency is the removal gradient, the reads and one matrix–vector product per block, and the
 * memory a band of rows.
 */
export interface StoredKeys {
  /** Cache key of the 'theta-star' entry (θ*, A×d attribute-major float64). */
  thetaStar: string;
  /** Cache key of the 'fisher' entry (A float32 d×d blocks, meta as FisherInverse without blocks). */
  fisher: string;
}

export interface StoredErasureOptions {
  /** L2 weight λ the model was trained with (enters Σ∇ℓ_i through k·λ·θ*). */
  l2: number;
  /** Attributes to erase (default all); the others' direction is zero and their blocks are not read. */
  attributes?: number[];
  /** Rows of a block per read (default pieceRows(d)); the result does not depend on it. */
  pieceRows?: number;
}

export interface StoredErasure {
  thetaStar: LinearModel;
  /** u with θ̂_ε = θ* + ε·u (equation 4 of SSSE.md), attribute-major. */
  direction: Float64Array;
  /** Training-set size n the artefacts were built on (F̂'s N). */
  n: number;
  k: number;
  /** Fisher blocks read, in order. */
  blocksRead: number[];
  /** Bytes read from the two entries (headers included). */
  bytesRead: number;
}

/**
 * Rows of a block per read: about 256 kB, which stays in a core's L2 cache between the read, its
 * CRC-32 and the product (a multiple of 8, the rows of one pass of matVecRows on float32 storage).
 */
export function pieceRows(d: number): number {
  return Math.max(8, Math.floor(65536 / d / 8) * 8);
}

function damaged(cache: ArtefactCache, what: string): SsseError {
  return new SsseError('BAD_INPUT', `${cache.dir}: the stored ${what} is missing or damaged; rebuild the model's artefacts`);
}

export function erasureFromStore(
  cache: ArtefactCache,
  keys: StoredKeys,
  removedFeatures: Float32Array,
  removedLabels: Uint8Array,
  options: StoredErasureOptions,
): StoredErasure {
  const fisher = cache.open<Omit<FisherInverse, 'blocks'>>('fisher', keys.fisher);
  if (!fisher) throw damaged(cache, 'F̂⁻¹');
  try {
    const { d, A, N } = fisher.meta;
    if (fisher.dtype !== 'float32' || fisher.lengths.length !== A || fisher.lengths.some((l) => l !== d * d)) {
      throw damaged(cache, `F̂⁻¹ (expected ${A} float32 blocks of ${d}×${d})`);
    }
    const star = cache.open<unknown>('theta-star', keys.thetaStar);
    if (!star) throw damaged(cache, 'θ*');
    let weights: Float64Array;
    let starBytes: number;
    try {
      const w = star.readArray(0);
      if (!(w instanceof Float64Array) || w.length !== d * A) throw damaged(cache, `θ* (expected ${d}×${A} float64)`);
      weights = w;
      starBytes = star.bytesRead;
    } finally {
      star.close();
    }
    const thetaStar: LinearModel = { d, A, weights };
    const k = removedFeatures.length / d;
    if (!Number.isInteger(k) || k < 1 || k >= N) {
      throw new SsseError('BAD_REQUEST', `the removal request has ${removedFeatures.length / d} rows of ${d} features; need 1 ≤ k < n = ${N}`);
    }
    const attributes = options.attributes ?? Array.from({ length: A }, (_, a) => a);
    for (const a of attributes) {
      if (!Number.isInteger(a) || a < 0 || a >= A) throw new SsseError('BAD_ARGUMENT', `erasureFromStore: attribute ${a} is not in 0…${A - 1}`);
    }
    const gradient = removalGradient(thetaStar, removedFeatures, removedLabels, options.l2);
    const direction = new Float64Array(d * A);
    const rows = options.pieceRows ?? pieceRows(d);
    const v = new Float64Array(d);
    for (const a of attributes) {
      const g = gradient.subarray(a * d, (a + 1) * d);
      // Each band of rows is multiplied while it is still in cache from its read and CRC.
      const intact = fisher.readArrayPieces(a, rows * d, (piece, first) => matVecRows(piece, piece.length / d, d, g, v, first / d));
      if (!intact) throw damaged(cache, `F̂⁻¹ block ${a}`);
      for (let j = 0; j < d; j++) direction[a * d + j] = (v[j] as number) / (N - k);
    }
    return { thetaStar, direction, n: N, k, blocksRead: attributes, bytesRead: fisher.bytesRead + starBytes };
  } finally {
    fisher.close();
  }
}

/** θ̂_ε from a stored erasure. */
export function storedStep(erasure: StoredErasure, epsilon: number): LinearModel {
  return applyStep(erasure.thetaStar, erasure.direction, epsilon);
}

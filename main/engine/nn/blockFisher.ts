/**
 * The block-diagonal empirical Fisher of a network and its inverse applied to vectors
 * (SSSE.md, equations 2–4), for blocks of B parameters consecutive in a block order (blockOrder.ts;
 * the last block smaller):
 *
 *   F̂_b = λ_F·I + (1/N)·G_bᵀG_b,   G_b = the N×B columns of the Fisher rows G that fall in block b.
 *
 * Three ways to the same F̂_b⁻¹·v, all float64 apart from one float32 backend product:
 *
 * - woodbury (N < B): F̂_b is the identity plus a rank-N term, so
 *       F̂_b⁻¹·v = (1/λ_F)·(v − G_bᵀ·(N·λ_F·I + G_b·G_bᵀ)⁻¹·G_b·v)
 *   needs only G_b and the N×N Cholesky factor of N·λ_F·I + G_b·G_bᵀ: memory O(N·B + N²), never
 *   the B×B matrix. G_b·G_bᵀ is one backend product (float32); the factor, the solves and the
 *   products with v are float64.
 * - cholesky (N ≥ B): F̂_b itself (B×B, backend product in float32), factored in float64.
 * - sherman-morrison: equation (3) of SSSE.md literally, N rank-1 updates of a dense B×B inverse
 *   in float64 (linear/fisher.ts's shermanMorrisonBlock): O(N·B²), the reference the others are
 *   held to.
 *
 * 'auto' takes woodbury where N < B and cholesky otherwise, block by block, so the working
 * matrix is min(N, B)² either way. The memory needed is computed before any work
 * (planBlockFisher) and a plan over budget is refused with the figures.
 */
import * as tf from '@tensorflow/tfjs';
import { checkDamping } from '../damping.js';
import { SsseError } from '../errors.js';
import { cholesky, choleskyInverse, choleskySolve, matVec } from '../linalg/cholesky.js';
import { shermanMorrisonBlock } from '../linear/fisher.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import { RUNTIME_BYTES_PER_WORKER } from '../linear/fisherBuild.js';
import { nnFactorWindow } from '../workers/nnFactorMessages.js';
import type { FisherRows } from './gradients.js';

export type BlockMethod = 'woodbury' | 'cholesky' | 'sherman-morrison';
export type NetworkFisherMethod = 'auto' | BlockMethod;

export interface BlockPlan {
  N: number;
  p: number;
  blockSize: number;
  blocks: number;
  method: NetworkFisherMethod;
  /** How many blocks each method will handle. */
  methodCounts: Record<BlockMethod, number>;
  /** Threads computing blocks at once (this one and its workers; 1 without workers). */
  threads: number;
  bytes: {
    /** G, N×p float32. */
    rows: number;
    /** The largest block's working memory (its copy of G_b, backend tensors, float64 matrices), on one thread. */
    block: number;
    /** With workers: blocks handed out and not yet applied (nnFactorWindow of them), each G_b and its float64 factor. */
    waiting: number;
    /** The workers' own fixed cost (fisherBuild.ts RUNTIME_BYTES_PER_WORKER each: a JavaScript heap and a tfjs backend). */
    workers: number;
    /** Input and output vectors (float64). */
    vectors: number;
    total: number;
  };
  budget: number;
}

/** The method used for a block of `size` parameters. */
export function blockMethod(method: NetworkFisherMethod, N: number, size: number): BlockMethod {
  if (method !== 'auto') return method;
  return N < size ? 'woodbury' : 'cholesky';
}

/** Working bytes of one block of `size` parameters (see the module comment for what is held). */
export function blockBytes(method: BlockMethod, N: number, size: number): number {
  const gb = 4 * N * size;
  switch (method) {
    case 'woodbury':
      // G_b in JS, on the backend and transposed there; G_b·G_bᵀ on the backend (f32) and as f64; its factor.
      return 3 * gb + 4 * N * N + 16 * N * N;
    case 'cholesky':
      return 3 * gb + 4 * size * size + 16 * size * size;
    case 'sherman-morrison':
      return gb + 8 * size * size + 16 * size;
  }
}

export function checkBlockOptions(blockSize: number, damping: number): void {
  if (!Number.isSafeInteger(blockSize) || blockSize < 1) {
    throw new SsseError('BAD_ARGUMENT', `--block-size: expected a whole number ≥ 1, got ${blockSize}`);
  }
  checkDamping(damping);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
}

/** The largest Float32Array this runtime will allocate in one piece (G is one array). */
const MAX_ARRAY_BYTES = 2 ** 32 - 4;

/**
 * The memory a Fisher of N rows over p parameters in blocks of `blockSize` needs, for `vectors`
 * right-hand sides, on up to `threads` threads (each works on a block of its own, and up to
 * nnFactorWindow blocks are in flight between them; nnFactorPool.ts).
 * The plan takes the most threads that fit in `budget` bytes; throws RESOURCE, naming the
 * figures, when even one does not.
 */
export function planBlockFisher(
  N: number,
  p: number,
  blockSize: number,
  method: NetworkFisherMethod,
  budget: number,
  vectors = 1,
  threads = 1,
): BlockPlan {
  checkBlockOptions(blockSize, 1);
  if (!Number.isSafeInteger(threads) || threads < 1) throw new SsseError('BAD_ARGUMENT', `planBlockFisher: threads must be a whole number ≥ 1, got ${threads}`);
  const blocks = Math.ceil(p / blockSize);
  const methodCounts: Record<BlockMethod, number> = { woodbury: 0, cholesky: 0, 'sherman-morrison': 0 };
  let block = 0;
  let inFlight = 0;
  for (const size of new Set([Math.min(blockSize, p), p - (blocks - 1) * blockSize])) {
    block = Math.max(block, blockBytes(blockMethod(method, N, size), N, size));
    inFlight = Math.max(inFlight, 4 * N * size + 8 * factorDim(blockMethod(method, N, size), N, size) ** 2);
  }
  for (let bi = 0; bi < blocks; bi++) {
    const [c0, c1] = blockRange(bi, blockSize, p);
    methodCounts[blockMethod(method, N, c1 - c0)]++;
  }
  const rows = 4 * N * p;
  const vectorBytes = 2 * 8 * p * vectors;
  const bytesOn = (t: number): BlockPlan['bytes'] => {
    const waiting = t > 1 ? nnFactorWindow(t - 1) * inFlight : 0;
    const workers = (t - 1) * RUNTIME_BYTES_PER_WORKER;
    return { rows, block, waiting, workers, vectors: vectorBytes, total: rows + t * block + waiting + workers + vectorBytes };
  };
  // More threads than blocks find nothing to do; fewer are taken where the memory is short.
  let t = Math.max(1, Math.min(threads, blocks));
  while (t > 1 && bytesOn(t).total > budget) t--;
  const plan: BlockPlan = { N, p, blockSize, blocks, method, methodCounts, threads: t, bytes: bytesOn(t), budget };
  if (rows > MAX_ARRAY_BYTES) {
    throw new SsseError(
      'RESOURCE',
      `Fisher: the gradient rows G (N = ${N} × p = ${p} float32) take ${formatBytes(rows)}, more than one array can hold (4 GiB); raise --fisher-batch to lower N`,
    );
  }
  if (plan.bytes.total > budget) {
    const m = blockMethod(method, N, Math.min(blockSize, p));
    throw new SsseError(
      'RESOURCE',
      `--block-size ${blockSize}: the Fisher needs ${formatBytes(plan.bytes.total)} (G: ${formatBytes(rows)}, ` +
        `one ${m} block: ${formatBytes(block)}) but the memory budget is ${formatBytes(budget)}; ` +
        (m === 'woodbury' ? 'raise --fisher-batch to lower N' : 'lower --block-size, or use --fisher-method auto|woodbury') +
        ', or raise --memory-budget',
    );
  }
  return plan;
}

export function describePlan(plan: BlockPlan): string {
  const used = (Object.keys(plan.methodCounts) as BlockMethod[])
    .filter((k) => plan.methodCounts[k] > 0)
    .map((k) => `${plan.methodCounts[k]} ${k}`)
    .join(', ');
  // --block-size ≥ p gives one block of all p parameters: say so rather than "1 blocks of 100000000".
  const blocks = plan.blocks === 1 ? `one block of all ${plan.p} (block size ${plan.blockSize} ≥ p: the full Fisher)` : `${plan.blocks} blocks of ${plan.blockSize}`;
  return (
    `Fisher: N = ${plan.N} rows × p = ${plan.p} parameters in ${blocks} (${used}); ` +
    `memory ${formatBytes(plan.bytes.total)} (G ${formatBytes(plan.bytes.rows)}, largest block ${formatBytes(plan.bytes.block)}` +
    (plan.threads > 1 ? ` on each of ${plan.threads} threads, ${formatBytes(plan.bytes.waiting)} of blocks in flight, ${formatBytes(plan.bytes.workers)} for the workers' runtimes` : '') +
    ') ' +
    `of a ${formatBytes(plan.budget)} budget`
  );
}

/**
 * Columns [c0, c1) of the N×p row-major G, as an N×(c1−c0) row-major copy; with a permutation
 * π (blockOrder.ts), the columns π[c0 … c1−1] instead.
 */
export function blockColumns(G: FisherRows, c0: number, c1: number, order: Int32Array | null = null): Float32Array {
  const { N, p, rows } = G;
  const b = c1 - c0;
  const out = new Float32Array(N * b);
  if (order === null) {
    for (let j = 0; j < N; j++) out.set(rows.subarray(j * p + c0, j * p + c1), j * b);
    return out;
  }
  const cols = order.subarray(c0, c1);
  for (let j = 0; j < N; j++) {
    const src = j * p;
    const dst = j * b;
    for (let t = 0; t < b; t++) out[dst + t] = rows[src + (cols[t] as number)] as number;
  }
  return out;
}

/** Block `bi`'s columns [c0, c1) of p cut into consecutive blocks of `blockSize` (the last one smaller). */
export function blockRange(bi: number, blockSize: number, p: number): [number, number] {
  const c0 = bi * blockSize;
  return [c0, Math.min(p, c0 + blockSize)];
}

/** How errors name block `bi`, columns [c0, c1) of the block order (or of θ without one). */
export function blockLabel(bi: number, c0: number, c1: number, order: Int32Array | null): string {
  return `Fisher block ${bi} (${order === null ? 'parameters' : 'blocked positions'} ${c0}–${c1 - 1})`;
}

/** The inverse of blockEntries: target[π[c0 + t]] = x[t] (or target[c0 + t] without π). */
export function scatterBlock(target: Float64Array, x: Float64Array, c0: number, order: Int32Array | null): void {
  if (order === null) target.set(x, c0);
  else for (let t = 0; t < x.length; t++) target[order[c0 + t] as number] = x[t] as number;
}

/** v[π[c0 … c1−1]] (or v[c0 … c1−1] without π), float64. */
export function blockEntries(v: Float64Array, c0: number, c1: number, order: Int32Array | null): Float64Array {
  if (order === null) return v.subarray(c0, c1);
  const out = new Float64Array(c1 - c0);
  for (let t = 0; t < out.length; t++) out[t] = v[order[c0 + t] as number] as number;
  return out;
}

/** X·Xᵀ (transposeRight = true, N×N) or Xᵀ·X (false, b×b) of an N×b matrix, on the backend, as float64. */
function gram(x: Float32Array, N: number, b: number, outer: boolean): Float64Array {
  const product = tf.tidy(() => {
    const t = tf.tensor2d(x, [N, b]);
    // An explicit transpose: the wasm backend's transposed-operand matMul is about 10× slower.
    return outer ? tf.matMul(t, tf.transpose(t)) : tf.matMul(tf.transpose(t), t);
  });
  try {
    return Float64Array.from(product.dataSync());
  } finally {
    product.dispose();
  }
}

/** G_b·v (N), float64. */
function rowsTimes(gb: Float32Array, N: number, b: number, v: Float64Array): Float64Array {
  const out = new Float64Array(N);
  for (let j = 0; j < N; j++) {
    const off = j * b;
    let s = 0;
    for (let t = 0; t < b; t++) s += (gb[off + t] as number) * (v[t] as number);
    out[j] = s;
  }
  return out;
}

/** (v − G_bᵀ·z)/λ, float64. */
function woodburyFinish(gb: Float32Array, N: number, b: number, v: Float64Array, z: Float64Array, damping: number): Float64Array {
  const acc = Float64Array.from(v);
  for (let j = 0; j < N; j++) {
    const zj = z[j] as number;
    if (zj === 0) continue;
    const off = j * b;
    for (let t = 0; t < b; t++) acc[t] = (acc[t] as number) - zj * (gb[off + t] as number);
  }
  for (let t = 0; t < b; t++) acc[t] = (acc[t] as number) / damping;
  return acc;
}

function shifted(base: Float64Array, dim: number, scale: number, shift: number): Float64Array {
  const out = new Float64Array(dim * dim);
  for (let i = 0; i < out.length; i++) out[i] = (base[i] as number) * scale;
  for (let i = 0; i < dim; i++) out[i * dim + i] = (out[i * dim + i] as number) + shift;
  return out;
}

/**
 * A block's F̂_b factored for one damping: what F̂_b⁻¹·v needs besides G_b. `matrix` is, by
 * method, the N×N Cholesky factor of N·λ_F·I + G_b·G_bᵀ (woodbury), the b×b Cholesky factor of
 * F̂_b (cholesky), or F̂_b⁻¹ itself (sherman-morrison); `dim` is its order.
 */
export interface BlockFactor {
  method: BlockMethod;
  damping: number;
  dim: number;
  matrix: Float64Array;
}

/** The order of a block's factor: N for woodbury, b otherwise. */
export function factorDim(method: BlockMethod, N: number, b: number): number {
  return method === 'woodbury' ? N : b;
}

function checkBlock(gb: Float32Array, N: number, b: number, what: string): void {
  if (gb.length !== N * b) throw new SsseError('BAD_ARGUMENT', `solveBlock: ${what} has ${gb.length} values, expected ${N}×${b}`);
}

/**
 * F̂_b factored for each damping (the expensive half of F̂_b⁻¹·v: the backend product and an
 * O(dim³) factorization). `gb` is G_b (N×b row-major float32).
 */
export function factorBlock(gb: Float32Array, N: number, b: number, dampings: number[], method: BlockMethod, what = 'Fisher block'): BlockFactor[] {
  checkBlock(gb, N, b, what);
  for (const damping of dampings) checkBlockOptions(1, damping);
  const dim = factorDim(method, N, b);
  switch (method) {
    case 'woodbury': {
      const k = gram(gb, N, b, true);
      return dampings.map((damping) => ({ method, damping, dim, matrix: cholesky(shifted(k, N, 1, N * damping), N, what) }));
    }
    case 'cholesky': {
      const f = gram(gb, N, b, false);
      return dampings.map((damping) => ({ method, damping, dim, matrix: cholesky(shifted(f, b, 1 / N, damping), b, what) }));
    }
    case 'sherman-morrison': {
      const ones = new Float64Array(N).fill(1);
      return dampings.map((damping) => ({ method, damping, dim, matrix: shermanMorrisonBlock(gb, N, b, ones, N, damping) }));
    }
  }
}

/**
 * F̂_b⁻¹·v for each vector (length b) from G_b and the block's factor: O(N·b + dim²) per vector,
 * the cheap half. The same arithmetic whether the factor was just computed or read back from a
 * cache, so both give the same bits.
 */
export function applyBlockFactor(gb: Float32Array, N: number, b: number, factor: BlockFactor, vectors: Float64Array[], what = 'Fisher block'): Float64Array[] {
  checkBlock(gb, N, b, what);
  if (factor.dim !== factorDim(factor.method, N, b) || factor.matrix.length !== factor.dim * factor.dim) {
    throw new SsseError('BAD_ARGUMENT', `applyBlockFactor: ${what}'s ${factor.method} factor is ${factor.matrix.length} values, expected ${factorDim(factor.method, N, b)}²`);
  }
  for (const v of vectors) {
    if (v.length !== b) throw new SsseError('BAD_ARGUMENT', `solveBlock: a vector has ${v.length} entries, ${what} has ${b} parameters`);
  }
  switch (factor.method) {
    case 'woodbury':
      return vectors.map((v) => woodburyFinish(gb, N, b, v, choleskySolve(factor.matrix, N, rowsTimes(gb, N, b, v)), factor.damping));
    case 'cholesky':
      return vectors.map((v) => choleskySolve(factor.matrix, b, v));
    case 'sherman-morrison':
      return vectors.map((v) => matVec(factor.matrix, b, v));
  }
}

/**
 * F̂_b⁻¹·v for one block and several dampings and vectors: result[d][v]. `gb` is G_b (N×b
 * row-major float32); each v has length b.
 */
export function solveBlock(
  gb: Float32Array,
  N: number,
  b: number,
  dampings: number[],
  vectors: Float64Array[],
  method: BlockMethod,
  what = 'Fisher block',
): Float64Array[][] {
  checkBlock(gb, N, b, what);
  for (const v of vectors) {
    if (v.length !== b) throw new SsseError('BAD_ARGUMENT', `solveBlock: a vector has ${v.length} entries, ${what} has ${b} parameters`);
  }
  return factorBlock(gb, N, b, dampings, method, what).map((factor) => applyBlockFactor(gb, N, b, factor, vectors, what));
}

/**
 * F̂_b⁻¹ itself (b×b, float64), for tests and small blocks: by Woodbury
 * (1/λ)(I − G_bᵀ(NλI + G_bG_bᵀ)⁻¹G_b), by Cholesky of F̂_b, or by Sherman–Morrison.
 */
export function blockInverse(gb: Float32Array, N: number, b: number, damping: number, method: BlockMethod): Float64Array {
  checkBlockOptions(1, damping);
  switch (method) {
    case 'woodbury': {
      const mInv = choleskyInverse(cholesky(shifted(gram(gb, N, b, true), N, 1, N * damping), N), N);
      // T = M⁻¹·G_b (N×b), then (I − G_bᵀ·T)/λ.
      const t = new Float64Array(N * b);
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const mij = mInv[i * N + j] as number;
          for (let c = 0; c < b; c++) t[i * b + c] = (t[i * b + c] as number) + mij * (gb[j * b + c] as number);
        }
      }
      const out = new Float64Array(b * b);
      for (let r = 0; r < b; r++) {
        for (let c = 0; c < b; c++) {
          let s = 0;
          for (let j = 0; j < N; j++) s += (gb[j * b + r] as number) * (t[j * b + c] as number);
          out[r * b + c] = ((r === c ? 1 : 0) - s) / damping;
        }
      }
      return out;
    }
    case 'cholesky':
      return choleskyInverse(cholesky(shifted(gram(gb, N, b, false), b, 1 / N, damping), b), b);
    case 'sherman-morrison':
      return shermanMorrisonBlock(gb, N, b, new Float64Array(N).fill(1), N, damping);
  }
}

export interface BlockSolveOptions extends RunControl {
  blockSize: number;
  /** One or more dampings λ_F; the block products are shared between them. */
  dampings: number[];
  method: NetworkFisherMethod;
  /**
   * π (blockOrder.ts blockPermutation): block b holds the parameters π[bB … (b+1)B−1]. Null or
   * absent: consecutive slices of θ. Vectors and results stay in θ's order either way.
   */
  order?: Int32Array | null;
}

/** π must hold each of 0 … p−1 once. */
function checkPermutation(order: Int32Array, p: number): void {
  if (order.length !== p) throw new SsseError('BAD_ARGUMENT', `solveBlockFisher: the block order has ${order.length} entries, expected p = ${p}`);
  const seen = new Uint8Array(p);
  for (let q = 0; q < p; q++) {
    const i = order[q] as number;
    if (!(i >= 0 && i < p) || seen[i] === 1) throw new SsseError('BAD_ARGUMENT', `solveBlockFisher: the block order is not a permutation of 0…${p - 1} (entry ${q} is ${i})`);
    seen[i] = 1;
  }
}

/**
 * F̂⁻¹·v for every damping and vector, block by block: result[d][v] (length p, float64). Memory
 * beyond G and the vectors is one block's at a time. Reports phase 'fisher' per block.
 */
export async function solveBlockFisher(G: FisherRows, vectors: Float64Array[], options: BlockSolveOptions): Promise<Float64Array[][]> {
  const { N, p } = G;
  checkBlockOptions(options.blockSize, 1);
  if (options.dampings.length === 0) throw new SsseError('BAD_ARGUMENT', 'solveBlockFisher: no damping given');
  for (const v of vectors) {
    if (v.length !== p) throw new SsseError('BAD_ARGUMENT', `solveBlockFisher: a vector has ${v.length} entries, expected p = ${p}`);
  }
  const order = options.order ?? null;
  if (order !== null) checkPermutation(order, p);
  const out = options.dampings.map(() => vectors.map(() => new Float64Array(p)));
  const blocks = Math.ceil(p / options.blockSize);
  report(options, 'fisher', 0, blocks);
  for (let bi = 0; bi < blocks; bi++) {
    throwIfCancelled(options, 'fisher');
    const [c0, c1] = blockRange(bi, options.blockSize, p);
    const b = c1 - c0;
    const gb = blockColumns(G, c0, c1, order);
    const parts = solveBlock(
      gb,
      N,
      b,
      options.dampings,
      vectors.map((v) => blockEntries(v, c0, c1, order)),
      blockMethod(options.method, N, b),
      blockLabel(bi, c0, c1, order),
    );
    parts.forEach((perVector, di) => perVector.forEach((x, vi) => scatterBlock(out[di]?.[vi] as Float64Array, x, c0, order)));
    report(options, 'fisher', bi + 1, blocks);
    await yieldToEventLoop();
  }
  return out;
}

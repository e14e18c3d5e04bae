/**
 * A network's F̂⁻¹ computed once per model and stored (SSSE.md: "F̂⁻¹ is computed once per model
 * and stored; each erasure request then costs one matrix–vector product per block").
 *
 * For a network N < B, so F̂_b⁻¹ is kept in its Woodbury form rather than as B×B matrices: two
 * cache entries (cache.ts), read and written block by block, never whole in memory:
 *
 * - `nn-fisher-columns`: G_b (N×b float32) of every block, in the block order. It depends on θ*,
 *   the data, the network, the mini-batches (m and the seed), the block size and order, the backend.
 * - `nn-fisher-factors`: every block's factor (blockFisher.ts BlockFactor: the N×N Cholesky factor
 *   of N·λ_F·I + G_b·G_bᵀ, or the b×b factor of F̂_b where N ≥ b), float64, for one damping and
 *   method, keyed by the columns entry's key.
 *
 * Applying a stored factor runs the same arithmetic (applyBlockFactor) as applying a fresh one, so
 * an erasure from the cache gives θ̂ to the bit. A missing, damaged or mismatched entry is rebuilt
 * (a miss), never trusted; a cache that cannot be written (no room: less than SPARE_DISK_BYTES
 * would be left; or an error) costs the stored copy, not the erasure.
 */
import type { BackendName } from '../backend.js';
import type { ArtefactCache, CacheWriter, EntryReader } from '../cache.js';
import { SsseError } from '../errors.js';
import { sha256Json } from '../hash.js';
import { collectAfterBlock } from '../memory.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import { applyBlockFactor, blockColumns, blockEntries, blockLabel, blockRange, scatterBlock, blockMethod, factorBlock, factorDim, formatBytes, type BlockFactor, type BlockMethod, type NetworkFisherMethod } from './blockFisher.js';
import { runNnFactorPool, type NnFactoredBlock } from '../workers/nnFactorPool.js';
import type { WorkerPool } from '../workers/pool.js';
import type { FisherRows } from './gradients.js';

export type FisherCacheState = 'hit' | 'miss' | 'off';

/** What identifies G's columns: everything G at θ* depends on, and how it is cut into blocks. */
export interface FisherColumnsIdentity {
  engineVersion: string;
  thetaStarSha256: string;
  /** The training data's fingerprint. */
  fingerprint: string;
  /** The network (its spec, or its file's SHA-256 and how its weights are used), as JSON. */
  source: unknown;
  fisherBatch: number;
  seed: number;
  N: number;
  p: number;
  blockSize: number;
  blockOrder: string;
  backend: string;
}

export interface FisherCacheKeys {
  columns: string;
  factors: string;
}

export function fisherCacheKeys(id: FisherColumnsIdentity, damping: number, method: NetworkFisherMethod): FisherCacheKeys {
  const columns = sha256Json({ kind: 'nn-fisher-columns', ...id });
  return { columns, factors: sha256Json({ kind: 'nn-fisher-factors', columns, damping, method }) };
}

interface ColumnsMeta {
  N: number;
  p: number;
  blockSize: number;
  blocks: number;
}

interface FactorsMeta extends ColumnsMeta {
  damping: number;
  methods: BlockMethod[];
}

export interface CachedSolveOptions extends RunControl {
  cache: ArtefactCache | null;
  keys: FisherCacheKeys;
  N: number;
  p: number;
  blockSize: number;
  damping: number;
  method: NetworkFisherMethod;
  /** π (blockOrder.ts), or null for consecutive slices. */
  order: Int32Array | null;
  /** G at θ*, computed only when the columns are not stored. */
  rows: () => Promise<FisherRows>;
  log?: (line: string) => void;
  /**
   * Worker threads beside this one for the factors computed from G (default 0). The result is the
   * same to the bit for any count (nnFactorPool.ts).
   */
  workers?: number;
  /** The backend the workers start (this thread's); without it no worker is used. */
  backend?: BackendName;
  /** Where the workers come from (pool.ts); default: started for this pass. */
  pool?: WorkerPool | undefined;
}

export interface CachedSolve {
  /** F̂⁻¹·v for each vector (length p, θ's order). */
  solved: Float64Array[];
  columns: FisherCacheState;
  factors: FisherCacheState;
  /** Bytes of the two entries' arrays (what a hit reads, a miss writes). */
  bytes: number;
  /** Threads that computed factors: this one and its workers (1: this one alone, or every factor was read). */
  threads: number;
}

/** Disk space a stored F̂⁻¹ must leave free. */
export const SPARE_DISK_BYTES = 2 ** 30;

/** A stored entry that fails its checks mid-way: the whole solve starts again as a miss. */
class Damaged extends Error {}

function sameMeta(a: ColumnsMeta, b: ColumnsMeta): boolean {
  return a.N === b.N && a.p === b.p && a.blockSize === b.blockSize && a.blocks === b.blocks;
}

/**
 * F̂⁻¹·v for one damping, block by block, through the cache: each block's columns and factor are
 * read when stored and intact, else computed (G only if some columns are missing) and written.
 */
export async function solveBlockFisherCached(vectors: Float64Array[], options: CachedSolveOptions): Promise<CachedSolve> {
  try {
    return await attempt(vectors, options, true);
  } catch (e) {
    if (!(e instanceof Damaged)) throw e;
    options.log?.(`${options.cache?.dir ?? ''}: the stored F̂⁻¹ is damaged (${e.message}); rebuilding it`);
    return attempt(vectors, options, false);
  }
}

async function attempt(vectors: Float64Array[], o: CachedSolveOptions, readStored: boolean): Promise<CachedSolve> {
  const { N, p, blockSize, damping, order, cache } = o;
  for (const v of vectors) {
    if (v.length !== p) throw new SsseError('BAD_ARGUMENT', `solveBlockFisherCached: a vector has ${v.length} entries, expected p = ${p}`);
  }
  const blocks = Math.ceil(p / blockSize);
  const sizes = Array.from({ length: blocks }, (_, bi) => {
    const [c0, c1] = blockRange(bi, blockSize, p);
    return c1 - c0;
  });
  const methods = sizes.map((b) => blockMethod(o.method, N, b));
  // Each block's array in the two entries: G_b (N×b float32) and its factor (dim² float64).
  const columnLengths = sizes.map((b) => N * b);
  const factorLengths = sizes.map((b, bi) => factorDim(methods[bi] as BlockMethod, N, b) ** 2);
  const sum = (lengths: number[], width: number): number => lengths.reduce((s, l) => s + width * l, 0);
  const meta: ColumnsMeta = { N, p, blockSize, blocks };
  const factorsMeta: FactorsMeta = { ...meta, damping, methods };

  let columnsIn: EntryReader<ColumnsMeta> | null = null;
  let factorsIn: EntryReader<FactorsMeta> | null = null;
  let columnsOut: CacheWriter | null = null;
  let factorsOut: CacheWriter | null = null;
  let G: FisherRows | null = null;
  const bytes = sum(columnLengths, 4) + sum(factorLengths, 8);
  const dropWriters = (why: unknown): void => {
    columnsOut?.abort();
    factorsOut?.abort();
    o.log?.(`${cache?.dir ?? ''}: F̂⁻¹ not stored (${why instanceof Error ? why.message : String(why)}); this erasure goes on without it`);
    columnsOut = null;
    factorsOut = null;
  };
  try {
    if (cache && readStored) {
      columnsIn = cache.open<ColumnsMeta>('nn-fisher-columns', o.keys.columns);
      if (columnsIn && (columnsIn.dtype !== 'float32' || !sameMeta(columnsIn.meta, meta) || columnsIn.lengths.some((l, bi) => l !== columnLengths[bi]))) {
        columnsIn.close();
        columnsIn = null;
      }
      factorsIn = cache.open<FactorsMeta>('nn-fisher-factors', o.keys.factors);
      if (
        factorsIn &&
        (factorsIn.dtype !== 'float64' ||
          !sameMeta(factorsIn.meta, meta) ||
          factorsIn.meta.damping !== damping ||
          factorsIn.meta.methods.some((m, bi) => m !== methods[bi]) ||
          factorsIn.lengths.some((l, bi) => l !== factorLengths[bi]))
      ) {
        factorsIn.close();
        factorsIn = null;
      }
    }
    // What would be written, against the disk: a cache never fills it (the audit store may share it).
    const toWrite = (columnsIn ? 0 : sum(columnLengths, 4)) + (factorsIn ? 0 : sum(factorLengths, 8));
    const free = cache && toWrite > 0 ? cache.freeBytes() : null;
    const room = free === null || free - toWrite >= SPARE_DISK_BYTES;
    if (cache && !room) {
      o.log?.(
        `${cache.dir}: F̂⁻¹ not stored: it needs ${formatBytes(toWrite)} and the disk has ${formatBytes(free ?? 0)} free ` +
          `(${formatBytes(SPARE_DISK_BYTES)} is kept spare); this erasure goes on without it`,
      );
    }
    if (cache && room) {
      try {
        if (!columnsIn) columnsOut = cache.writer('nn-fisher-columns', o.keys.columns, meta, 'float32', columnLengths);
        if (!factorsIn) factorsOut = cache.writer('nn-fisher-factors', o.keys.factors, factorsMeta, 'float64', factorLengths);
      } catch (e) {
        dropWriters(e);
      }
    }
    if (!columnsIn) G = await o.rows();
    const out = vectors.map(() => new Float64Array(p));
    report(o, 'fisher', 0, blocks);
    /** Block bi: its columns and factor (read, given by the pool, or computed here), stored and applied. */
    const step = (bi: number, given: NnFactoredBlock | null): void => {
      const [c0, c1] = blockRange(bi, blockSize, p);
      const b = c1 - c0;
      const what = blockLabel(bi, c0, c1, order);
      let gb: Float32Array;
      if (given) {
        gb = given.gb;
      } else if (columnsIn) {
        const read = columnsIn.readArray(bi);
        if (!(read instanceof Float32Array)) throw new Damaged(`the columns of block ${bi} fail their checksum`);
        gb = read;
      } else {
        gb = blockColumns(G as FisherRows, c0, c1, order);
      }
      let factor: BlockFactor;
      if (given) {
        factor = given.factor;
      } else if (factorsIn) {
        const read = factorsIn.readArray(bi);
        if (!(read instanceof Float64Array)) throw new Damaged(`the factor of block ${bi} fails its checksum`);
        factor = { method: methods[bi] as BlockMethod, damping, dim: factorDim(methods[bi] as BlockMethod, N, b), matrix: read };
      } else {
        [factor] = factorBlock(gb, N, b, [damping], methods[bi] as BlockMethod, what) as [BlockFactor];
      }
      try {
        columnsOut?.put(bi, gb);
        factorsOut?.put(bi, factor.matrix);
      } catch (e) {
        dropWriters(e);
      }
      const parts = applyBlockFactor(gb, N, b, factor, vectors.map((v) => blockEntries(v, c0, c1, order)), what);
      parts.forEach((x, vi) => scatterBlock(out[vi] as Float64Array, x, c0, order));
      collectAfterBlock(); // the block's dropped arrays, before the next block's (memory.ts)
      report(o, 'fisher', bi + 1, blocks);
    };
    // Factors to compute from G in memory: on worker threads too, when there are some to use.
    const workers = G && !factorsIn && o.backend ? Math.min(o.workers ?? 0, blocks - 1) : 0;
    if (workers > 0 && G && o.backend) {
      await runNnFactorPool(G, { blockSize, damping, methods, order }, { ...o, backend: o.backend, workers, pool: o.pool }, (bi, block) => step(bi, block));
    } else {
      for (let bi = 0; bi < blocks; bi++) {
        throwIfCancelled(o, 'fisher');
        step(bi, null);
        await yieldToEventLoop();
      }
    }
    G = null;
    let stored = false;
    if (columnsOut || factorsOut) {
      try {
        (columnsOut as CacheWriter | null)?.commit();
        columnsOut = null;
        (factorsOut as CacheWriter | null)?.commit();
        factorsOut = null;
        stored = true;
      } catch (e) {
        dropWriters(e);
      }
    }
    if (stored) o.log?.(`F̂⁻¹ (blocks of ${blockSize}, λ_F = ${damping}) stored in ${cache?.dir ?? ''} (${formatBytes(bytes)} with its columns)`);
    const state = (hit: boolean): FisherCacheState => (cache ? (hit ? 'hit' : 'miss') : 'off');
    return { solved: out, columns: state(columnsIn !== null), factors: state(factorsIn !== null), bytes, threads: workers + 1 };
  } finally {
    // Cancelled, failed or damaged: nothing half-written is published.
    (columnsOut as CacheWriter | null)?.abort();
    (factorsOut as CacheWriter | null)?.abort();
    (columnsIn as EntryReader<ColumnsMeta> | null)?.close();
    (factorsIn as EntryReader<FactorsMeta> | null)?.close();
  }
}

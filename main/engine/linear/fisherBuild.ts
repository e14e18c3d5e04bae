import * as os from 'node:os';
import { currentBackend, type BackendName } from '../backend.js';
import type { ArtefactCache } from '../cache.js';
import { checkDamping } from '../damping.js';
import { SsseError } from '../errors.js';
import { DEFAULT_GRAM_PLAN, type GramPlan } from '../linalg/gram.js';
import { throwIfCancelled } from '../progress.js';
import { runFisherPool, streamedSlots } from '../workers/fisherPool.js';
import type { WorkerPool } from '../workers/pool.js';
import { DEFAULT_FISHER_METHOD, fisherInverse, type FisherInverse, type FisherOptions, type FisherSink } from './fisher.js';
import type { LinearModel } from './model.js';

/**
 * Building F̂⁻¹ for a model: state what it will store, refuse what will not fit, then compute the
 * blocks, on worker threads where that helps.
 */

/** What a Fisher build will hold, stated before it starts (bytes). */
export interface FisherPlan {
  blocks: number;
  /** Rows (= columns) of each block. */
  blockSize: number;
  /** The stored F̂⁻¹ in float32: blocks × B² × 4. */
  storageBytes: number;
  /** Worker threads (0: computed on the calling thread alone); they compute beside the calling thread. */
  workers: number;
  /** The features shared with the workers (0 when computed in-process, or already shared). */
  sharedDataBytes: number;
  /** Blocks handed to a sink as they are finished (a streamed build), so that only a few are held. */
  streamed: boolean;
  /** The F̂⁻¹ blocks held in memory during the build: all of them, or (streamed) the calling thread's one and two per worker. */
  heldBytes: number;
  /** Estimated working memory of one block in progress (Gram chunk, factor, inverse, backend copies). */
  workingBytesPerBlock: number;
  /** Estimated fixed cost of one worker thread (its own JavaScript heap and tfjs backend). */
  runtimeBytesPerWorker: number;
  /** held + shared data + (workers + 1) × working + workers × runtime. */
  totalBytes: number;
  /** The memory this build may use: the caller's limit, else what the system reports available. */
  availableBytes: number;
}

/**
 * Measured on the reference machine (wasm backend, Node 20): a worker that has loaded tfjs and
 * initialised its backend adds 20–40 MB to the process's resident memory.
 */
export const RUNTIME_BYTES_PER_WORKER = 40e6;

/**
 * Working memory of one block in progress, as a first build in a process needs it: the reused
 * buffers (workspace.ts: the float64 Gram, which becomes the factor, the diagonal blocks'
 * inverses, a few panels; gram.ts's transposed chunk) and the block's output, plus what a first
 * build makes resident once per process (the compilers' memory, the backend's heap pages, V8's
 * young generation). Measured on the reference machine (wasm, d = 784, a one-block build in a
 * fresh process, bench/probeFisherMemory.ts): about 40 MB, of which 11 MB buffers, 8.6 MB wasm
 * heap pages, 11 MB young generation and 8–12 MB compiler memory; ≈ 60·d² + 16·d·chunk bytes.
 */
export function workingBytesPerBlock(d: number, n: number, plan: GramPlan = DEFAULT_GRAM_PLAN): number {
  const chunk = Math.min(n, plan.chunkRows);
  return 60 * d * d + 16 * d * chunk;
}

/** Memory the system reports available to this process (cgroup limit included where set). */
export function availableMemoryBytes(): number {
  let available = os.freemem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  if (constrained !== undefined && constrained > 0 && Number.isFinite(constrained)) {
    available = Math.min(available, Math.max(0, constrained - process.memoryUsage().rss));
  }
  return available;
}

export function planFisher(
  n: number,
  d: number,
  blocks: number,
  workers: number,
  options: { featuresShared?: boolean; availableBytes?: number; gramPlan?: GramPlan; streamed?: boolean } = {},
): FisherPlan {
  const storageBytes = blocks * d * d * 4;
  const streamed = options.streamed ?? false;
  const heldBytes = streamed ? streamedSlots(workers, true) * d * d * 4 : storageBytes;
  // The features, and what each block's weights come from: the n×A labels and θ (A×d float64).
  const sharedDataBytes = workers > 0 && !options.featuresShared ? n * d * 4 + n * blocks + blocks * d * 8 : 0;
  const working = workingBytesPerBlock(d, n, options.gramPlan);
  const runtime = workers > 0 ? RUNTIME_BYTES_PER_WORKER : 0;
  return {
    blocks,
    blockSize: d,
    storageBytes,
    workers,
    sharedDataBytes,
    streamed,
    heldBytes,
    workingBytesPerBlock: working,
    runtimeBytesPerWorker: runtime,
    totalBytes: heldBytes + sharedDataBytes + (workers + 1) * working + workers * runtime,
    availableBytes: options.availableBytes ?? availableMemoryBytes(),
  };
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

/** One line for people: "F̂⁻¹: 10 blocks × 784² × 4 B = 24.6 MB stored; about 70.1 MB while built (2 workers)". */
export function describeFisherPlan(plan: FisherPlan): string {
  const where = plan.workers > 0 ? `the main thread and ${plan.workers} worker${plan.workers === 1 ? '' : 's'}` : 'in-process';
  return (
    `F̂⁻¹: ${plan.blocks} blocks × ${plan.blockSize}² × 4 B = ${formatBytes(plan.storageBytes)} stored; ` +
    `about ${formatBytes(plan.totalBytes)} while it is built (${where}${plan.streamed ? ', each block written out as it is finished' : ''})`
  );
}

/** Throws RESOURCE with the figures when the build would not fit. */
export function checkFisherFits(plan: FisherPlan): void {
  const elements = plan.blockSize * plan.blockSize;
  if (elements >= 2 ** 32 || plan.storageBytes > Number.MAX_SAFE_INTEGER) {
    throw new SsseError('RESOURCE', `${describeFisherPlan(plan)}: a ${plan.blockSize}×${plan.blockSize} block exceeds the largest array JavaScript can hold`);
  }
  if (plan.totalBytes > plan.availableBytes) {
    throw new SsseError(
      'RESOURCE',
      `${describeFisherPlan(plan)}, but only ${formatBytes(plan.availableBytes)} of memory is available; ` +
        (plan.workers > 1 ? 'use fewer workers, ' : '') +
        'free memory or use a machine with more',
    );
  }
}

export interface BuildOptions extends FisherOptions {
  /**
   * Worker threads for the 'blocked' method, computing beside the calling thread: 0 computes on
   * the calling thread alone; default: one fewer than the cores, so that every core computes,
   * and at most one fewer than the blocks.
   */
  workers?: number;
  /**
   * False: with workers, the calling thread only hands out results and waits, as builds did
   * before it computed blocks too (kept for the benchmark's side-by-side figure). Default true.
   */
  mainThreadComputes?: boolean;
  /** Where worker threads come from and go back to (workers/pool.ts), e.g. a command's; default: started for this build alone. */
  pool?: WorkerPool;
  /** Memory the build may use (bytes); default: what the system reports available. */
  memoryLimitBytes?: number;
  /** Told the plan before anything is computed. */
  onPlan?: (plan: FisherPlan) => void;
  /** Tuning for the 'blocked' method. */
  block?: number;
  gramPlan?: GramPlan;
}

/**
 * Worker threads that help the calling thread on this backend: one per further core, so that
 * every core computes a block (none for tfjs-node, whose native kernels already use every core).
 */
/** `requested` worker threads, checked as --workers is: a whole number ≥ 0. */
export function checkWorkers(requested: number): number {
  if (!(Number.isSafeInteger(requested) && requested >= 0)) {
    throw new SsseError('BAD_ARGUMENT', `--workers: expected a whole number ≥ 0, got ${requested}`);
  }
  return requested;
}

export function defaultWorkers(backend: BackendName, blocks: number): number {
  if (backend === 'tensorflow') return 0;
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(0, Math.min(cores, blocks) - 1);
}

/**
 * F̂⁻¹ of a trained linear model (one block per attribute), by `options.method` (default
 * DEFAULT_FISHER_METHOD, the fast route). States the plan through onPlan, refuses a build that would not fit,
 * and for 'blocked' spreads the blocks over worker threads.
 */
export async function buildFisherInverse(
  model: LinearModel,
  features: Float32Array,
  labels: Uint8Array,
  n: number,
  options: BuildOptions,
): Promise<FisherInverse> {
  const { d, A } = model;
  const method = options.method ?? DEFAULT_FISHER_METHOD;
  const curvature = options.curvature ?? 'empirical';
  const backend = currentBackend();
  if (!backend) throw new SsseError('RESOURCE', 'buildFisherInverse: call initBackend() first');
  checkDamping(options.damping);
  if (features.length !== n * d) {
    throw new SsseError('BAD_ARGUMENT', `buildFisherInverse: features has ${features.length} values, expected ${n}×${d}`);
  }
  const requested = checkWorkers(options.workers ?? defaultWorkers(backend.name, A));
  // The calling thread computes blocks too, so more than A − 1 workers would find nothing to do.
  const mainThread = options.mainThreadComputes ?? true;
  const workers = method === 'blocked' ? Math.min(requested, mainThread ? A - 1 : A) : 0;
  const plan = planFisher(n, d, A, workers, {
    featuresShared: features.buffer instanceof SharedArrayBuffer,
    streamed: options.sink !== undefined,
    ...(options.memoryLimitBytes !== undefined ? { availableBytes: options.memoryLimitBytes } : {}),
    ...(options.gramPlan ? { gramPlan: options.gramPlan } : {}),
  });
  options.onPlan?.(plan);
  checkFisherFits(plan);
  throwIfCancelled(options, 'fisher');
  if (workers === 0) return fisherInverse(model, features, labels, n, { ...options, method, curvature });
  const { store } = await runFisherPool(features, { theta: model.weights, labels, curvature }, n, d, A, {
    backend: backend.name,
    workers,
    mainThread,
    pool: options.pool,
    N: n,
    damping: options.damping,
    ...(options.block !== undefined ? { block: options.block } : {}),
    ...(options.gramPlan ? { gramPlan: options.gramPlan } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.sink ? { sink: options.sink } : {}),
  });
  const blocks: Float32Array[] = [];
  if (!options.sink) for (let a = 0; a < A; a++) blocks.push(store.subarray(a * d * d, (a + 1) * d * d));
  return { d, A, damping: options.damping, N: n, curvature, method, blocks };
}

/**
 * Builds F̂⁻¹ straight into an ArtefactCache entry, block by block, as `ssse erase` does on a cache
 * miss: each block is written to the entry as soon as it is finished and its memory reused, so
 * the build holds a few blocks (the calling thread's one, two per worker) rather than all of
 * them (plus, before, a concatenated copy for the write). Then the finished entry is read back,
 * once, as the F̂⁻¹ to use. A failed or cancelled build leaves no entry.
 */
export async function buildFisherIntoCache(
  cache: ArtefactCache,
  key: string,
  model: LinearModel,
  features: Float32Array,
  labels: Uint8Array,
  n: number,
  options: BuildOptions & {
    /** false: only write the entry (returning `blocks: []`), e.g. to certify ahead of use. Default true. */
    readBack?: boolean;
  },
): Promise<FisherInverse> {
  const { d, A } = model;
  // Resolved here, once, because the entry's header states them before the build runs.
  const method = options.method ?? DEFAULT_FISHER_METHOD;
  const curvature = options.curvature ?? 'empirical';
  const meta: Omit<FisherInverse, 'blocks'> = { d, A, damping: options.damping, N: n, curvature, method };
  const writer = cache.writer('fisher', key, meta, 'float32', new Array<number>(A).fill(d * d));
  const sink: FisherSink = (a, block) => writer.put(a, block);
  const { readBack = true, ...build } = options;
  try {
    await buildFisherInverse(model, features, labels, n, { ...build, method, curvature, sink });
    writer.commit();
  } catch (e) {
    writer.abort();
    throw e;
  }
  if (!readBack) return { ...meta, blocks: [] };
  const entry = cache.read<Omit<FisherInverse, 'blocks'>>('fisher', key);
  if (!entry || entry.arrays.length !== A || !entry.arrays.every((b) => b instanceof Float32Array && b.length === d * d)) {
    throw new SsseError('RESOURCE', `the F̂⁻¹ just written to the cache in ${cache.dir} does not read back; is the disk full or failing?`);
  }
  return { ...meta, ...entry.meta, blocks: entry.arrays as Float32Array[] };
}

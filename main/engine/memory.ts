import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { productEngine } from './linalg/product.js';

/**
 * Garbage collection on the calling thread (main or worker), for the Fisher build.
 *
 * Why: the build allocates and drops typed arrays per block (backend results, the tensors'
 * wrappers). Their memory lives outside V8's heap, and V8 collects it only once about 64 MB
 * more has accumulated, per thread; with a worker per core, that garbage, not the F̂⁻¹ being
 * built, once set the peak memory (+100–150 MB per worker, before the build reused its work
 * matrices, workspace.ts). Each block therefore ends with a collection (collectAfterBlock).
 *
 * How: global.gc when node runs with --expose-gc; otherwise the same function obtained by
 * enabling the flag at run time and reading `gc` from a fresh context (as Jest does for its leak
 * detection). Where neither works, nothing happens.
 */
type Collector = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void;

let collector: Collector | null | undefined;

function findCollector(): Collector | null {
  const existing = (globalThis as { gc?: Collector }).gc;
  if (typeof existing === 'function') return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fromContext = vm.runInNewContext('gc') as unknown;
    return typeof fromContext === 'function' ? (fromContext as Collector) : null;
  } catch {
    return null;
  }
}

/** A full collection: for a measurement's clean baseline (benchmarks), not for hot paths. */
export function collectGarbage(): void {
  if (collector === undefined) collector = findCollector();
  collector?.();
}

/**
 * A young-generation collection (a scavenge): frees what a Fisher block allocated and dropped,
 * and with those young ArrayBuffers their memory outside the heap. It is what each block ends
 * with. Measured on the reference machine (6,000 × 784, wasm, fresh processes): the same peak
 * memory as a full collection per block (44.1 MB streamed on one thread, 83.5 against 84.1 MB on
 * two), while the full collections, which mark the whole heap with helper threads that take the
 * other core, cost 0.6 s of CPU over ten blocks: the 2-thread build ran 1.85 s against 2.09 s.
 */
export function collectYoungGarbage(): void {
  if (collector === undefined) collector = findCollector();
  collector?.({ type: 'minor' });
}

/**
 * The collection a Fisher block ends with: collectYoungGarbage, except where the products are
 * JavaScript's own float64 gemm (the cpu backend, product.ts). There the block allocates its
 * product results in JavaScript while scavenges run, so many of them have been promoted to the
 * old generation by the time they are dropped, and only a full collection frees them (600 × 784,
 * cpu, one thread: +104 MB peak with scavenges, against +82 MB with full collections, whose cost
 * is small beside the cpu backend's 0.7 s per block).
 */
export function collectAfterBlock(): void {
  if (productEngine() === 'javascript') collectGarbage();
  else collectYoungGarbage();
}

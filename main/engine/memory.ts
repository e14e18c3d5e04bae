import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/**
 * A full garbage collection, on the calling thread (main or worker).
 *
 * Why: the Fisher build allocates and drops tens of MB of typed arrays per block (backend
 * results, float64 work matrices). Their memory lives outside V8's heap, and V8 collects it only
 * once about 64 MB more has accumulated, per thread; with a worker per core that garbage, not
 * the F̂⁻¹ being built, set the peak memory (measured: +100–150 MB per worker). Collecting after
 * each block keeps the peak near what is live. A full collection of these small heaps costs a
 * few milliseconds against a few hundred per block.
 *
 * How: global.gc when node runs with --expose-gc; otherwise the same function obtained by
 * enabling the flag at run time and reading `gc` from a fresh context (as Jest does for its leak
 * detection). Where neither works, nothing happens.
 */
let collector: (() => void) | null | undefined;

function findCollector(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fromContext = vm.runInNewContext('gc') as unknown;
    return typeof fromContext === 'function' ? (fromContext as () => void) : null;
  } catch {
    return null;
  }
}

export function collectGarbage(): void {
  if (collector === undefined) collector = findCollector();
  collector?.();
}

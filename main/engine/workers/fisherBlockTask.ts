import type { Workspace } from '../linalg/workspace.js';
import { fastFisherBlock } from '../linear/fisherFast.js';
import { collectGarbage } from '../memory.js';
import type { FisherBlockSettings } from './fisherMessages.js';

/** What every thread computing blocks of one build shares (all read-only). */
export interface FisherBlockJob extends FisherBlockSettings {
  /** n×d float32 features. */
  features: Float32Array;
  /** n×A float64 per-sample weights w_ja (fisherWeights). */
  weights: Float64Array;
}

/**
 * Block a of F̂⁻¹ into `out` (d×d), on the calling thread: attribute a's weight column, then
 * fastFisherBlock with this thread's reused workspace, then a collection (memory.ts: keeps the
 * thread's peak near its live memory). The same code on every thread, so a block is bit for bit
 * the same wherever it is computed. Returns the seconds it took.
 */
export function computeFisherBlock(job: FisherBlockJob, a: number, out: Float32Array, column: Float64Array, workspace: Workspace): number {
  const t0 = performance.now();
  const { n, A, weights } = job;
  for (let i = 0; i < n; i++) column[i] = weights[i * A + a] as number;
  fastFisherBlock(job.features, n, job.d, column, job.N, job.damping, {
    workspace,
    out,
    ...(job.block !== undefined ? { block: job.block } : {}),
    ...(job.gramPlan !== undefined ? { gramPlan: job.gramPlan } : {}),
  });
  collectGarbage();
  return (performance.now() - t0) / 1e3;
}

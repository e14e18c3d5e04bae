import type { Workspace } from '../linalg/workspace.js';
import type { Curvature } from '../linear/fisher.js';
import { fastFisherBlock } from '../linear/fisherFast.js';
import { fisherWeightColumn } from '../linear/fisherWeights.js';
import { collectAfterBlock } from '../memory.js';
import type { FisherBlockSettings } from './fisherMessages.js';

/** What every thread computing blocks of one build shares (all read-only). */
export interface FisherBlockJob extends FisherBlockSettings {
  /** n×d float32 features. */
  features: Float32Array;
  /** θ, A×d float64, attribute-major: each block's per-sample weights come from its attribute's row. */
  theta: Float64Array;
  /** n×A 0/1 labels. */
  labels: Uint8Array;
  curvature: Curvature;
}

/**
 * Block a of F̂⁻¹ into `out` (d×d), on the calling thread: attribute a's per-sample weights
 * (fisherWeightColumn: column a of fisherWeights, bit for bit, so every thread shares the work of
 * the weights instead of one computing them all first), then fastFisherBlock with this thread's
 * reused workspace, then a collection (collectAfterBlock, memory.ts: keeps the thread's peak near its live memory).
 * The same code on every thread, so a block is bit for bit the same wherever it is computed.
 * Returns the seconds it took.
 */
export function computeFisherBlock(job: FisherBlockJob, a: number, out: Float32Array, column: Float64Array, workspace: Workspace): number {
  const t0 = performance.now();
  const { n, d, A } = job;
  fisherWeightColumn({ d, A, weights: job.theta }, job.features, job.labels, job.curvature, a, column);
  fastFisherBlock(job.features, n, d, column, job.N, job.damping, {
    workspace,
    out,
    ...(job.block !== undefined ? { block: job.block } : {}),
    ...(job.gramPlan !== undefined ? { gramPlan: job.gramPlan } : {}),
  });
  collectAfterBlock();
  return (performance.now() - t0) / 1e3;
}

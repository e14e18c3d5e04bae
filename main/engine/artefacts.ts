import { currentBackend } from './backend.js';
import type { ArtefactCache } from './cache.js';
import type { Dataset } from './data/types.js';
import { ENGINE_VERSION } from './erase.js';
import { SsseError } from './errors.js';
import { sha256Bytes, sha256Json } from './hash.js';
import { fisherInverse, type Curvature, type FisherInverse, type FisherMethod } from './linear/fisher.js';
import { buildFisherIntoCache } from './linear/fisherBuild.js';
import type { LinearModel } from './linear/model.js';
import { trainLinear } from './linear/train.js';
import { report, type PhaseControl } from './progress.js';

/**
 * The stored artefacts of a model, θ* and F̂⁻¹, under the same cache keys as eraseLinear (a test
 * holds the two to each other), so that `ssse calibrate`, `ssse erase` and the results script
 * share one training and one inverse per model.
 */

export interface ModelParameters {
  l2: number;
  damping: number;
  seed: number;
  tolerance: number;
  fisherMethod: FisherMethod;
}

export type CacheStatus = 'hit' | 'miss' | 'off';

export function thetaStarKey(fingerprint: string, d: number, A: number, p: Pick<ModelParameters, 'l2' | 'seed' | 'tolerance'>, backend: string): string {
  return sha256Json({ kind: 'theta-star', v: ENGINE_VERSION, fingerprint, d, A, l2: p.l2, seed: p.seed, tolerance: p.tolerance, backend });
}

export function fisherKey(starSha: string, fingerprint: string, damping: number, curvature: Curvature, method: FisherMethod): string {
  return sha256Json({ kind: 'fisher', v: ENGINE_VERSION, starSha, fingerprint, damping, curvature, method });
}

function backendName(): string {
  const backend = currentBackend();
  if (!backend) throw new SsseError('RESOURCE', 'artefacts: call initBackend() first');
  return backend.name;
}

export interface StoredThetaStar {
  model: LinearModel;
  iterations: number[] | null;
  gradientNorms: number[] | null;
  cache: CacheStatus;
  seconds: number;
}

/** θ* from the cache, or null when it is not stored (never trains). */
export function readThetaStar(cache: ArtefactCache, fingerprint: string, d: number, A: number, p: ModelParameters): StoredThetaStar | null {
  const entry = cache.read<{ iterations: number[]; gradientNorms: number[] }>('theta-star', thetaStarKey(fingerprint, d, A, p, backendName()));
  if (!entry || !(entry.arrays[0] instanceof Float64Array) || entry.arrays[0].length !== d * A) return null;
  return { model: { d, A, weights: entry.arrays[0] }, iterations: entry.meta.iterations, gradientNorms: entry.meta.gradientNorms, cache: 'hit', seconds: 0 };
}

/** F̂⁻¹ from the cache, or null when it is not stored (never computes). */
export function readFisher(cache: ArtefactCache, fingerprint: string, thetaStar: LinearModel, curvature: Curvature, p: ModelParameters): FisherInverse | null {
  const { d, A } = thetaStar;
  const entry = cache.read<Omit<FisherInverse, 'blocks'>>('fisher', fisherKey(sha256Bytes(thetaStar.weights), fingerprint, p.damping, curvature, p.fisherMethod));
  if (!entry || entry.arrays.length !== A || !entry.arrays.every((b) => b instanceof Float32Array && b.length === d * d)) return null;
  return { ...entry.meta, blocks: entry.arrays as Float32Array[] };
}

/** θ*: from the cache when stored there, else trained on the whole training set (and stored). */
export async function obtainThetaStar(dataset: Dataset, fingerprint: string, p: ModelParameters, cache: ArtefactCache | null, control: PhaseControl = {}): Promise<StoredThetaStar> {
  const { d, A } = dataset;
  const t0 = performance.now();
  const stored = cache ? readThetaStar(cache, fingerprint, d, A, p) : null;
  if (stored) {
    report(control, 'train', A, A);
    return stored;
  }
  const n = dataset.train.n;
  const result = await trainLinear(dataset.train.features, dataset.train.labels, n, d, A, { ...control, l2: p.l2, seed: p.seed, tolerance: p.tolerance, phase: 'train' });
  cache?.write('theta-star', thetaStarKey(fingerprint, d, A, p, backendName()), { iterations: result.iterations, gradientNorms: result.gradientNorms }, [result.model.weights]);
  return { model: result.model, iterations: result.iterations, gradientNorms: result.gradientNorms, cache: cache ? 'miss' : 'off', seconds: (performance.now() - t0) / 1e3 };
}

/** F̂⁻¹ of θ* with the given curvature: from the cache when stored, else computed (and stored). */
export async function obtainFisher(
  dataset: Dataset,
  fingerprint: string,
  thetaStar: LinearModel,
  curvature: Curvature,
  p: ModelParameters,
  cache: ArtefactCache | null,
  control: PhaseControl = {},
): Promise<{ fisher: FisherInverse; cache: CacheStatus; seconds: number }> {
  const t0 = performance.now();
  const stored = cache ? readFisher(cache, fingerprint, thetaStar, curvature, p) : null;
  if (stored) {
    report(control, 'fisher', thetaStar.A, thetaStar.A);
    return { fisher: stored, cache: 'hit', seconds: (performance.now() - t0) / 1e3 };
  }
  const options = { ...control, damping: p.damping, curvature, method: p.fisherMethod };
  const { features, labels, n } = dataset.train;
  const fisher = cache
    ? await buildFisherIntoCache(cache, fisherKey(sha256Bytes(thetaStar.weights), fingerprint, p.damping, curvature, p.fisherMethod), thetaStar, features, labels, n, options)
    : await fisherInverse(thetaStar, features, labels, n, options);
  return { fisher, cache: cache ? 'miss' : 'off', seconds: (performance.now() - t0) / 1e3 };
}

import * as path from 'node:path';
import { currentBackend, type BackendInfo } from './backend.js';
import { ArtefactCache } from './cache.js';
import type { Dataset } from './data/types.js';
import { SsseError } from './errors.js';
import { sha256Bytes, sha256Json } from './hash.js';
import { DEFAULT_FISHER_METHOD, type Curvature, type FisherInverse, type FisherMethod } from './linear/fisher.js';
import { buildFisherInverse, buildFisherIntoCache, type FisherPlan } from './linear/fisherBuild.js';
import type { LinearModel } from './linear/model.js';
import { classAccuracyBySplit, type ClassAccuracy, type ClassSplit } from './linear/classAccuracy.js';
import { applyStep, removalGradient, ssseDirection } from './linear/ssseStep.js';
import { leaveKOutDirection } from './linear/downdate.js';
import { refineNewton, StepGradientNorms } from './linear/refine.js';
import { StepMembership } from './linear/stepMembership.js';
import { l2Distance } from './metrics/distance.js';
import { chooseEpsilon, defaultEpsilonGrid, StepEvaluator, type EvalSplit, type SplitAccuracy, type SweepRow } from './linear/sweep.js';
import { trainLinear } from './linear/train.js';
import { report, throwIfCancelled, type PhaseControl } from './progress.js';
import { WorkerPool } from './workers/pool.js';

/** Bumped whenever a change alters what a cached artefact would contain. */
export const ENGINE_VERSION = '0.1.0';

/** `pool`: the command's worker threads (default: a pool of this erasure's own, closed at its end). */
export interface EraseConfig extends PhaseControl {
  l2: number;
  /** λ_F; defaults to l2 at the command line, as in the paper. */
  damping: number;
  seed: number;
  /** The ε applied to θ̂; null lets the sweep choose (needs verify = 'retrain'). */
  epsilon: number | null;
  /** ε values to evaluate; null means the default grid (or just `epsilon` when one is given). */
  epsilonGrid: number[] | null;
  verify: 'retrain' | 'none';
  fisherMethod: FisherMethod;
  curvature: Curvature;
  /** Where θ* and F̂⁻¹ are kept between requests; null disables caching. */
  cacheDir: string | null;
  /** Relative parameter accuracy of training (see trainLinear). */
  tolerance: number;
  /**
   * θ* and/or F̂⁻¹ computed earlier (the audit store's artefacts): used as given, neither trained
   * nor cached. They must fit the dataset (d, A) and, for F̂⁻¹, damping, curvature and method.
   */
  provided?: { thetaStar?: LinearModel; fisher?: FisherInverse };
  /**
   * Leave-k-out: downdate S's own rows out of the stored F̂⁻¹ before the step, so that it uses the
   * curvature of D \ S (linear/downdate.ts defines that matrix exactly). Default false.
   */
  leaveKOut?: boolean;
  /** 'newton': after the step, Newton on L_{−S} from θ̂ to the optimum (reads D \ S). Default 'none'. */
  refine?: 'none' | 'newton';
  /** Where a given ε came from: the command line, or a calibration file. Default 'given'. */
  epsilonSource?: 'given' | 'calibration';
  /**
   * Worker threads beside the calling thread for the Fisher build and for training θ* and θ*₋S
   * (default: one per core beyond the first; training only when large enough to repay them, see
   * defaultTrainWorkers); 0: the calling thread alone.
   */
  fisherWorkers?: number;
  /** Told the Fisher build's storage and memory before it starts. */
  onFisherPlan?: (plan: FisherPlan) => void;
}

export const DEFAULT_CONFIG: Omit<EraseConfig, 'damping'> = {
  l2: 1e-4,
  seed: 0,
  epsilon: null,
  epsilonGrid: null,
  verify: 'retrain',
  fisherMethod: DEFAULT_FISHER_METHOD,
  curvature: 'empirical',
  cacheDir: null,
  tolerance: 1e-6,
};

export interface ModelAccuracy {
  star: SplitAccuracy;
  hat: SplitAccuracy;
  retrained: SplitAccuracy | null;
}

/** summary.json: field names are part of the command line's contract (snake_case). */
export interface EraseSummary {
  engine_version: string;
  dataset: { dir: string; format: string; fingerprint: string; files: { path: string; sha256: string; bytes: number }[] };
  n: number;
  k: number;
  d: number;
  attributes: number;
  attribute_names: string[];
  removed_ids: string[];
  l2: number;
  damping: number;
  seed: number;
  curvature: Curvature;
  fisher_method: FisherMethod;
  verify: 'retrain' | 'none';
  epsilon: number;
  epsilon_rule: 'given' | 'max_gamma_S' | 'min_accuracy_difference';
  gamma_S: number | null;
  normalized_distance: number | null;
  auc: { star: (number | null)[]; hat: (number | null)[]; retrained: (number | null)[] | null };
  accuracy: ModelAccuracy;
  /** Per-class accuracy per split of the three models, when the labels are classes (one attribute per class). */
  class_accuracy: { star: ClassAccuracy; hat: ClassAccuracy; retrained: ClassAccuracy | null } | null;
  sweep: SweepRow[];
  training: { iterations: number[] | null; gradient_norms: number[] | null; tolerance: number };
  retraining: { iterations: number[]; gradient_norms: number[] } | null;
  parameter_sha256: { star: string; hat: string; retrained: string | null };
  cache: { dir: string | null; theta_star: 'hit' | 'miss' | 'off' | 'provided'; fisher: 'hit' | 'miss' | 'off' | 'provided' };
  backend: string;
  backend_provider: string;
  timings_s: { train: number; fisher: number; erase: number; retrain: number | null; evaluate: number; refine?: number | null };
  /** Whether S was downdated out of F̂ (leave-k-out: λ_F·I + (1/(n−k))·Σ_{j∉S} g gᵀ, linear/downdate.ts). */
  leave_k_out?: boolean;
  /** How ε was chosen: by the retraining sweep, given on the command line, or from calibration.json. */
  epsilon_source?: 'sweep' | 'given' | 'calibration';
  /** 'full': D \ S was read (verification, metrics on D \ S); 'removed_only': S and stored artefacts only. */
  data_access?: 'full' | 'removed_only';
  gradient_norm?: GradientNormSummary;
  membership_auc?: MembershipSummary;
  refine?: RefineSummary | null;
}

/**
 * ‖∇L_{−S}‖ over all parameters (float64, on D \ S). L_{−S} is λ-strongly convex, so
 * ‖θ − θ*_{−S}‖ ≤ ‖∇L_{−S}(θ)‖/λ: a certificate of how far θ̂ is from retraining that needs no
 * retrained model. Null where D \ S was not read (an erasure from S and stored artefacts only).
 */
export interface GradientNormSummary {
  theta_star: number | null;
  theta_hat: number | null;
  refined: number | null;
  /** ‖∇L_{−S}(θ̂)‖/λ, the bound on ‖θ̂ − θ*_{−S}‖. */
  theta_hat_distance_bound: number | null;
  /** Per attribute at θ̂ (each block's own bound is its entry / λ). */
  theta_hat_per_attribute: number[] | null;
}

/**
 * AUC of a loss-threshold membership attack telling S (members) from the test split: 0.5 means
 * S looks like unseen data. Null without a test split or without the model.
 */
export interface MembershipSummary {
  star: number | null;
  hat: number | null;
  retrained: number | null;
  refined: number | null;
}

export interface RefineSummary {
  method: 'newton';
  /** Newton iterations per attribute from θ̂ on L_{−S}. */
  iterations: number[];
  iterations_total: number;
  /** The retraining from the seed (--verify retrain), for comparison; null without it. */
  retrain_iterations_total: number | null;
  iterations_saved: number | null;
  gradient_norm_before: number;
  gradient_norm_after: number;
  /** ‖θ_refined − θ*_{−S}‖/‖θ*_{−S}‖ against the retrained model; null without one. */
  relative_distance_to_retrained: number | null;
  parameter_sha256: string;
  seconds: number;
}

export interface EraseOutcome {
  summary: EraseSummary;
  thetaStar: LinearModel;
  thetaHat: LinearModel;
  thetaRetrained: LinearModel | null;
  fisher: FisherInverse;
  /** θ*_{−S} by Newton from θ̂ (--refine newton), else absent or null. */
  thetaRefined?: LinearModel | null;
}

/** Copies the given rows of an n×w row-major matrix. */
export function selectRows<T extends Float32Array | Uint8Array>(src: T, width: number, rows: ArrayLike<number>): T {
  const ctor = src.constructor as new (length: number) => T;
  const out = new ctor(rows.length * width);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r] as number;
    out.set(src.subarray(i * width, (i + 1) * width), r * width);
  }
  return out;
}

function seconds(since: number): number {
  return Math.round((performance.now() - since) / 1e3 * 1e3) / 1e3;
}

/** The fields every summary.json starts with: what was erased from which data, and how. */
export function summaryHeader(
  dataset: Dataset,
  removed: number[],
  fingerprint: string,
  config: Pick<EraseConfig, 'l2' | 'damping' | 'seed' | 'curvature' | 'fisherMethod'>,
): Pick<EraseSummary, 'engine_version' | 'dataset' | 'd' | 'attributes' | 'attribute_names' | 'removed_ids' | 'l2' | 'damping' | 'seed' | 'curvature' | 'fisher_method'> {
  return {
    engine_version: ENGINE_VERSION,
    dataset: { dir: dataset.dir, format: dataset.format, fingerprint, files: dataset.files.map((f) => ({ ...f, path: path.resolve(f.path) })) },
    d: dataset.d,
    attributes: dataset.A,
    attribute_names: dataset.attributeNames,
    removed_ids: removed.map((i) => dataset.ids[i] as string),
    l2: config.l2,
    damping: config.damping,
    seed: config.seed,
    curvature: config.curvature,
    fisher_method: config.fisherMethod,
  };
}

/** The identity of the training data actually used: its features and labels, byte for byte. */
export function datasetFingerprint(dataset: Dataset): string {
  return sha256Bytes(dataset.train.features, dataset.train.labels);
}

function checkProvidedStar(model: LinearModel, d: number, A: number): LinearModel {
  if (model.d !== d || model.A !== A || model.weights.length !== d * A) {
    throw new SsseError('BAD_ARGUMENT', `eraseLinear: the provided θ* is ${model.d}×${model.A} (${model.weights.length} values), the dataset needs d×A = ${d}×${A}`);
  }
  return model;
}

function checkProvidedFisher(fisher: FisherInverse, d: number, A: number, config: EraseConfig): FisherInverse {
  if (fisher.d !== d || fisher.A !== A || fisher.blocks.length !== A || fisher.blocks.some((b) => b.length !== d * d)) {
    throw new SsseError('BAD_ARGUMENT', `eraseLinear: the provided F̂⁻¹ has ${fisher.blocks.length} blocks for d = ${fisher.d}, A = ${fisher.A}; the dataset needs ${A} blocks of ${d}×${d}`);
  }
  const mismatch = [
    fisher.damping !== config.damping ? `damping ${fisher.damping} (asked ${config.damping})` : null,
    fisher.curvature !== config.curvature ? `curvature ${fisher.curvature} (asked ${config.curvature})` : null,
    fisher.method !== config.fisherMethod ? `method ${fisher.method} (asked ${config.fisherMethod})` : null,
  ].filter((m) => m !== null);
  if (mismatch.length > 0) throw new SsseError('BAD_ARGUMENT', `eraseLinear: the provided F̂⁻¹ was computed with ${mismatch.join(', ')}`);
  return fisher;
}

/**
 * One erasure request on the paper's linear model, from data to verdict:
 * θ* (trained, or from the cache) → F̂⁻¹ (computed, or from the cache) → the SSSE step from S's
 * rows alone → optionally θ*_{−S} retrained from scratch with the same routine and seed → the
 * ε sweep and every metric of SSSE.md.
 */
export async function eraseLinear(dataset: Dataset, removed: number[], config: EraseConfig): Promise<EraseOutcome> {
  const n = dataset.train.n;
  const k = removed.length;
  if (k === 0) throw new SsseError('BAD_REQUEST', 'the removal request is empty (k = 0)');
  if (k >= n) throw new SsseError('BAD_REQUEST', `the removal request names ${k} of n = ${n} samples; at least one must remain (k < n)`);
  if (config.epsilon === null && config.verify !== 'retrain') {
    throw new SsseError('BAD_ARGUMENT', '--epsilon: choosing ε by a sweep needs --verify retrain; give --epsilon E to erase without retraining');
  }
  const backend = currentBackend();
  if (!backend) throw new SsseError('RESOURCE', 'eraseLinear: call initBackend() first');
  // One set of worker threads for training θ*, building F̂⁻¹ and retraining: started once (or the command's).
  const pool = config.pool ?? new WorkerPool(backend.name);
  try {
    return await erasePipeline(dataset, removed, config, backend, pool);
  } finally {
    if (!config.pool) await pool.close();
  }
}

async function erasePipeline(dataset: Dataset, removed: number[], config: EraseConfig, backend: BackendInfo, pool: WorkerPool): Promise<EraseOutcome> {
  const { d, A } = dataset;
  const n = dataset.train.n;
  const k = removed.length;
  const fingerprint = datasetFingerprint(dataset);
  const cache = config.cacheDir ? new ArtefactCache(config.cacheDir) : null;
  const { features, labels } = dataset.train;
  // --workers governs training too; the result is the same on any number of threads.
  const threads = { pool, ...(config.fisherWorkers !== undefined ? { workers: config.fisherWorkers } : {}) };

  // θ*: trained once per (data, λ, seed, tolerance, backend) and kept.
  const starKey = sha256Json({ kind: 'theta-star', v: ENGINE_VERSION, fingerprint, d, A, l2: config.l2, seed: config.seed, tolerance: config.tolerance, backend: backend.name });
  let t0 = performance.now();
  let thetaStar: LinearModel;
  let training: EraseSummary['training'] = { iterations: null, gradient_norms: null, tolerance: config.tolerance };
  let starCache: EraseSummary['cache']['theta_star'] = cache ? 'miss' : 'off';
  const cachedStar = cache?.read<{ iterations: number[]; gradientNorms: number[] }>('theta-star', starKey);
  if (config.provided?.thetaStar) {
    thetaStar = checkProvidedStar(config.provided.thetaStar, d, A);
    starCache = 'provided';
    report(config, 'train', A, A);
  } else if (cachedStar && cachedStar.arrays[0] instanceof Float64Array && cachedStar.arrays[0].length === d * A) {
    thetaStar = { d, A, weights: cachedStar.arrays[0] };
    training = { iterations: cachedStar.meta.iterations, gradient_norms: cachedStar.meta.gradientNorms, tolerance: config.tolerance };
    starCache = 'hit';
    report(config, 'train', A, A);
  } else {
    const result = await trainLinear(features, labels, n, d, A, { ...config, l2: config.l2, seed: config.seed, tolerance: config.tolerance, phase: 'train', ...threads });
    thetaStar = result.model;
    training = { iterations: result.iterations, gradient_norms: result.gradientNorms, tolerance: config.tolerance };
    cache?.write('theta-star', starKey, { iterations: result.iterations, gradientNorms: result.gradientNorms }, [thetaStar.weights]);
  }
  const trainSeconds = seconds(t0);
  const starSha = sha256Bytes(thetaStar.weights);

  // F̂⁻¹: computed once per (θ*, data, λ_F, curvature, method) and kept.
  t0 = performance.now();
  const fisherKey = sha256Json({ kind: 'fisher', v: ENGINE_VERSION, starSha, fingerprint, damping: config.damping, curvature: config.curvature, method: config.fisherMethod });
  let fisher: FisherInverse;
  let fisherCache: EraseSummary['cache']['fisher'] = cache ? 'miss' : 'off';
  const cachedFisher = cache?.read<Omit<FisherInverse, 'blocks'>>('fisher', fisherKey);
  if (config.provided?.fisher) {
    fisher = checkProvidedFisher(config.provided.fisher, d, A, config);
    fisherCache = 'provided';
    report(config, 'fisher', A, A);
  } else if (cachedFisher && cachedFisher.arrays.length === A && cachedFisher.arrays.every((b) => b instanceof Float32Array && b.length === d * d)) {
    fisher = { ...cachedFisher.meta, blocks: cachedFisher.arrays as Float32Array[] };
    fisherCache = 'hit';
    report(config, 'fisher', A, A);
  } else {
    const buildOptions = {
      ...config,
      damping: config.damping,
      curvature: config.curvature,
      method: config.fisherMethod,
      ...threads,
      ...(config.onFisherPlan ? { onPlan: config.onFisherPlan } : {}),
    };
    fisher = cache
      ? await buildFisherIntoCache(cache, fisherKey, thetaStar, features, labels, n, buildOptions)
      : await buildFisherInverse(thetaStar, features, labels, n, buildOptions);
  }
  const fisherSeconds = seconds(t0);
  throwIfCancelled(config, 'erasure');

  // The step itself: S's rows only.
  t0 = performance.now();
  const removedFeatures = selectRows(features, d, removed);
  const removedLabels = selectRows(labels, A, removed);
  const gradient = removalGradient(thetaStar, removedFeatures, removedLabels, config.l2);
  const direction = config.leaveKOut
    ? leaveKOutDirection(fisher, thetaStar, removedFeatures, removedLabels, gradient, n, config)
    : ssseDirection(fisher, gradient, n, k);
  report(config, 'erase', 1, 1);
  const eraseSeconds = seconds(t0);

  // The gold standard: retrained from scratch on D \ S with the same routine and seed.
  const removedSet = new Set(removed);
  const retainedRows: number[] = [];
  for (let i = 0; i < n; i++) if (!removedSet.has(i)) retainedRows.push(i);
  const retainedFeatures = selectRows(features, d, retainedRows);
  const retainedLabels = selectRows(labels, A, retainedRows);
  let thetaRetrained: LinearModel | null = null;
  let retraining: EraseSummary['retraining'] = null;
  let retrainSeconds: number | null = null;
  if (config.verify === 'retrain') {
    t0 = performance.now();
    const result = await trainLinear(retainedFeatures, retainedLabels, n - k, d, A, { ...config, l2: config.l2, seed: config.seed, tolerance: config.tolerance, phase: 'retrain', ...threads });
    thetaRetrained = result.model;
    retraining = { iterations: result.iterations, gradient_norms: result.gradientNorms };
    retrainSeconds = seconds(t0);
  }

  // The sweep and the metrics.
  t0 = performance.now();
  const split = (f: Float32Array, l: Uint8Array, m: number): EvalSplit => ({ features: f, labels: l, n: m });
  const evaluator = new StepEvaluator(thetaStar, direction, thetaRetrained, {
    removed: split(removedFeatures, removedLabels, k),
    retained: split(retainedFeatures, retainedLabels, n - k),
    test: dataset.test ? split(dataset.test.features, dataset.test.labels, dataset.test.n) : null,
  });
  const grid = config.epsilonGrid ?? (config.epsilon !== null ? [config.epsilon] : defaultEpsilonGrid());
  const sweep: SweepRow[] = [];
  for (let i = 0; i < grid.length; i++) {
    throwIfCancelled(config, 'sweep');
    sweep.push(evaluator.evaluate(grid[i] as number));
    report(config, 'sweep', i + 1, grid.length);
  }
  let epsilon: number;
  let rule: EraseSummary['epsilon_rule'];
  if (config.epsilon !== null) {
    epsilon = config.epsilon;
    rule = 'given';
  } else {
    const chosen = chooseEpsilon(sweep);
    epsilon = chosen.row.epsilon;
    rule = chosen.rule;
  }
  const thetaHat = applyStep(thetaStar, direction, epsilon);
  const applied = sweep.find((r) => r.epsilon === epsilon) ?? evaluator.evaluate(epsilon);
  let classAccuracy: EraseSummary['class_accuracy'] = null;
  const classIds = dataset.train.classIds;
  if (classIds && dataset.numClasses === A) {
    const pick = (rows: number[]) => Int32Array.from(rows, (r) => classIds[r] as number);
    const testIds = dataset.test?.classIds ?? null;
    const splits: Record<'removed' | 'retained' | 'test', ClassSplit | null> = {
      removed: { features: removedFeatures, classIds: pick(removed), n: k },
      retained: { features: retainedFeatures, classIds: pick(retainedRows), n: n - k },
      test: dataset.test && testIds ? { features: dataset.test.features, classIds: testIds, n: dataset.test.n } : null,
    };
    classAccuracy = {
      star: classAccuracyBySplit(thetaStar, splits),
      hat: classAccuracyBySplit(thetaHat, splits),
      retrained: thetaRetrained ? classAccuracyBySplit(thetaRetrained, splits) : null,
    };
  }
  const evaluateSeconds = seconds(t0);

  // Optimality on D \ S, membership inference, and the optional exact refinement.
  const extras = await erasureExtras(config, {
    thetaStar,
    direction,
    thetaHat,
    epsilon,
    thetaRetrained,
    retrainIterations: retraining ? retraining.iterations : null,
    removed: split(removedFeatures, removedLabels, k),
    retained: split(retainedFeatures, retainedLabels, n - k),
    test: dataset.test ? split(dataset.test.features, dataset.test.labels, dataset.test.n) : null,
    sweep,
  });

  const summary: EraseSummary = {
    ...summaryHeader(dataset, removed, fingerprint, config),
    n,
    k,
    verify: config.verify,
    epsilon,
    epsilon_rule: rule,
    gamma_S: applied.gamma_S,
    normalized_distance: applied.normalized_distance,
    auc: { star: evaluator.aucStar, hat: evaluator.aucHat(epsilon), retrained: evaluator.aucRetrained },
    accuracy: { star: evaluator.accuracyStar, hat: applied.accuracy, retrained: evaluator.accuracyRetrained },
    class_accuracy: classAccuracy,
    sweep,
    training,
    retraining,
    parameter_sha256: { star: starSha, hat: sha256Bytes(thetaHat.weights), retrained: thetaRetrained ? sha256Bytes(thetaRetrained.weights) : null },
    cache: { dir: config.cacheDir, theta_star: starCache, fisher: fisherCache },
    backend: backend.name,
    backend_provider: backend.provider,
    timings_s: { train: trainSeconds, fisher: fisherSeconds, erase: eraseSeconds, retrain: retrainSeconds, evaluate: evaluateSeconds, refine: extras.refineSeconds },
    leave_k_out: Boolean(config.leaveKOut),
    epsilon_source: config.epsilon === null ? 'sweep' : (config.epsilonSource ?? 'given'),
    data_access: 'full',
    gradient_norm: extras.gradientNorm,
    membership_auc: extras.membership,
    refine: extras.refine,
  };
  return { summary, thetaStar, thetaHat, thetaRetrained, fisher, thetaRefined: extras.thetaRefined };
}

interface ExtrasInput {
  thetaStar: LinearModel;
  direction: Float64Array;
  thetaHat: LinearModel;
  epsilon: number;
  thetaRetrained: LinearModel | null;
  retrainIterations: number[] | null;
  removed: EvalSplit;
  retained: EvalSplit;
  test: EvalSplit | null;
  /** Rows get gradient_norm and membership_auc added in place. */
  sweep: SweepRow[];
}

/**
 * The measurements added by the "beyond the paper" issue, on top of eraseLinear's: ‖∇L_{−S}‖ at
 * θ*, θ̂ (and each swept ε), the membership AUC of θ*, θ̂ (each ε), θ*_{−S}, and Newton refinement.
 */
async function erasureExtras(
  config: EraseConfig,
  input: ExtrasInput,
): Promise<{ gradientNorm: GradientNormSummary; membership: MembershipSummary; refine: RefineSummary | null; thetaRefined: LinearModel | null; refineSeconds: number | null }> {
  const { thetaStar, direction, retained, removed, test } = input;
  const grads = new StepGradientNorms(thetaStar, direction, retained.features, retained.labels, retained.n, config.l2);
  const member = test ? new StepMembership(thetaStar, direction, removed, test) : null;
  for (const row of input.sweep) {
    throwIfCancelled(config, 'sweep');
    row.gradient_norm = grads.at(row.epsilon).total;
    row.membership_auc = member ? member.at(row.epsilon) : null;
  }
  const atHat = grads.at(input.epsilon);
  let refine: RefineSummary | null = null;
  let thetaRefined: LinearModel | null = null;
  let refineSeconds: number | null = null;
  if (config.refine === 'newton') {
    const t0 = performance.now();
    const result = await refineNewton(input.thetaHat, retained.features, retained.labels, retained.n, {
      signal: config.signal,
      onProgress: config.onProgress,
      l2: config.l2,
      seed: config.seed,
      tolerance: config.tolerance,
    });
    refineSeconds = seconds(t0);
    thetaRefined = result.model;
    const total = result.iterations.reduce((s, v) => s + v, 0);
    const fromSeed = input.retrainIterations ? input.retrainIterations.reduce((s, v) => s + v, 0) : null;
    refine = {
      method: 'newton',
      iterations: result.iterations,
      iterations_total: total,
      retrain_iterations_total: fromSeed,
      iterations_saved: fromSeed === null ? null : fromSeed - total,
      gradient_norm_before: result.before.total,
      gradient_norm_after: result.after.total,
      relative_distance_to_retrained: input.thetaRetrained
        ? l2Distance(result.model.weights, input.thetaRetrained.weights) / l2Distance(input.thetaRetrained.weights, new Float64Array(input.thetaRetrained.weights.length))
        : null,
      parameter_sha256: sha256Bytes(result.model.weights),
      seconds: refineSeconds,
    };
  }
  return {
    gradientNorm: {
      theta_star: grads.at(0).total,
      theta_hat: atHat.total,
      refined: refine ? refine.gradient_norm_after : null,
      theta_hat_distance_bound: atHat.total / config.l2,
      theta_hat_per_attribute: atHat.perAttribute,
    },
    membership: {
      star: member ? member.at(0) : null,
      hat: member ? member.at(input.epsilon) : null,
      retrained: member && input.thetaRetrained ? member.of(input.thetaRetrained) : null,
      refined: member && thetaRefined ? member.of(thetaRefined) : null,
    },
    refine,
    thetaRefined,
    refineSeconds,
  };
}

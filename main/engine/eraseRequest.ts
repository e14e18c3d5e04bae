import { readFisher, readThetaStar, type ModelParameters } from './artefacts.js';
import { currentBackend } from './backend.js';
import { ArtefactCache } from './cache.js';
import type { Dataset } from './data/types.js';
import { selectRows, summaryHeader, type EraseConfig, type EraseOutcome, type EraseSummary } from './erase.js';
import { SsseError } from './errors.js';
import { sha256Bytes } from './hash.js';
import { classAccuracyBySplit, type ClassSplit } from './linear/classAccuracy.js';
import { leaveKOutDirection } from './linear/downdate.js';
import type { LinearModel } from './linear/model.js';
import { applyStep, removalGradient, ssseDirection } from './linear/ssseStep.js';
import { StepMembership } from './linear/stepMembership.js';
import { StepEvaluator, type EvalSplit } from './linear/sweep.js';
import { report, throwIfCancelled } from './progress.js';

/**
 * An erasure request that touches S and the stored artefacts only: SSSE's promise. θ* and F̂⁻¹
 * are read from the cache under the model's identity (`modelFingerprint`, recorded when the model
 * was calibrated), never recomputed: computing them would read the whole training set. ε is
 * given (from calibration.json); no retraining, no metric on D \ S. The training rows read are
 * exactly S's, through selectRows (a test hands it a dataset that throws on any other row).
 *
 * What is measured without D \ S: accuracy and per-attribute AUC on S and on the test split,
 * and the membership-inference AUC of θ* and θ̂ (S against the test split).
 */
export interface RequestOnlyConfig extends EraseConfig {
  /** The model's dataset fingerprint as recorded at calibration (not recomputed from the data). */
  modelFingerprint: string;
}

/** Per-class accuracy on S and on the test split only (D \ S is never read here). */
function classAccuracyOnSAndTest(dataset: Dataset, removed: number[], removedFeatures: Float32Array, star: LinearModel, hat: LinearModel): EraseSummary['class_accuracy'] {
  const classIds = dataset.train.classIds;
  if (!classIds || dataset.numClasses !== dataset.A) return null;
  const testIds = dataset.test?.classIds ?? null;
  const splits: Record<'removed' | 'retained' | 'test', ClassSplit | null> = {
    removed: { features: removedFeatures, classIds: Int32Array.from(removed, (r) => classIds[r] as number), n: removed.length },
    retained: null,
    test: dataset.test && testIds ? { features: dataset.test.features, classIds: testIds, n: dataset.test.n } : null,
  };
  return { star: classAccuracyBySplit(star, splits), hat: classAccuracyBySplit(hat, splits), retrained: null };
}

function seconds(since: number): number {
  return Math.round(performance.now() - since) / 1e3;
}

export async function eraseFromStoredModel(dataset: Dataset, removed: number[], config: RequestOnlyConfig): Promise<EraseOutcome> {
  const { d, A } = dataset;
  const n = dataset.train.n;
  const k = removed.length;
  if (k === 0) throw new SsseError('BAD_REQUEST', 'the removal request is empty (k = 0)');
  if (k >= n) throw new SsseError('BAD_REQUEST', `the removal request names ${k} of n = ${n} samples; at least one must remain (k < n)`);
  if (config.epsilon === null) throw new SsseError('BAD_ARGUMENT', 'an erasure from stored artefacts needs ε (--epsilon-from or --epsilon)');
  if (config.verify !== 'none' || (config.refine ?? 'none') !== 'none') {
    throw new SsseError('BAD_ARGUMENT', 'an erasure from S alone cannot retrain or refine (both read D \\ S): use --verify none without --refine');
  }
  if (!config.cacheDir) throw new SsseError('BAD_ARGUMENT', '--no-cache: an erasure from S alone needs the stored θ* and F̂⁻¹ (--cache-dir)');
  const backend = currentBackend();
  if (!backend) throw new SsseError('RESOURCE', 'eraseFromStoredModel: call initBackend() first');
  const cache = new ArtefactCache(config.cacheDir);
  const params: ModelParameters = { l2: config.l2, damping: config.damping, seed: config.seed, tolerance: config.tolerance, fisherMethod: config.fisherMethod };
  const fingerprint = config.modelFingerprint;

  let t0 = performance.now();
  const star = readThetaStar(cache, fingerprint, d, A, params);
  if (!star) {
    throw new SsseError('BAD_REQUEST', `${config.cacheDir}: θ* of this model is not stored here; certify the model first (ssse calibrate with this --cache-dir): an erasure from S alone never trains`);
  }
  report(config, 'train', A, A);
  const trainSeconds = seconds(t0);
  t0 = performance.now();
  const fisher = readFisher(cache, fingerprint, star.model, config.curvature, params);
  if (!fisher) {
    throw new SsseError('BAD_REQUEST', `${config.cacheDir}: F̂⁻¹ (${config.curvature} curvature) of this model is not stored here; certify the model first (ssse calibrate with this --cache-dir)`);
  }
  report(config, 'fisher', A, A);
  const fisherSeconds = seconds(t0);
  throwIfCancelled(config, 'erasure');

  t0 = performance.now();
  const thetaStar = star.model;
  const removedFeatures = selectRows(dataset.train.features, d, removed);
  const removedLabels = selectRows(dataset.train.labels, A, removed);
  const gradient = removalGradient(thetaStar, removedFeatures, removedLabels, config.l2);
  const direction = config.leaveKOut
    ? leaveKOutDirection(fisher, thetaStar, removedFeatures, removedLabels, gradient, n, config)
    : ssseDirection(fisher, gradient, n, k);
  const epsilon = config.epsilon;
  const thetaHat = applyStep(thetaStar, direction, epsilon);
  report(config, 'erase', 1, 1);
  const eraseSeconds = seconds(t0);

  t0 = performance.now();
  const removedSplit: EvalSplit = { features: removedFeatures, labels: removedLabels, n: k };
  const test: EvalSplit | null = dataset.test ? { features: dataset.test.features, labels: dataset.test.labels, n: dataset.test.n } : null;
  const none: EvalSplit = { features: new Float32Array(0), labels: new Uint8Array(0), n: 0 };
  const evaluator = new StepEvaluator(thetaStar, direction, null, { removed: removedSplit, retained: none, test });
  const row = evaluator.evaluate(epsilon);
  const member = test ? new StepMembership(thetaStar, direction, removedSplit, test) : null;
  row.gradient_norm = null;
  row.membership_auc = member ? member.at(epsilon) : null;
  const evaluateSeconds = seconds(t0);

  const summary: EraseSummary = {
    ...summaryHeader(dataset, removed, fingerprint, config),
    n,
    k,
    verify: 'none',
    epsilon,
    epsilon_rule: 'given',
    gamma_S: null,
    normalized_distance: null,
    auc: { star: evaluator.aucStar, hat: evaluator.aucHat(epsilon), retrained: null },
    accuracy: { star: evaluator.accuracyStar, hat: row.accuracy, retrained: null },
    sweep: [row],
    training: { iterations: star.iterations, gradient_norms: star.gradientNorms, tolerance: config.tolerance },
    retraining: null,
    parameter_sha256: { star: sha256Bytes(thetaStar.weights), hat: sha256Bytes(thetaHat.weights), retrained: null },
    cache: { dir: config.cacheDir, theta_star: 'hit', fisher: 'hit' },
    backend: backend.name,
    backend_provider: backend.provider,
    timings_s: { train: trainSeconds, fisher: fisherSeconds, erase: eraseSeconds, retrain: null, evaluate: evaluateSeconds, refine: null },
    leave_k_out: Boolean(config.leaveKOut),
    epsilon_source: config.epsilonSource ?? 'given',
    data_access: 'removed_only',
    gradient_norm: { theta_star: null, theta_hat: null, refined: null, theta_hat_distance_bound: null, theta_hat_per_attribute: null },
    membership_auc: { star: member ? member.at(0) : null, hat: row.membership_auc, retrained: null, refined: null },
    refine: null,
    class_accuracy: classAccuracyOnSAndTest(dataset, removed, removedFeatures, thetaStar, thetaHat),
  };
  return { summary, thetaStar, thetaHat, thetaRetrained: null, fisher, thetaRefined: null };
}

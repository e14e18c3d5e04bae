import { obtainFisher, obtainThetaStar, type ModelParameters } from './artefacts.js';
import { currentBackend } from './backend.js';
import { ArtefactCache } from './cache.js';
import { randomRemoval } from './data/removal.js';
import type { Dataset } from './data/types.js';
import { datasetFingerprint, ENGINE_VERSION, selectRows } from './erase.js';
import { SsseError } from './errors.js';
import { sha256Bytes } from './hash.js';
import {
  ALL_SETTINGS,
  argmaxDefined,
  attributeRemoval,
  chooseCalibratedEpsilon,
  meanCurve,
  trialBestIndex,
  settingName,
  type EpsilonChoice,
  type RemovalSpec,
  type StepSetting,
} from './linear/calibrate.js';
import { leaveKOutDirection } from './linear/downdate.js';
import { DEFAULT_FISHER_METHOD, type Curvature, type FisherInverse, type FisherMethod } from './linear/fisher.js';
import type { LinearModel } from './linear/model.js';
import { removalGradient, ssseDirection } from './linear/ssseStep.js';
import { defaultEpsilonGrid, StepEvaluator, type EvalSplit } from './linear/sweep.js';
import { trainLinear } from './linear/train.js';
import { report, throwIfCancelled, type RunControl } from './progress.js';
import { mulberry32 } from './data/random.js';
import { WorkerPool } from './workers/pool.js';

/**
 * `ssse calibrate`: pick ε once per curvature setting from simulated removals, so that later
 * requests erase with no retraining at all (`ssse erase --epsilon-from calibration.json`).
 *
 * For each removal fraction f: `trials` random subsets of round(f·n) rows and, where the labels
 * allow, `trials` subsets of the same size drawn from one attribute's positives (one class, for
 * class labels). Each is retrained once; every setting's step is evaluated over the ε grid
 * against it, and the ε with the largest mean γ_S over all trials is kept per setting.
 *
 * The retraining for a trial is Newton on L_{−S} warm-started from θ* (trainLinear with
 * initialWeights) instead of the seed's random start. The objective is strictly convex and
 * trainLinear stops only once ‖∇L_{−S}‖ ≤ tolerance·λ·‖w‖, which bounds ‖w − θ*_{−S}‖/‖w‖ by the
 * tolerance whatever the start: the same θ*_{−S} as a retraining from the seed, for a fraction of
 * the iterations.
 */

export interface CalibrateConfig extends RunControl {
  l2: number;
  damping: number;
  seed: number;
  tolerance: number;
  fisherMethod: FisherMethod;
  cacheDir: string | null;
  /** Trials per (fraction, kind) group. */
  trials: number;
  fractions: number[];
  grid: number[];
  settings: readonly StepSetting[];
  /** Also simulate removals from one attribute's positives (where some attribute has enough). */
  attributeRemovals: boolean;
  /** Seed of the first simulated removal; the others count up from it. */
  trialSeed: number;
}

export const DEFAULT_CALIBRATE: Omit<CalibrateConfig, 'damping'> = {
  l2: 1e-4,
  seed: 0,
  tolerance: 1e-6,
  fisherMethod: DEFAULT_FISHER_METHOD,
  cacheDir: null,
  trials: 3,
  fractions: [0.01, 0.02, 0.05],
  grid: defaultEpsilonGrid(),
  settings: ALL_SETTINGS,
  attributeRemovals: true,
  trialSeed: 1000,
};

export interface TrialCurve {
  setting: string;
  curvature: Curvature;
  leave_k_out: boolean;
  /** γ_S at each ε of the grid (null where undefined). */
  gamma_S: (number | null)[];
  normalized_distance: (number | null)[];
  /** Mean over the splits (S, D \\ S, test) of |acc(θ̂_ε) − acc(θ*_{−S})| at each ε. */
  mean_abs_accuracy_difference: (number | null)[];
  /** The trial's own best ε: the largest γ_S, else (γ_S undefined) the smallest accuracy difference. */
  best_rule: 'max_gamma_S' | 'min_accuracy_difference' | null;
  best_epsilon: number | null;
  best_gamma_S: number | null;
}

export interface CalibrationTrial {
  removal: RemovalSpec;
  retrain: { iterations: number[]; gradient_norms: number[]; warm_start: 'theta_star'; seconds: number };
  curves: TrialCurve[];
}

export interface GroupStability {
  kind: RemovalSpec['kind'];
  fraction: number;
  trials: number;
  /** The best ε of this group's own mean curves, by SSSE.md's rule (γ_S, else accuracy difference). */
  rule: 'max_gamma_S' | 'min_accuracy_difference' | null;
  best_epsilon: number | null;
  best_mean_gamma_S: number | null;
  /** The group's mean γ_S and mean accuracy difference at the calibrated (all-trial) ε. */
  mean_gamma_S_at_calibrated: number | null;
  mean_accuracy_difference_at_calibrated: number | null;
}

export interface SettingCalibration extends EpsilonChoice {
  setting: string;
  curvature: Curvature;
  leave_k_out: boolean;
  /** Whether one ε serves every removal kind and rate: each group's own best ε next to the shared one. */
  groups: GroupStability[];
}

/** calibration.json: field names are part of the command line's contract (snake_case). */
export interface CalibrationReport {
  format: 'ssse-calibration/1';
  engine_version: string;
  dataset: { dir: string; format: string; fingerprint: string; n: number; d: number; attributes: number; attribute_names: string[] };
  model: { l2: number; damping: number; seed: number; tolerance: number; fisher_method: FisherMethod; backend: string; theta_star_sha256: string };
  grid: number[];
  fractions: number[];
  trials_per_group: number;
  trial_seed: number;
  /** Groups that could not be simulated, and why (e.g. no attribute with enough positives). */
  skipped: string[];
  settings: SettingCalibration[];
  trials: CalibrationTrial[];
  timings_s: { train: number; fisher: number; trials: number };
}

function checkConfig(config: CalibrateConfig, n: number): void {
  if (!(Number.isInteger(config.trials) && config.trials >= 1)) throw new SsseError('BAD_ARGUMENT', `--trials: expected a whole number ≥ 1, got ${config.trials}`);
  if (config.fractions.length === 0) throw new SsseError('BAD_ARGUMENT', '--fractions: expected at least one fraction');
  for (const f of config.fractions) {
    if (!(f > 0 && f < 1)) throw new SsseError('BAD_ARGUMENT', `--fractions: ${f} is not a fraction between 0 and 1`);
    const k = Math.max(1, Math.round(f * n));
    if (k >= n) throw new SsseError('BAD_ARGUMENT', `--fractions: ${f} of n = ${n} leaves no training sample`);
  }
  if (config.grid.length === 0 || config.grid.some((e) => !(e >= 0) || !Number.isFinite(e))) throw new SsseError('BAD_ARGUMENT', '--epsilon-sweep: expected numbers ≥ 0');
  if (config.settings.length === 0) throw new SsseError('BAD_ARGUMENT', 'calibrate: no curvature setting to calibrate');
}

/** The removal specs, in order: for each fraction, `trials` random then `trials` one-attribute subsets. */
export function plannedRemovals(dataset: Dataset, config: Pick<CalibrateConfig, 'trials' | 'fractions' | 'attributeRemovals' | 'trialSeed'>): { removals: { spec: RemovalSpec; rows: number[] }[]; skipped: string[] } {
  const n = dataset.train.n;
  const { A } = dataset;
  const positives = new Array<number>(A).fill(0);
  for (let i = 0; i < n; i++) for (let a = 0; a < A; a++) positives[a] = (positives[a] as number) + (dataset.train.labels[i * A + a] as number);
  const removals: { spec: RemovalSpec; rows: number[] }[] = [];
  const skipped: string[] = [];
  let seed = config.trialSeed;
  for (const fraction of config.fractions) {
    const k = Math.max(1, Math.round(fraction * n));
    for (let t = 0; t < config.trials; t++, seed++) {
      removals.push({ spec: { kind: 'random', fraction, seed, attribute: null, k }, rows: randomRemoval(n, k, seed) });
    }
    if (!config.attributeRemovals) continue;
    const eligible = positives.map((p, a) => (p >= k ? a : -1)).filter((a) => a >= 0);
    if (eligible.length === 0) {
      skipped.push(`one-attribute removals of ${fraction} (k = ${k}): no attribute has ${k} positive training samples`);
      seed += config.trials;
      continue;
    }
    for (let t = 0; t < config.trials; t++, seed++) {
      const a = eligible[Math.floor(mulberry32(seed)() * eligible.length)] as number;
      removals.push({ spec: { kind: 'attribute', fraction, seed, attribute: a, k }, rows: attributeRemoval(dataset.train.labels, n, A, a, k, seed) });
    }
  }
  return { removals, skipped };
}

/** The SSSE direction of one setting for the removed rows (plain F̂⁻¹ or leave-k-out). */
export function settingDirection(
  setting: StepSetting,
  fisher: FisherInverse,
  thetaStar: LinearModel,
  removedFeatures: Float32Array,
  removedLabels: Uint8Array,
  gradient: Float64Array,
  n: number,
  control?: RunControl,
): Float64Array {
  const k = removedFeatures.length / thetaStar.d;
  return setting.leaveKOut
    ? leaveKOutDirection(fisher, thetaStar, removedFeatures, removedLabels, gradient, n, control)
    : ssseDirection(fisher, gradient, n, k);
}

/** Runs the calibration; writes nothing (the caller writes calibration.json). */
export async function calibrate(dataset: Dataset, config: CalibrateConfig): Promise<CalibrationReport> {
  const n = dataset.train.n;
  checkConfig(config, n);
  const backend = currentBackend();
  if (!backend) throw new SsseError('RESOURCE', 'calibrate: call initBackend() first');
  // One set of worker threads for θ*, F̂⁻¹ and every trial's retraining: started once.
  const pool = new WorkerPool(backend.name);
  try {
    return await calibrateWith(dataset, { ...config, pool });
  } finally {
    await pool.close();
  }
}

async function calibrateWith(dataset: Dataset, config: CalibrateConfig & { pool: WorkerPool }): Promise<CalibrationReport> {
  const { d, A } = dataset;
  const n = dataset.train.n;
  const fingerprint = datasetFingerprint(dataset);
  const cache = config.cacheDir ? new ArtefactCache(config.cacheDir) : null;
  const params: ModelParameters = { l2: config.l2, damping: config.damping, seed: config.seed, tolerance: config.tolerance, fisherMethod: config.fisherMethod };

  let t0 = performance.now();
  const star = await obtainThetaStar(dataset, fingerprint, params, cache, config);
  const trainSeconds = (performance.now() - t0) / 1e3;
  t0 = performance.now();
  const fishers = new Map<Curvature, FisherInverse>();
  for (const s of config.settings) {
    if (!fishers.has(s.curvature)) fishers.set(s.curvature, (await obtainFisher(dataset, fingerprint, star.model, s.curvature, params, cache, config)).fisher);
  }
  const fisherSeconds = (performance.now() - t0) / 1e3;

  const { removals, skipped } = plannedRemovals(dataset, config);
  const { features, labels } = dataset.train;
  const test: EvalSplit | null = dataset.test ? { features: dataset.test.features, labels: dataset.test.labels, n: dataset.test.n } : null;
  const trials: CalibrationTrial[] = [];
  t0 = performance.now();
  report(config, 'calibrate', 0, removals.length);
  for (const [index, { spec, rows }] of removals.entries()) {
    throwIfCancelled(config, 'calibrate');
    const k = rows.length;
    const removedSet = new Set(rows);
    const kept: number[] = [];
    for (let i = 0; i < n; i++) if (!removedSet.has(i)) kept.push(i);
    const sF = selectRows(features, d, rows);
    const sL = selectRows(labels, A, rows);
    const rF = selectRows(features, d, kept);
    const rL = selectRows(labels, A, kept);
    const tr = performance.now();
    const retrained = await trainLinear(rF, rL, n - k, d, A, {
      signal: config.signal,
      // One bar for the whole calibration: a trial's retraining is most of its time.
      onProgress: (e) => report(config, 'calibrate', index + (0.9 * e.done) / Math.max(1, e.total), removals.length),
      l2: config.l2,
      seed: config.seed,
      tolerance: config.tolerance,
      phase: 'retrain',
      initialWeights: star.model.weights,
      pool: config.pool,
    });
    const retrainSeconds = (performance.now() - tr) / 1e3;
    const gradient = removalGradient(star.model, sF, sL, config.l2);
    const curves: TrialCurve[] = [];
    for (const setting of config.settings) {
      const fisher = fishers.get(setting.curvature) as FisherInverse;
      const direction = settingDirection(setting, fisher, star.model, sF, sL, gradient, n, config);
      const evaluator = new StepEvaluator(star.model, direction, retrained.model, {
        removed: { features: sF, labels: sL, n: k },
        retained: { features: rF, labels: rL, n: n - k },
        test,
      });
      const rowsOut = config.grid.map((e) => evaluator.evaluate(e));
      const gamma = rowsOut.map((r) => r.gamma_S);
      const accuracy = rowsOut.map((r) => r.mean_abs_accuracy_difference);
      const byGamma = argmaxDefined(gamma);
      const best = trialBestIndex(gamma, accuracy);
      curves.push({
        setting: settingName(setting),
        curvature: setting.curvature,
        leave_k_out: setting.leaveKOut,
        gamma_S: gamma,
        normalized_distance: rowsOut.map((r) => r.normalized_distance),
        mean_abs_accuracy_difference: accuracy,
        best_rule: best === null ? null : byGamma !== null ? 'max_gamma_S' : 'min_accuracy_difference',
        best_epsilon: best === null ? null : (config.grid[best] as number),
        best_gamma_S: byGamma === null ? null : (gamma[byGamma] as number),
      });
    }
    trials.push({
      removal: spec,
      retrain: { iterations: retrained.iterations, gradient_norms: retrained.gradientNorms, warm_start: 'theta_star', seconds: round3(retrainSeconds) },
      curves,
    });
    report(config, 'calibrate', index + 1, removals.length);
  }
  const trialSeconds = (performance.now() - t0) / 1e3;

  const settings: SettingCalibration[] = config.settings.map((setting, si) => {
    const curves = trials.map((t) => (t.curves[si] as TrialCurve).gamma_S);
    const accuracy = trials.map((t) => (t.curves[si] as TrialCurve).mean_abs_accuracy_difference);
    const choice = chooseCalibratedEpsilon(config.grid, curves, accuracy);
    const groups: GroupStability[] = [];
    for (const fraction of config.fractions) {
      for (const kind of ['random', 'attribute'] as const) {
        const members = trials.map((t, i) => ({ t, i })).filter(({ t }) => t.removal.kind === kind && t.removal.fraction === fraction);
        if (members.length === 0) continue;
        const mean = meanCurve(members.map(({ i }) => curves[i] as (number | null)[]), config.grid.length);
        const meanAcc = meanCurve(members.map(({ i }) => accuracy[i] as (number | null)[]), config.grid.length);
        const byGamma = argmaxDefined(mean);
        const best = trialBestIndex(mean, meanAcc);
        groups.push({
          kind,
          fraction,
          trials: members.length,
          rule: best === null ? null : byGamma !== null ? 'max_gamma_S' : 'min_accuracy_difference',
          best_epsilon: best === null ? null : (config.grid[best] as number),
          best_mean_gamma_S: byGamma === null ? null : (mean[byGamma] as number),
          mean_gamma_S_at_calibrated: mean[choice.index] ?? null,
          mean_accuracy_difference_at_calibrated: meanAcc[choice.index] ?? null,
        });
      }
    }
    return { setting: settingName(setting), curvature: setting.curvature, leave_k_out: setting.leaveKOut, ...choice, groups };
  });

  return {
    format: 'ssse-calibration/1',
    engine_version: ENGINE_VERSION,
    dataset: { dir: dataset.dir, format: dataset.format, fingerprint, n, d, attributes: A, attribute_names: dataset.attributeNames },
    model: {
      l2: config.l2,
      damping: config.damping,
      seed: config.seed,
      tolerance: config.tolerance,
      fisher_method: config.fisherMethod,
      backend: config.pool.backend,
      theta_star_sha256: sha256Bytes(star.model.weights),
    },
    grid: [...config.grid],
    fractions: [...config.fractions],
    trials_per_group: config.trials,
    trial_seed: config.trialSeed,
    skipped,
    settings,
    trials,
    timings_s: { train: round3(trainSeconds), fisher: round3(fisherSeconds), trials: round3(trialSeconds) },
  };
}

function round3(x: number): number {
  return Math.round(x * 1e3) / 1e3;
}

/** The calibrated ε for a setting, with the checks that the calibration fits the model at hand. */
export function calibratedEpsilon(
  report: CalibrationReport,
  setting: StepSetting,
  model: { fingerprint: string; l2: number; damping: number; seed: number; tolerance: number; fisherMethod: FisherMethod },
  source: string,
): number {
  const m = report.model;
  const mismatch: string[] = [];
  if (report.dataset.fingerprint !== model.fingerprint) mismatch.push(`dataset fingerprint ${report.dataset.fingerprint.slice(0, 12)}… ≠ ${model.fingerprint.slice(0, 12)}… (another dataset, or other --limit-train)`);
  if (m.l2 !== model.l2) mismatch.push(`l2 ${m.l2} ≠ ${model.l2}`);
  if (m.damping !== model.damping) mismatch.push(`damping ${m.damping} ≠ ${model.damping}`);
  if (m.seed !== model.seed) mismatch.push(`seed ${m.seed} ≠ ${model.seed}`);
  if (m.tolerance !== model.tolerance) mismatch.push(`tolerance ${m.tolerance} ≠ ${model.tolerance}`);
  if (m.fisher_method !== model.fisherMethod) mismatch.push(`fisher_method ${m.fisher_method} ≠ ${model.fisherMethod}`);
  if (mismatch.length > 0) throw new SsseError('BAD_REQUEST', `${source}: calibrated for another model: ${mismatch.join('; ')}`);
  const entry = report.settings.find((s) => s.curvature === setting.curvature && s.leave_k_out === setting.leaveKOut);
  if (!entry) {
    const have = report.settings.map((s) => s.setting).join(', ') || 'none';
    throw new SsseError('BAD_REQUEST', `${source}: no calibrated ε for ${settingName(setting)} (calibrated: ${have})`);
  }
  return entry.epsilon;
}

/** Reads and checks the parts of calibration.json that erasing depends on. */
export function parseCalibration(text: string, source: string): CalibrationReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new SsseError('BAD_INPUT', `${source}: not valid JSON (${(e as Error).message})`);
  }
  const r = value as Partial<CalibrationReport> | null;
  if (!r || typeof r !== 'object' || r.format !== 'ssse-calibration/1') {
    throw new SsseError('BAD_INPUT', `${source}: not an SSSE calibration file (field "format" must be "ssse-calibration/1")`);
  }
  if (!r.dataset || typeof r.dataset.fingerprint !== 'string') throw new SsseError('BAD_INPUT', `${source}: field "dataset.fingerprint" is missing`);
  if (!r.model || typeof r.model.l2 !== 'number' || typeof r.model.damping !== 'number') throw new SsseError('BAD_INPUT', `${source}: field "model" lacks l2 or damping`);
  if (!Array.isArray(r.settings)) throw new SsseError('BAD_INPUT', `${source}: field "settings" is missing`);
  for (const [i, s] of r.settings.entries()) {
    if (!s || (s.curvature !== 'empirical' && s.curvature !== 'expected') || typeof s.leave_k_out !== 'boolean') {
      throw new SsseError('BAD_INPUT', `${source}: settings[${i}] needs curvature "empirical"|"expected" and a boolean leave_k_out`);
    }
    if (typeof s.epsilon !== 'number' || !Number.isFinite(s.epsilon) || s.epsilon < 0) {
      throw new SsseError('BAD_INPUT', `${source}: settings[${i}].epsilon must be a finite number ≥ 0, got ${String(s.epsilon)}`);
    }
  }
  return r as CalibrationReport;
}

/**
 * Held-out ε for a network erasure: the ε is chosen on calibration removals of the same kind as
 * the request, each retrained once, never on the request's own retrained model (which a real
 * deployment does not have when it erases).
 *
 * For T calibration removals S_1 … S_T:
 *   1. Δ_t = F̂⁻¹·Σ_{i∈S_t}∇ℓ_i(θ*)/(n − k_t), from the same Fisher as the request's (the vectors
 *      ride in the same block pass, so the Fisher's cost is shared);
 *   2. θ*_{−S_t}: retrained with the request's seed, order (minus S_t) and settings;
 *   3. the trial's curve over the ε grid: m_t(ε) = mean over S_t, D \ S_t and test of
 *      |acc(θ* + ε·Δ_t) − acc(θ*_{−S_t})| (the accuracy-difference criterion of SSSE.md);
 *   4. ε_cal = argmin_ε (1/T)·Σ_t m_t(ε), the smaller ε on ties.
 *
 * Which removals are "of the same kind" (calibrationDraws):
 *   - a random fraction (seed s): random draws of the same k with removal seeds s+1, s+2, …;
 *   - a fraction F < 1 of class c (seed s): draws of F of class c with seeds s+1, s+2, …;
 *   - all of class c: all of another class, c+1, c+2, … (mod C), skipping classes with no training
 *     samples; fewer than T such classes is an error naming the figures;
 *   - a removal file (or no description): random draws of the same k with seeds s+1, s+2, …,
 *     where s is the --removal-seed (default --seed).
 * A draw identical to the request is skipped (the next seed is taken), so no trial is S itself.
 */
import { classCounts, classRemoval, randomRemoval } from '../data/removal.js';
import { SsseError } from '../errors.js';
import type { SweepRow } from '../linear/sweep.js';
import { report, throwIfCancelled, type RunControl } from '../progress.js';
import type { RemovalDescription } from './erase.js';
import { NetworkStepEvaluator, type EvalSplit, type ModelEval, type SplitKey } from './evaluate.js';
import type { Network } from './network.js';

export interface CalibrationDraw {
  removal: RemovalDescription;
  /** Sorted training rows of S_t. */
  rows: number[];
}

export interface CurvePoint {
  epsilon: number;
  mean_abs_accuracy_difference: number;
}

export interface CalibrationTrial {
  removal: RemovalDescription;
  k: number;
  /** The trial's own smallest mean |Δ| on the grid (the smaller ε on ties). */
  best_epsilon: number;
  curve: CurvePoint[];
}

export interface CalibratedChoice {
  epsilon: number;
  index: number;
  /** (1/T)·Σ_t m_t(ε) at each ε of the grid. */
  mean_curve: CurvePoint[];
}

export const CALIBRATION_RULE =
  'held-out: the ε of the grid with the smallest mean over the calibration removals S_t of mean |acc(θ̂_t) − acc(θ*_{−S_t})| over S_t, D \\ S_t and test (the smaller ε on ties); the request\'s own retrained model is not used';

/**
 * Two mean differences closer than this count as equal (the tie goes to the smaller ε). Each is
 * a mean of ≤ 3·T ratios of counts, exact to about 1e-16 relative; 1e-12 only absorbs the
 * summation order, far below one sample's share of any split (≥ 1/n_split).
 */
const TIE = 1e-12;

/** How the calibration removals are drawn for a request (see the module comment). */
export function describeCalibrationKind(removal: RemovalDescription | null): string {
  if (removal?.kind === 'class' && removal.fraction === 1) return 'all of another class';
  if (removal?.kind === 'class') return `other draws of ${removal.fraction} of class ${removal.class}`;
  return 'random draws of the same size with other removal seeds';
}

function sameRows(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * T calibration removals for a request (rows sorted, removal described as given, seed the
 * request's removal seed or `fallbackSeed` for a file). Reproducible: the same arguments give
 * the same draws.
 */
export function calibrationDraws(
  classIds: ArrayLike<number>,
  numClasses: number,
  request: { rows: readonly number[]; removal: RemovalDescription | null },
  trials: number,
  fallbackSeed: number,
): CalibrationDraw[] {
  if (!Number.isSafeInteger(trials) || trials < 1) {
    throw new SsseError('BAD_ARGUMENT', `--calibrate-trials: expected a whole number ≥ 1, got ${trials}`);
  }
  const n = classIds.length;
  const target = [...request.rows].sort((a, b) => a - b);
  const removal = request.removal;
  const out: CalibrationDraw[] = [];
  if (removal?.kind === 'class' && removal.fraction === 1) {
    const counts = classCounts(classIds, numClasses);
    const others: number[] = [];
    for (let j = 1; j < numClasses; j++) {
      const c = (removal.class + j) % numClasses;
      if ((counts[c] as number) > 0 && (counts[c] as number) < n) others.push(c);
    }
    if (others.length < trials) {
      throw new SsseError(
        'BAD_ARGUMENT',
        `--calibrate-trials ${trials}: a whole-class request is calibrated on other whole classes, but only ${others.length} of the ${numClasses - 1} other classes have training samples`,
      );
    }
    for (const c of others.slice(0, trials)) {
      out.push({ removal: { kind: 'class', class: c, fraction: 1, seed: removal.seed }, rows: classRemoval(classIds, c, 1, removal.seed) });
    }
    return out;
  }
  const baseSeed = removal && removal.kind !== 'file' ? removal.seed : fallbackSeed;
  const k = target.length;
  // Give up after this many draws in a row identical to S (e.g. a fraction that rounds to the whole class).
  const maxSkips = 20;
  let seed = baseSeed;
  let skips = 0;
  while (out.length < trials) {
    seed++;
    let rows: number[];
    let description: RemovalDescription;
    if (removal?.kind === 'class') {
      rows = classRemoval(classIds, removal.class, removal.fraction, seed);
      description = { kind: 'class', class: removal.class, fraction: removal.fraction, seed };
    } else {
      rows = randomRemoval(n, k, seed);
      description = { kind: 'random', fraction: removal?.kind === 'random' ? removal.fraction : k / n, seed };
    }
    if (sameRows(rows, target) || out.some((d) => sameRows(d.rows, rows))) {
      if (++skips > maxSkips) {
        throw new SsseError(
          'BAD_REQUEST',
          `--calibrate-trials ${trials}: after ${out.length} calibration removals, ${maxSkips} further draws (seeds up to ${seed}) repeated the request or an earlier trial; ` +
            'the request leaves no other removal of its kind to calibrate on',
        );
      }
      continue;
    }
    skips = 0;
    out.push({ removal: description, rows });
  }
  return out;
}

/** The index of the smallest value, the first (smallest ε on an ascending grid) within TIE. */
function argminWithTie(values: readonly number[]): number {
  let best = Infinity;
  for (const v of values) if (v < best) best = v;
  return values.findIndex((v) => v <= best + TIE);
}

/**
 * ε_cal from the trials' curves, all over the same ascending grid: the smallest mean over trials
 * of mean |Δ|, the smaller ε on ties.
 */
export function chooseCalibratedEpsilon(curves: readonly (readonly CurvePoint[])[]): CalibratedChoice {
  const first = curves[0];
  if (!first || first.length === 0) throw new SsseError('BAD_ARGUMENT', 'chooseCalibratedEpsilon: no calibration trials (or an empty ε grid)');
  for (const [t, c] of curves.entries()) {
    if (c.length !== first.length || c.some((p, i) => p.epsilon !== first[i]?.epsilon)) {
      throw new SsseError('BAD_ARGUMENT', `chooseCalibratedEpsilon: trial ${t}'s ε grid differs from trial 0's`);
    }
    if (c.some((p) => !Number.isFinite(p.mean_abs_accuracy_difference))) {
      throw new SsseError('BAD_ARGUMENT', `chooseCalibratedEpsilon: trial ${t} has an undefined accuracy difference`);
    }
  }
  for (let i = 1; i < first.length; i++) {
    if (!((first[i]?.epsilon as number) > (first[i - 1]?.epsilon as number))) {
      throw new SsseError('BAD_ARGUMENT', 'chooseCalibratedEpsilon: the ε grid must be strictly ascending');
    }
  }
  const mean = first.map((p, i) => curves.reduce((s, c) => s + (c[i]?.mean_abs_accuracy_difference as number), 0) / curves.length);
  const index = argminWithTie(mean);
  return {
    epsilon: first[index]?.epsilon as number,
    index,
    mean_curve: first.map((p, i) => ({ epsilon: p.epsilon, mean_abs_accuracy_difference: mean[i] as number })),
  };
}

/** A trial's own best ε: its smallest mean |Δ|, the smaller ε on ties. */
export function trialBestEpsilon(curve: readonly CurvePoint[]): number {
  if (curve.length === 0) throw new SsseError('BAD_ARGUMENT', 'trialBestEpsilon: empty curve');
  return curve[argminWithTie(curve.map((p) => p.mean_abs_accuracy_difference))]?.epsilon as number;
}

/** One trial swept: its curve, every sweep row (γ_S, accuracies of θ̂_t) and θ*'s and θ*_{−S_t}'s evaluations on its splits. */
export interface TrialSweep {
  curve: CurvePoint[];
  rows: SweepRow[];
  star: ModelEval;
  retrained: ModelEval;
}

/**
 * One trial swept over `grid` (ascending): θ̂ = θ* + ε·Δ_t against the trial's retrained model,
 * on the trial's own splits. Its curve m_t(ε) is what calibration reads; the rows and the two
 * models' evaluations are kept for scripts/results-nn.ts, which also judges each trial as a
 * request of its own. Reports phase 'calibrate-sweep'.
 */
export function trialSweep(
  net: Network,
  thetaStar: Float32Array,
  direction: Float64Array,
  thetaRetrained: Float32Array,
  splits: Record<SplitKey, EvalSplit | null>,
  grid: readonly number[],
  control?: RunControl,
): TrialSweep {
  const evaluator = new NetworkStepEvaluator(net, thetaStar, direction, thetaRetrained, splits);
  const curve: CurvePoint[] = [];
  const rows: SweepRow[] = [];
  for (let i = 0; i < grid.length; i++) {
    throwIfCancelled(control, 'calibration');
    const epsilon = grid[i] as number;
    const row = evaluator.evaluate(epsilon).row;
    const m = row.mean_abs_accuracy_difference;
    if (m === null) throw new SsseError('NUMERIC', `calibration: no accuracy difference at ε = ${epsilon}`);
    curve.push({ epsilon, mean_abs_accuracy_difference: m });
    rows.push(row);
    report(control, 'calibrate-sweep', i + 1, grid.length);
  }
  return { curve, rows, star: evaluator.star, retrained: evaluator.retrained as ModelEval };
}

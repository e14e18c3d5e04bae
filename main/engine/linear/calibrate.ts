import { SsseError } from '../errors.js';
import { mulberry32, sampleWithoutReplacement } from '../data/random.js';
import type { Curvature } from './fisher.js';

/**
 * Choosing ε without retraining at request time: simulated removals, each retrained once when the
 * model is calibrated, give every trial's γ_S(ε) curve over a grid; one ε per curvature setting is
 * kept and applied to later requests. These are the pure numerics (no data, no training).
 */

/** One way of computing the step: which curvature, and whether S is downdated out of it. */
export interface StepSetting {
  curvature: Curvature;
  leaveKOut: boolean;
}

export const ALL_SETTINGS: readonly StepSetting[] = [
  { curvature: 'empirical', leaveKOut: false },
  { curvature: 'empirical', leaveKOut: true },
  { curvature: 'expected', leaveKOut: false },
  { curvature: 'expected', leaveKOut: true },
];

export function settingName(s: StepSetting): string {
  return `${s.curvature}${s.leaveKOut ? '+leave-k-out' : ''}`;
}

/** A simulated removal: k random rows, or k rows among one attribute's positives. */
export interface RemovalSpec {
  kind: 'random' | 'attribute';
  fraction: number;
  seed: number;
  /** The attribute whose positives were sampled (kind 'attribute'), else null. */
  attribute: number | null;
  k: number;
}

/**
 * k rows drawn (seeded) from the positives of attribute a of an n×A 0/1 label matrix, sorted.
 * Throws BAD_REQUEST when the attribute has fewer than k positives.
 */
export function attributeRemoval(labels: Uint8Array, n: number, A: number, a: number, k: number, seed: number): number[] {
  if (!(Number.isInteger(a) && a >= 0 && a < A)) throw new SsseError('BAD_ARGUMENT', `attributeRemoval: attribute ${a} is not in [0, ${A})`);
  if (!(Number.isInteger(k) && k >= 1 && k < n)) throw new SsseError('BAD_REQUEST', `attributeRemoval: need 1 ≤ k < n, got k = ${k}, n = ${n}`);
  const positives: number[] = [];
  for (let i = 0; i < n; i++) if (labels[i * A + a] === 1) positives.push(i);
  if (positives.length < k) {
    throw new SsseError('BAD_REQUEST', `attributeRemoval: attribute ${a} has ${positives.length} positive training samples, fewer than k = ${k}`);
  }
  return sampleWithoutReplacement(positives, k, mulberry32(seed)).sort((x, y) => x - y);
}

export interface Spread {
  mean: number | null;
  /** Sample standard deviation (n − 1); null below two values. */
  std: number | null;
  min: number | null;
  max: number | null;
  /** How many values were defined. */
  count: number;
}

export function spread(values: readonly (number | null)[]): Spread {
  const v = values.filter((x): x is number => x !== null);
  const count = v.length;
  if (count === 0) return { mean: null, std: null, min: null, max: null, count };
  const mean = v.reduce((s, x) => s + x, 0) / count;
  const std = count < 2 ? null : Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (count - 1));
  return { mean, std, min: Math.min(...v), max: Math.max(...v), count };
}

/** The index of the largest defined value (the first on ties), or null when none is defined. */
export function argmaxDefined(values: readonly (number | null)[]): number | null {
  let best: number | null = null;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && (best === null || v > (values[best] as number))) best = i;
  }
  return best;
}

/** Per grid point, the mean of the defined γ_S over the trials (null where no trial defines it). */
export function meanCurve(curves: readonly (readonly (number | null)[])[], gridLength: number): (number | null)[] {
  const out: (number | null)[] = [];
  for (let e = 0; e < gridLength; e++) {
    const values: (number | null)[] = [];
    for (const [t, c] of curves.entries()) {
      if (c.length !== gridLength) throw new SsseError('BAD_ARGUMENT', `meanCurve: trial ${t} has ${c.length} values, expected ${gridLength} (one per ε)`);
      values.push(c[e] ?? null);
    }
    out.push(spread(values).mean);
  }
  return out;
}

/** The index of the smallest defined value (the first on ties), or null when none is defined. */
export function argminDefined(values: readonly (number | null)[]): number | null {
  const negated = values.map((v) => (v === null || v === undefined ? null : -v));
  return argmaxDefined(negated);
}

export interface EpsilonChoice {
  /**
   * SSSE.md's rule, over trials: the largest mean γ_S; where no trial defines γ_S at any ε (e.g.
   * every removal is part of one class of a one-vs-rest model, so no attribute has an AUC on S),
   * the smallest mean absolute accuracy difference to the retrained models.
   */
  rule: 'max_gamma_S' | 'min_accuracy_difference';
  /** The chosen ε (the smallest such ε on ties). */
  epsilon: number;
  index: number;
  /** Mean γ_S over trials at each ε of the grid. */
  mean_gamma_S: (number | null)[];
  /** Mean over trials of the mean absolute accuracy difference to θ*_{−S}, at each ε. */
  mean_accuracy_difference: (number | null)[];
  /** γ_S of every trial at the chosen ε. */
  at_epsilon: Spread;
  /** The accuracy difference of every trial at the chosen ε. */
  accuracy_difference_at_epsilon: Spread;
  /** Each trial's own best ε by the same rule as its own curves allow (null if neither is defined). */
  trial_best_epsilon: (number | null)[];
  trial_best_epsilon_spread: Spread & { log10_range: number | null };
  /** Mean over trials of (the trial's best γ_S − its γ_S at the chosen ε): what one shared ε costs. */
  mean_regret: number | null;
}

/** A trial's own best ε index: the largest γ_S, else the smallest accuracy difference. */
export function trialBestIndex(gamma: readonly (number | null)[], accuracyDifference?: readonly (number | null)[]): number | null {
  const best = argmaxDefined(gamma);
  if (best !== null || !accuracyDifference) return best;
  return argminDefined(accuracyDifference);
}

/**
 * One ε for a setting from its trials' curves over the ε grid (null where undefined): γ_S, and
 * optionally the mean absolute accuracy difference to the retrained model, used only where no
 * trial defines γ_S. Throws BAD_REQUEST when neither gives an ε.
 */
export function chooseCalibratedEpsilon(
  grid: readonly number[],
  curves: readonly (readonly (number | null)[])[],
  accuracyDifferences?: readonly (readonly (number | null)[])[],
): EpsilonChoice {
  if (grid.length === 0) throw new SsseError('BAD_ARGUMENT', 'chooseCalibratedEpsilon: the ε grid is empty');
  if (curves.length === 0) throw new SsseError('BAD_ARGUMENT', 'chooseCalibratedEpsilon: no trials');
  if (accuracyDifferences && accuracyDifferences.length !== curves.length) {
    throw new SsseError('BAD_ARGUMENT', `chooseCalibratedEpsilon: ${accuracyDifferences.length} accuracy curves for ${curves.length} trials`);
  }
  const mean = meanCurve(curves, grid.length);
  const meanAcc = accuracyDifferences ? meanCurve(accuracyDifferences, grid.length) : grid.map(() => null);
  let index = argmaxDefined(mean);
  let rule: EpsilonChoice['rule'] = 'max_gamma_S';
  if (index === null) {
    index = argminDefined(meanAcc);
    rule = 'min_accuracy_difference';
  }
  if (index === null) {
    throw new SsseError('BAD_REQUEST', 'calibration: neither γ_S nor an accuracy difference is defined for any trial and ε; use other removals');
  }
  const chosen = index;
  const trialBest = curves.map((c, t) => {
    const i = trialBestIndex(c, accuracyDifferences?.[t]);
    return i === null ? null : (grid[i] as number);
  });
  const regrets = curves.map((c) => {
    const i = argmaxDefined(c);
    const at = c[chosen];
    return i === null || at === null || at === undefined ? null : (c[i] as number) - at;
  });
  const bestSpread = spread(trialBest);
  return {
    rule,
    epsilon: grid[chosen] as number,
    index: chosen,
    mean_gamma_S: mean,
    mean_accuracy_difference: meanAcc,
    at_epsilon: spread(curves.map((c) => c[chosen] ?? null)),
    accuracy_difference_at_epsilon: spread(accuracyDifferences ? accuracyDifferences.map((c) => c[chosen] ?? null) : []),
    trial_best_epsilon: trialBest,
    trial_best_epsilon_spread: {
      ...bestSpread,
      log10_range: bestSpread.min !== null && bestSpread.max !== null && bestSpread.min > 0 ? Math.log10(bestSpread.max / bestSpread.min) : null,
    },
    mean_regret: spread(regrets).mean,
  };
}

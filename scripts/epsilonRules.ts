/**
 * Ways of choosing ε for a network erasure, compared in docs/results-nn.md on stored sweeps (no
 * new training): the product's held-out rule beside the alternatives tried for the 1%-at-random
 * target, so that the comparison is reproducible rather than a claim in a note.
 *
 * Every rule picks an index of the ε grid for draw i from the draws' stored curves. A held-out
 * rule reads only the other draws' retrained models (as `ssse erase --calibrate-trials` does)
 * and, at most, θ̂'s accuracy on draw i's own S, which needs no retraining. `in-sample` (SSSE.md's
 * rule) and `hindsight` read draw i's own retrained model; they are there for comparison.
 */
import { chooseCalibratedEpsilon } from '../main/engine/nn/calibrate.js';

export interface RuleDraw {
  /** mean |acc(θ̂_ε) − acc(θ*_{−S})| over S, D \ S and test at each ε of the grid. */
  curve: readonly number[];
  /** γ_S at each ε (null where undefined). */
  gamma: readonly (number | null)[];
  /** θ̂_ε's accuracy on the draw's own S at each ε (known without retraining). */
  accS: readonly number[];
  /** θ*'s accuracy on S. */
  starAccS: number;
  /** The draw's retrained model's accuracy on S. */
  retrainedAccS: number;
}

export interface EpsilonRule {
  key: string;
  /** What the rule does, for the table. */
  description: string;
  /** Whether it reads the judged draw's own retrained model (not possible at erasure time). */
  readsOwnRetrained: boolean;
  /** The grid index for draw i, or null when the rule cannot choose. */
  choose(draws: readonly RuleDraw[], i: number, grid: readonly number[]): number | null;
}

/** Two values closer than this are equal; ties go to the smaller ε (as chooseCalibratedEpsilon). */
const TIE = 1e-12;

/** Index of the smallest value, the first (smaller ε) on ties. */
export function argminFirst(values: readonly number[]): number {
  let best = 0;
  for (let e = 1; e < values.length; e++) if ((values[e] as number) < (values[best] as number) - TIE) best = e;
  return best;
}

function others(draws: readonly RuleDraw[], i: number): RuleDraw[] {
  return draws.filter((_, o) => o !== i);
}

/** Mean over draws of their curves at each ε. */
function meanCurve(list: readonly RuleDraw[]): number[] {
  const first = list[0];
  if (!first) return [];
  return first.curve.map((_, e) => list.reduce((s, d) => s + (d.curve[e] as number), 0) / list.length);
}

export const HELD_OUT_MEAN: EpsilonRule = {
  key: 'held-out',
  description: "the product's rule (`--calibrate-trials`): the smallest mean over the other draws' curves",
  readsOwnRetrained: false,
  choose(draws, i, grid) {
    const rest = others(draws, i);
    if (rest.length === 0) return null;
    return chooseCalibratedEpsilon(rest.map((d) => d.curve.map((m, e) => ({ epsilon: grid[e] as number, mean_abs_accuracy_difference: m })))).index;
  },
};

export const HELD_OUT_MEDIAN: EpsilonRule = {
  key: 'median of bests',
  description: "the lower median of the other draws' own best ε",
  readsOwnRetrained: false,
  choose(draws, i) {
    const bests = others(draws, i)
      .map((d) => argminFirst(d.curve))
      .sort((a, b) => a - b);
    return bests.length === 0 ? null : (bests[Math.floor((bests.length - 1) / 2)] as number);
  },
};

export const HELD_OUT_SMOOTHED: EpsilonRule = {
  key: 'smoothed',
  description: "the other draws' mean curve averaged over each ε and its two neighbours on the grid, then its smallest value",
  readsOwnRetrained: false,
  choose(draws, i) {
    const m = meanCurve(others(draws, i));
    if (m.length === 0) return null;
    const smooth = m.map((_, e) => {
      const window = [m[e - 1], m[e], m[e + 1]].filter((v): v is number => v !== undefined);
      return window.reduce((s, v) => s + v, 0) / window.length;
    });
    return argminFirst(smooth);
  },
};

export const HELD_OUT_ONE_SE: EpsilonRule = {
  key: 'one-SE',
  description: "the smallest ε whose mean over the other draws is within one standard error (of that mean, at its minimum) of the minimum",
  readsOwnRetrained: false,
  choose(draws, i) {
    const rest = others(draws, i);
    if (rest.length < 2) return null;
    const m = meanCurve(rest);
    const best = argminFirst(m);
    const mu = m[best] as number;
    const sd = Math.sqrt(rest.reduce((s, d) => s + ((d.curve[best] as number) - mu) ** 2, 0) / (rest.length - 1));
    const limit = mu + sd / Math.sqrt(rest.length) + TIE;
    return m.findIndex((v) => v <= limit);
  },
};

export const DROP_MATCH: EpsilonRule = {
  key: 'drop matching',
  description: "the smallest ε at which θ̂'s accuracy on S falls to θ*'s minus the other draws' mean drop (θ* to retrained) on their S",
  readsOwnRetrained: false,
  choose(draws, i) {
    const rest = others(draws, i);
    const own = draws[i];
    if (rest.length === 0 || !own) return null;
    const drop = rest.reduce((s, d) => s + (d.starAccS - d.retrainedAccS), 0) / rest.length;
    const index = own.accS.findIndex((a) => a <= own.starAccS - drop + TIE);
    return index < 0 ? null : index;
  },
};

export const IN_SAMPLE_GAMMA: EpsilonRule = {
  key: 'in-sample γ_S',
  description: "SSSE.md's rule on the draw itself: the largest γ_S (the first on ties), else the smallest mean |Δ|",
  readsOwnRetrained: true,
  choose(draws, i) {
    const own = draws[i];
    if (!own) return null;
    let best: number | null = null;
    own.gamma.forEach((g, e) => {
      if (g !== null && (best === null || g > (own.gamma[best] as number))) best = e;
    });
    return best ?? argminFirst(own.curve);
  },
};

export const HINDSIGHT: EpsilonRule = {
  key: 'hindsight',
  description: "the draw's own smallest mean |Δ| (reads its retrained model: the floor any rule could reach on this grid)",
  readsOwnRetrained: true,
  choose(draws, i) {
    const own = draws[i];
    return own ? argminFirst(own.curve) : null;
  },
};

/** The rules of the comparison, the product's first. */
export const EPSILON_RULES: readonly EpsilonRule[] = [HELD_OUT_MEAN, HELD_OUT_MEDIAN, HELD_OUT_SMOOTHED, HELD_OUT_ONE_SE, DROP_MATCH, IN_SAMPLE_GAMMA, HINDSIGHT];

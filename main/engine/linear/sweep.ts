import { SsseError } from '../errors.js';
import {
  attributeAccuracy,
  attributeAucs,
  meanAbsoluteDifference,
  normalizedDistance,
  similarityRatio,
} from '../metrics/index.js';
import { applyStep } from './ssseStep.js';
import { logits, type LinearModel } from './model.js';

/** The default ε grid: 0.1 … 1000, log-spaced, six points per decade (25 values). */
export function defaultEpsilonGrid(): number[] {
  const grid: number[] = [];
  for (let i = 0; i <= 24; i++) grid.push(Number((10 ** (-1 + i / 6)).toPrecision(6)));
  return grid;
}

export function parseEpsilonList(text: string, flag = '--epsilon-sweep'): number[] {
  const values = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (values.length === 0) throw new SsseError('BAD_ARGUMENT', `${flag}: expected a comma-separated list of numbers`);
  return values.map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || v < 0) throw new SsseError('BAD_ARGUMENT', `${flag}: "${s}" is not a number ≥ 0`);
    return v;
  });
}

/** Scores and labels of one split, as rows of the evaluated matrices. */
export interface EvalSplit {
  features: Float32Array;
  labels: Uint8Array;
  n: number;
}

export interface SplitAccuracy {
  removed: number | null;
  retained: number | null;
  test: number | null;
}

export interface SweepRow {
  epsilon: number;
  gamma_S: number | null;
  normalized_distance: number | null;
  accuracy: SplitAccuracy;
  /** Mean over the splits of |acc(θ̂) − acc(θ*_{−S})|; null without a retrained model. */
  mean_abs_accuracy_difference: number | null;
  /** ‖∇L_{−S}(θ̂_ε)‖ on D \ S, where it was read (erase.ts adds it). */
  gradient_norm?: number | null;
  /** Membership-inference AUC of θ̂_ε, S against the test split (erase.ts adds it). */
  membership_auc?: number | null;
}

/**
 * Everything needed to evaluate θ̂_ε = θ* + ε·u for many ε cheaply: logits are linear in θ,
 * so z(θ̂_ε) = z(θ*) + ε·z(u) and each ε costs only the metrics, not another pass over X.
 */
export class StepEvaluator {
  private readonly splits: Record<keyof SplitAccuracy, { split: EvalSplit; zStar: Float64Array; zDir: Float64Array } | null>;
  private readonly zRetrained: Record<keyof SplitAccuracy, Float64Array | null>;
  readonly aucStar: (number | null)[];
  readonly aucRetrained: (number | null)[] | null;
  readonly accuracyStar: SplitAccuracy;
  readonly accuracyRetrained: SplitAccuracy | null;

  constructor(
    readonly star: LinearModel,
    readonly direction: Float64Array,
    readonly retrained: LinearModel | null,
    splits: { removed: EvalSplit; retained: EvalSplit; test: EvalSplit | null },
  ) {
    const dirModel: LinearModel = { d: star.d, A: star.A, weights: direction };
    const prep = (s: EvalSplit | null) =>
      s && s.n > 0 ? { split: s, zStar: logits(star, s.features), zDir: logits(dirModel, s.features) } : null;
    this.splits = { removed: prep(splits.removed), retained: prep(splits.retained), test: prep(splits.test) };
    const zr = (s: EvalSplit | null) => (retrained && s && s.n > 0 ? logits(retrained, s.features) : null);
    this.zRetrained = { removed: zr(splits.removed), retained: zr(splits.retained), test: zr(splits.test) };
    this.aucStar = this.aucOnRemoved(this.splits.removed?.zStar ?? null);
    this.aucRetrained = retrained ? this.aucOnRemoved(this.zRetrained.removed) : null;
    this.accuracyStar = this.accuracies((k) => this.splits[k]?.zStar ?? null);
    this.accuracyRetrained = retrained ? this.accuracies((k) => this.zRetrained[k]) : null;
  }

  private aucOnRemoved(z: Float64Array | null): (number | null)[] {
    const s = this.splits.removed;
    if (!s || !z) return new Array<number | null>(this.star.A).fill(null);
    return attributeAucs(z, s.split.labels, s.split.n, this.star.A);
  }

  private accuracies(z: (k: keyof SplitAccuracy) => Float64Array | null): SplitAccuracy {
    const acc = (k: keyof SplitAccuracy) => {
      const s = this.splits[k];
      const zk = z(k);
      return s && zk ? attributeAccuracy(zk, s.split.labels, s.split.n, this.star.A) : null;
    };
    return { removed: acc('removed'), retained: acc('retained'), test: acc('test') };
  }

  private zHat(k: keyof SplitAccuracy, epsilon: number): Float64Array | null {
    const s = this.splits[k];
    if (!s) return null;
    const out = new Float64Array(s.zStar.length);
    for (let i = 0; i < out.length; i++) out[i] = (s.zStar[i] as number) + epsilon * (s.zDir[i] as number);
    return out;
  }

  /** Per-attribute AUC on S of θ̂_ε. */
  aucHat(epsilon: number): (number | null)[] {
    return this.aucOnRemoved(this.zHat('removed', epsilon));
  }

  accuracyHat(epsilon: number): SplitAccuracy {
    return this.accuracies((k) => this.zHat(k, epsilon));
  }

  evaluate(epsilon: number): SweepRow {
    const accuracy = this.accuracyHat(epsilon);
    if (!this.retrained || !this.aucRetrained || !this.accuracyRetrained) {
      return { epsilon, gamma_S: null, normalized_distance: null, accuracy, mean_abs_accuracy_difference: null };
    }
    const sim = similarityRatio(this.aucHat(epsilon), this.aucStar, this.aucRetrained);
    const hat = applyStep(this.star, this.direction, epsilon);
    const r = this.accuracyRetrained;
    return {
      epsilon,
      gamma_S: sim.gamma,
      normalized_distance: normalizedDistance(hat.weights, this.star.weights, this.retrained.weights),
      accuracy,
      mean_abs_accuracy_difference: meanAbsoluteDifference(
        [accuracy.removed, accuracy.retained, accuracy.test],
        [r.removed, r.retained, r.test],
      ),
    };
  }
}

/**
 * The ε rule of SSSE.md: the largest γ_S (the first such ε on ties); where γ_S is undefined for
 * every ε, the smallest mean absolute accuracy difference to the retrained model.
 */
export function chooseEpsilon(rows: SweepRow[]): { row: SweepRow; rule: 'max_gamma_S' | 'min_accuracy_difference' } {
  let best: SweepRow | null = null;
  for (const r of rows) if (r.gamma_S !== null && (best === null || r.gamma_S > (best.gamma_S as number))) best = r;
  if (best) return { row: best, rule: 'max_gamma_S' };
  for (const r of rows) {
    const m = r.mean_abs_accuracy_difference;
    if (m !== null && (best === null || m < (best.mean_abs_accuracy_difference as number))) best = r;
  }
  if (best) return { row: best, rule: 'min_accuracy_difference' };
  throw new SsseError('BAD_ARGUMENT', 'chooseEpsilon: no ε of the sweep has a defined γ_S or accuracy difference (is a retrained model missing?)');
}

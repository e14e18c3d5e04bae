/**
 * Measuring an erasure on a multi-class network (SSSE.md, "Measuring an erasure"):
 *
 * - accuracy (argmax of the logits against the class id) and per-class accuracy on S, on D \ S
 *   and on the test set, for θ*, θ̂_ε and θ*_{−S}, and |acc(θ̂) − acc(θ*_{−S})| per split;
 * - γ_S from one-vs-rest AUCs on S: class c's score is log p(c | x) = log softmax(z)_c, its
 *   label 1 for samples of class c. A class absent from S, or the only class in S, has no AUC
 *   (counts as 0), so removing a whole class leaves γ_S undefined and ε is then chosen by the
 *   smallest mean absolute accuracy difference, the rule of SSSE.md;
 * - the normalized parameter distance;
 * - the retraining spread: where θ*, θ̂ and the same-seed θ*_{−S} fall among R retrainings on
 *   D \ S with other seeds (mean, standard deviation, and z = (acc − mean)/std).
 */
import {
  argmaxRows,
  attributeAucs,
  classAccuracy,
  meanAbsoluteDifference,
  normalizedDistance,
  perClassAccuracy,
  similarityRatio,
} from '../metrics/index.js';
import type { SplitAccuracy, SweepRow } from '../linear/sweep.js';
import { predictLogits, setParams, type Network } from './network.js';

export type SplitKey = 'removed' | 'retained' | 'test';
export const SPLITS: readonly SplitKey[] = ['removed', 'retained', 'test'];

/** Rows of one split: indices into `features`/`classIds`. */
export interface EvalSplit {
  features: Float32Array;
  classIds: Int32Array;
  rows: Int32Array;
}

export type PerClass = Record<SplitKey, (number | null)[] | null>;

export interface ModelEval {
  accuracy: SplitAccuracy;
  perClass: PerClass;
  /** One-vs-rest AUC per class on S. */
  aucs: (number | null)[];
}

/**
 * The ε grid for networks: 0.001 … 10, log-spaced, twenty points per decade (81 values, steps of
 * 12%). A network's useful ε lies far below the linear model's (the reference measured
 * 0.02–0.05), and accuracy changes fast with ε there: on Fashion-MNIST's MLP (docs/results-nn.md)
 * the mean accuracy difference of neighbouring values of a ten-per-decade grid (steps of 26%)
 * differed by up to 2.4× near the optimum, so that grid's spacing alone could decide a target.
 */
export function networkEpsilonGrid(): number[] {
  const grid: number[] = [];
  for (let i = 0; i <= 80; i++) grid.push(Number((10 ** (-3 + i / 20)).toPrecision(6)));
  return grid;
}

/** log softmax of each row of an n×C logit matrix, float64. */
export function logSoftmaxRows(logits: Float32Array, n: number, C: number): Float64Array {
  const out = new Float64Array(n * C);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, logits[i * C + c] as number);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp((logits[i * C + c] as number) - max);
    const lse = max + Math.log(s);
    for (let c = 0; c < C; c++) out[i * C + c] = (logits[i * C + c] as number) - lse;
  }
  return out;
}

function splitClassIds(split: EvalSplit): Int32Array {
  const out = new Int32Array(split.rows.length);
  for (let r = 0; r < out.length; r++) out[r] = split.classIds[split.rows[r] as number] as number;
  return out;
}

/** Evaluates the network's current parameters on the splits. */
export function evaluateCurrent(net: Network, splits: Record<SplitKey, EvalSplit | null>): ModelEval {
  const C = net.numClasses;
  const accuracy: SplitAccuracy = { removed: null, retained: null, test: null };
  const perClass: PerClass = { removed: null, retained: null, test: null };
  let aucs: (number | null)[] = new Array<number | null>(C).fill(null);
  for (const key of SPLITS) {
    const split = splits[key];
    if (!split || split.rows.length === 0) continue;
    const n = split.rows.length;
    const logits = predictLogits(net, split.features, split.rows);
    const predicted = argmaxRows(logits, n, C);
    const truth = splitClassIds(split);
    accuracy[key] = classAccuracy(predicted, truth);
    perClass[key] = perClassAccuracy(predicted, truth, C);
    if (key === 'removed') {
      const labels = new Uint8Array(n * C);
      for (let i = 0; i < n; i++) labels[i * C + (truth[i] as number)] = 1;
      aucs = attributeAucs(logSoftmaxRows(logits, n, C), labels, n, C);
    }
  }
  return { accuracy, perClass, aucs };
}

/** Evaluates parameters θ (they stay set in the network afterwards). */
export function evaluateParams(net: Network, theta: Float32Array | Float64Array, splits: Record<SplitKey, EvalSplit | null>): ModelEval {
  setParams(net, theta);
  return evaluateCurrent(net, splits);
}

export interface AccuracyDifference {
  removed: number | null;
  retained: number | null;
  test: number | null;
  /** Mean over the splits that have both values. */
  mean: number | null;
}

/** |acc(model) − acc(θ*_{−S})| per split and their mean. */
export function accuracyDifference(model: SplitAccuracy, retrained: SplitAccuracy): AccuracyDifference {
  const diff = (k: SplitKey): number | null => {
    const a = model[k];
    const b = retrained[k];
    return a === null || b === null ? null : Math.abs(a - b);
  };
  return {
    removed: diff('removed'),
    retained: diff('retained'),
    test: diff('test'),
    mean: meanAbsoluteDifference([model.removed, model.retained, model.test], [retrained.removed, retrained.retained, retrained.test]),
  };
}

/** θ* + ε·u in float64. */
export function stepParams(star: Float32Array, direction: Float64Array, epsilon: number): Float64Array {
  const out = new Float64Array(star.length);
  for (let i = 0; i < out.length; i++) out[i] = (star[i] as number) + epsilon * (direction[i] as number);
  return out;
}

/**
 * Evaluates θ̂_ε = θ* + ε·u for many ε. A network is not linear in θ, so each ε costs one
 * forward pass over the splits.
 */
export class NetworkStepEvaluator {
  readonly star: ModelEval;
  readonly retrained: ModelEval | null;

  constructor(
    private readonly net: Network,
    private readonly thetaStar: Float32Array,
    private readonly direction: Float64Array,
    private readonly thetaRetrained: Float32Array | null,
    private readonly splits: Record<SplitKey, EvalSplit | null>,
  ) {
    this.star = evaluateParams(net, thetaStar, splits);
    this.retrained = thetaRetrained ? evaluateParams(net, thetaRetrained, splits) : null;
  }

  /** The sweep row of ε and the full evaluation of θ̂_ε. */
  evaluate(epsilon: number): { row: SweepRow; hat: ModelEval } {
    const theta = stepParams(this.thetaStar, this.direction, epsilon);
    const hat = evaluateParams(this.net, theta, this.splits);
    if (!this.retrained || !this.thetaRetrained) {
      return { row: { epsilon, gamma_S: null, normalized_distance: null, accuracy: hat.accuracy, mean_abs_accuracy_difference: null }, hat };
    }
    const sim = similarityRatio(hat.aucs, this.star.aucs, this.retrained.aucs);
    return {
      row: {
        epsilon,
        gamma_S: sim.gamma,
        normalized_distance: normalizedDistance(theta, this.thetaStar, this.thetaRetrained),
        accuracy: hat.accuracy,
        mean_abs_accuracy_difference: accuracyDifference(hat.accuracy, this.retrained.accuracy).mean,
      },
      hat,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The retraining spread

export interface Spread {
  mean: number | null;
  /** Sample standard deviation (n − 1); null with fewer than 2 values. */
  std: number | null;
  values: (number | null)[];
}

export interface RetrainSpread {
  seeds: number[];
  accuracy: Record<SplitKey, Spread>;
  per_class_accuracy: Record<SplitKey, { mean: (number | null)[]; std: (number | null)[] } | null>;
  /** (acc − mean)/std of each model on each split; null where std is 0 or undefined. */
  z: Record<'star' | 'hat' | 'retrained', Record<SplitKey, number | null>>;
}

export function spreadOf(values: (number | null)[]): Spread {
  const v = values.filter((x): x is number => x !== null);
  if (v.length === 0) return { mean: null, std: null, values };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length < 2 ? null : Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { mean, std, values };
}

export function retrainSpread(
  seeds: number[],
  evals: ModelEval[],
  models: Record<'star' | 'hat' | 'retrained', SplitAccuracy | null>,
): RetrainSpread {
  const accuracy = {} as Record<SplitKey, Spread>;
  const perClass = {} as RetrainSpread['per_class_accuracy'];
  for (const key of SPLITS) {
    accuracy[key] = spreadOf(evals.map((e) => e.accuracy[key]));
    const lists = evals.map((e) => e.perClass[key]);
    const first = lists[0];
    if (!first) {
      perClass[key] = null;
      continue;
    }
    const per = first.map((_, c) => spreadOf(lists.map((l) => l?.[c] ?? null)));
    perClass[key] = { mean: per.map((s) => s.mean), std: per.map((s) => s.std) };
  }
  const zOf = (acc: SplitAccuracy | null): Record<SplitKey, number | null> => {
    const out = {} as Record<SplitKey, number | null>;
    for (const key of SPLITS) {
      const a = acc?.[key] ?? null;
      const { mean, std } = accuracy[key];
      out[key] = a === null || mean === null || std === null || std === 0 ? null : (a - mean) / std;
    }
    return out;
  };
  return {
    seeds,
    accuracy,
    per_class_accuracy: perClass,
    z: { star: zOf(models.star), hat: zOf(models.hat), retrained: zOf(models.retrained) },
  };
}

/** The rows of 0 … n−1 not in `removed` (which holds each row once), ascending. */
export function complementRows(n: number, removed: ArrayLike<number>): Int32Array {
  const gone = new Uint8Array(n);
  for (let j = 0; j < removed.length; j++) gone[removed[j] as number] = 1;
  const out = new Int32Array(n - removed.length);
  let r = 0;
  for (let i = 0; i < n; i++) if (gone[i] === 0) out[r++] = i;
  return out;
}

/** The three evaluation splits of a removal: S and D \ S of the training data, and the whole test set. */
export function removalSplits(
  train: { features: Float32Array; classIds: Int32Array },
  test: { features: Float32Array; classIds: Int32Array; n: number } | null,
  removed: Int32Array,
  retained: Int32Array,
): Record<SplitKey, EvalSplit | null> {
  return {
    removed: { features: train.features, classIds: train.classIds, rows: removed },
    retained: { features: train.features, classIds: train.classIds, rows: retained },
    test: test ? { features: test.features, classIds: test.classIds, rows: Int32Array.from({ length: test.n }, (_, i) => i) } : null,
  };
}

import { argmaxRows, perClassAccuracy } from '../metrics/accuracy.js';
import { logits, type LinearModel } from './model.js';

/**
 * Per-class accuracy (SSSE.md, "Measuring an erasure") of a one-vs-rest model whose A
 * attributes are the A classes: a sample's predicted class is its attribute with the largest
 * score (the first on ties), and class c's accuracy on a split is the fraction of that split's
 * class-c samples predicted as c (null for a class absent from the split).
 */
export type SplitName = 'removed' | 'retained' | 'test';

export interface ClassSplit {
  features: Float32Array;
  classIds: Int32Array;
  n: number;
}

export type ClassAccuracy = Record<SplitName, (number | null)[] | null>;

export function classAccuracyBySplit(model: LinearModel, splits: Record<SplitName, ClassSplit | null>): ClassAccuracy {
  const one = (s: ClassSplit | null) => {
    if (!s || s.n === 0) return null;
    const predicted = argmaxRows(logits(model, s.features), s.n, model.A);
    return perClassAccuracy(predicted, s.classIds, model.A);
  };
  return { removed: one(splits.removed), retained: one(splits.retained), test: one(splits.test) };
}

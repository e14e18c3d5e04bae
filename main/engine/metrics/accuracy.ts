/**
 * Accuracies (SSSE.md, "Measuring an erasure"): of the A attribute predictions of a
 * multi-attribute model, and of the class predictions of a multi-class one, over a chosen set of
 * rows (S, D \ S or a test set), and the mean absolute difference between two models' accuracies.
 *
 * Attribute scores are logits wᵀx: the prediction is 1 when the score is > 0 and 0 otherwise (a
 * score of exactly 0 predicts 0).
 */
import {
  badArgument,
  checkCount,
  checkMatrix,
  checkSameLength,
  resolveRows,
} from './args.js';

/**
 * Fraction of the |rows|·A attribute labels predicted correctly; null when there are no rows (or
 * no attributes).
 */
export function attributeAccuracy(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  A: number,
  rows?: ArrayLike<number>,
): number | null {
  const fn = 'attributeAccuracy';
  const correct = countCorrectAttributes(fn, scores, labels, n, A, rows);
  let total = 0;
  for (const c of correct.perAttribute) total += c;
  const cells = correct.rows * A;
  return cells === 0 ? null : total / cells;
}

/** For each attribute, the fraction of the rows whose label it predicts correctly; null entries when there are no rows. */
export function perAttributeAccuracy(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  A: number,
  rows?: ArrayLike<number>,
): (number | null)[] {
  const fn = 'perAttributeAccuracy';
  const correct = countCorrectAttributes(fn, scores, labels, n, A, rows);
  const out: (number | null)[] = [];
  for (const c of correct.perAttribute) out.push(correct.rows === 0 ? null : c / correct.rows);
  return out;
}

/** Fraction of the rows whose predicted class equals the true class id; null when there are no rows. */
export function classAccuracy(
  predictedClass: ArrayLike<number>,
  classIds: ArrayLike<number>,
  rows?: ArrayLike<number>,
): number | null {
  const fn = 'classAccuracy';
  checkSameLength(fn, 'predictedClass', predictedClass, 'classIds', classIds);
  const selected = resolveRows(fn, classIds.length, rows);
  let correct = 0;
  for (const r of selected) {
    const p = checkClass(fn, 'predictedClass', r, predictedClass[r], Infinity);
    const c = checkClass(fn, 'classIds', r, classIds[r], Infinity);
    if (p === c) correct++;
  }
  return selected.length === 0 ? null : correct / selected.length;
}

/**
 * For each class c in [0, numClasses), the fraction of the rows of class c predicted as c; null
 * for a class with no rows among those selected.
 */
export function perClassAccuracy(
  predictedClass: ArrayLike<number>,
  classIds: ArrayLike<number>,
  numClasses: number,
  rows?: ArrayLike<number>,
): (number | null)[] {
  const fn = 'perClassAccuracy';
  checkSameLength(fn, 'predictedClass', predictedClass, 'classIds', classIds);
  checkCount(fn, 'numClasses', numClasses);
  const selected = resolveRows(fn, classIds.length, rows);
  const count = new Float64Array(numClasses);
  const correct = new Float64Array(numClasses);
  for (const r of selected) {
    const p = checkClass(fn, 'predictedClass', r, predictedClass[r], numClasses);
    const c = checkClass(fn, 'classIds', r, classIds[r], numClasses);
    count[c] = (count[c] as number) + 1;
    if (p === c) correct[c] = (correct[c] as number) + 1;
  }
  const out: (number | null)[] = [];
  for (let c = 0; c < numClasses; c++) {
    const m = count[c] as number;
    out.push(m === 0 ? null : (correct[c] as number) / m);
  }
  return out;
}

/**
 * The index of the largest score in each row of an n×A row-major matrix, the first one winning
 * ties. Throws on a NaN score, or when A = 0 with rows to classify.
 */
export function argmaxRows(scores: ArrayLike<number>, n: number, A: number): Int32Array {
  const fn = 'argmaxRows';
  checkMatrix(fn, n, A, [['scores', scores]]);
  if (A === 0 && n > 0) throw badArgument(fn, 'A must be at least 1 to take an argmax');
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = -Infinity;
    for (let a = 0; a < A; a++) {
      const idx = i * A + a;
      const v = scores[idx] as number;
      if (Number.isNaN(v)) throw badArgument(fn, `scores[${idx}] (row ${i}, column ${a}) is NaN`);
      if (a === 0 || v > bestValue) {
        best = a;
        bestValue = v;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Mean of |a_i − b_i| over the entries where both are non-null (e.g. per-class accuracies of θ̂
 * and θ*_{−S}); null when there is none.
 */
export function meanAbsoluteDifference(
  a: readonly (number | null)[],
  b: readonly (number | null)[],
): number | null {
  const fn = 'meanAbsoluteDifference';
  checkSameLength(fn, 'a', a, 'b', b);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === null || y === null || x === undefined || y === undefined) continue;
    if (Number.isNaN(x)) throw badArgument(fn, `a[${i}] is NaN`);
    if (Number.isNaN(y)) throw badArgument(fn, `b[${i}] is NaN`);
    sum += Math.abs(x - y);
    count++;
  }
  return count === 0 ? null : sum / count;
}

/** Counts of correct predictions per attribute over the selected rows. */
function countCorrectAttributes(
  fn: string,
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  A: number,
  rows: ArrayLike<number> | undefined,
): { rows: number; perAttribute: Float64Array } {
  checkMatrix(fn, n, A, [
    ['scores', scores],
    ['labels', labels],
  ]);
  const selected = resolveRows(fn, n, rows);
  const perAttribute = new Float64Array(A);
  for (const r of selected) {
    for (let a = 0; a < A; a++) {
      const idx = r * A + a;
      const s = scores[idx] as number;
      if (Number.isNaN(s)) throw badArgument(fn, `scores[${idx}] (row ${r}, attribute ${a}) is NaN`);
      const l = labels[idx] as number;
      if (l !== 0 && l !== 1) {
        throw badArgument(fn, `labels[${idx}] (row ${r}, attribute ${a}) = ${String(l)} is not a 0/1 label`);
      }
      const predicted = s > 0 ? 1 : 0;
      if (predicted === l) perAttribute[a] = (perAttribute[a] as number) + 1;
    }
  }
  return { rows: selected.length, perAttribute };
}

/** A class id: an integer in [0, limit). */
function checkClass(fn: string, name: string, index: number, value: number | undefined, limit: number): number {
  if (value === undefined || !Number.isInteger(value) || value < 0 || value >= limit) {
    const range = limit === Infinity ? 'a non-negative integer' : `an integer in [0, ${limit})`;
    throw badArgument(fn, `${name}[${index}] = ${String(value)} is not a class id (${range})`);
  }
  return value;
}

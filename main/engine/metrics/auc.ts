/**
 * ROC AUC of one attribute's scores, as the Mann–Whitney U statistic (SSSE.md, "Measuring an
 * erasure"): the fraction of (positive, negative) pairs in which the positive scores higher, a tie
 * counting ½. This equals U / (P·N) with U = R₊ − P(P+1)/2 and R₊ the sum of the positives' ranks,
 * tied scores sharing the average of their ranks.
 *
 * An attribute with no positives or no negatives (absent or constant on the rows looked at) has no
 * AUC: the functions return null, and by the paper's convention it adds nothing to D_S.
 */
import { badArgument, checkLabel, checkMatrix, checkSameLength, checkScore, resolveRows } from './args.js';

/**
 * AUC of `scores` against 0/1 `labels`; null when there are no positives or no negatives.
 * O(n log n). Throws SsseError('BAD_ARGUMENT') when the lengths differ, a label is not 0/1 or a
 * score is NaN.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const fn = 'auc';
  checkSameLength(fn, 'scores', scores, 'labels', labels);
  const n = scores.length;
  const s = new Float64Array(n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = scores[i] as number;
    checkScore(fn, 'scores', i, v);
    const l = labels[i] as number;
    checkLabel(fn, 'labels', i, l);
    s[i] = v;
    y[i] = l;
  }
  return aucUnchecked(s, y);
}

/**
 * AUC of every attribute of an n×A row-major score matrix against the n×A 0/1 label matrix,
 * over the rows in `rows` (e.g. the removed set S; all rows when omitted). Entry a is null when
 * attribute a has no positives or no negatives on those rows.
 */
export function attributeAucs(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  n: number,
  A: number,
  rows?: ArrayLike<number>,
): (number | null)[] {
  const fn = 'attributeAucs';
  checkMatrix(fn, n, A, [
    ['scores', scores],
    ['labels', labels],
  ]);
  const selected = resolveRows(fn, n, rows);
  const m = selected.length;
  const s = new Float64Array(m);
  const y = new Uint8Array(m);
  const out: (number | null)[] = [];
  for (let a = 0; a < A; a++) {
    for (let j = 0; j < m; j++) {
      const idx = (selected[j] as number) * A + a;
      const v = scores[idx] as number;
      if (Number.isNaN(v)) throw badArgument(fn, `scores[${idx}] (row ${selected[j]}, attribute ${a}) is NaN`);
      const l = labels[idx] as number;
      if (l !== 0 && l !== 1) {
        throw badArgument(fn, `labels[${idx}] (row ${selected[j]}, attribute ${a}) = ${String(l)} is not a 0/1 label`);
      }
      s[j] = v;
      y[j] = l;
    }
    out.push(aucUnchecked(s, y));
  }
  return out;
}

/** The AUC of checked inputs: sort once, then walk the groups of tied scores. */
function aucUnchecked(s: Float64Array, y: Uint8Array): number | null {
  const n = s.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] as number;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;

  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Comparison rather than subtraction, so that ±Infinity scores order correctly.
  order.sort((i, j) => {
    const a = s[i] as number;
    const b = s[j] as number;
    return a < b ? -1 : a > b ? 1 : 0;
  });

  // Each group of equal scores with p positives and q negatives contributes p·(negatives scored
  // strictly lower) + ½·p·q winning pairs: the same U as the average-rank formula, but counted in
  // integers and halves, so it is exact for any n below 2^26.
  let wins = 0;
  let negativesBelow = 0;
  let start = 0;
  while (start < n) {
    const value = s[order[start] as number] as number;
    let end = start;
    let p = 0;
    while (end < n && s[order[end] as number] === value) {
      p += y[order[end] as number] as number;
      end++;
    }
    const q = end - start - p;
    wins += p * negativesBelow + 0.5 * p * q;
    negativesBelow += q;
    start = end;
  }
  return wins / (positives * negatives);
}

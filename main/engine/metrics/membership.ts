/**
 * Membership inference by a loss threshold (Yeom et al. 2018): an attacker who sees a sample's
 * loss under the model guesses "was trained on" when the loss is low. Its success over all
 * thresholds is the AUC of the score −loss with the removed set S as positives and held-out test
 * samples as negatives: 0.5 means S looks like data the model never saw; above 0.5 the model
 * still "remembers" S. Computed for θ*, θ̂ and θ*_{−S}; θ̂'s needs no retraining.
 *
 * A sample's loss is the model's data term Σ_a −log p(y_a | x; θ) over all attributes; the L2 term
 * is the same for every sample and cannot move a threshold, so it is left out.
 */
import { auc } from './auc.js';
import { badArgument, checkMatrix } from './args.js';

/** −log p(y | z) for a Bernoulli with logit z: softplus(z) − y·z, without overflow. */
function negLogLik(z: number, y: number): number {
  const s = y === 1 ? -z : z;
  return Math.max(s, 0) + Math.log1p(Math.exp(-Math.abs(s)));
}

/** Per-sample losses Σ_a −log p(y_ia | z_ia) of an n×A logit matrix against its n×A 0/1 labels. */
export function sampleLosses(logits: ArrayLike<number>, labels: ArrayLike<number>, n: number, A: number): Float64Array {
  const fn = 'sampleLosses';
  checkMatrix(fn, n, A, [
    ['logits', logits],
    ['labels', labels],
  ]);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let a = 0; a < A; a++) {
      const idx = i * A + a;
      const z = logits[idx] as number;
      const y = labels[idx] as number;
      if (Number.isNaN(z)) throw badArgument(fn, `logits[${idx}] (row ${i}, attribute ${a}) is NaN`);
      if (y !== 0 && y !== 1) throw badArgument(fn, `labels[${idx}] (row ${i}, attribute ${a}) = ${String(y)} is not a 0/1 label`);
      s += negLogLik(z, y);
    }
    out[i] = s;
  }
  return out;
}

/**
 * AUC of the loss-threshold attack: the probability that a random member (S) has a lower loss
 * than a random non-member (test), ties counting ½. Null when either side is empty.
 */
export function membershipAuc(memberLosses: ArrayLike<number>, nonMemberLosses: ArrayLike<number>): number | null {
  const m = memberLosses.length;
  const t = nonMemberLosses.length;
  if (m === 0 || t === 0) return null;
  const scores = new Float64Array(m + t);
  const labels = new Uint8Array(m + t);
  for (let i = 0; i < m; i++) {
    scores[i] = -(memberLosses[i] as number);
    labels[i] = 1;
  }
  for (let i = 0; i < t; i++) scores[m + i] = -(nonMemberLosses[i] as number);
  return auc(scores, labels);
}

/** The attack's AUC from the logits of S (members) and of the test split (non-members). */
export function membershipAucFromLogits(
  removed: { logits: ArrayLike<number>; labels: ArrayLike<number>; n: number },
  test: { logits: ArrayLike<number>; labels: ArrayLike<number>; n: number },
  A: number,
): number | null {
  return membershipAuc(sampleLosses(removed.logits, removed.labels, removed.n, A), sampleLosses(test.logits, test.labels, test.n, A));
}

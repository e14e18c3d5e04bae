/**
 * ε for a whole-class erasure without any retraining: the smallest ε of the grid at which θ̂
 * predicts the removed classes for at most a fraction τ of S.
 *
 * Why it needs no retrained model: when S holds every training sample of the classes it touches,
 * the model retrained without S has never seen those classes, so it predicts them for almost none
 * of S (Fashion-MNIST's MLP, docs/results-nn.md: 0.00 ± 0.00% over four seeds). The gold
 * standard's accuracy on S is known in advance, and the rule asks θ̂ to reach it within τ. The
 * smallest such ε is taken because every larger step moves θ̂ further from θ* on the retained data
 * too (the test accuracy falls as ε grows past the point of forgetting). S is at hand at erasure
 * time, so the rule costs one evaluation of θ̂ on S per grid value.
 *
 * It does not apply to part of a class or a random removal (there the retrained model still
 * classifies most of S correctly), and such a request is refused with the figures.
 */
import { classCounts } from '../data/removal.js';
import { SsseError } from '../errors.js';

export const FORGET_RULE =
  'the smallest ε of the grid at which θ̂ classifies at most a fraction τ of S correctly: S holds whole classes, which the retrained model never saw, so its accuracy on S is near 0 without retraining';

/**
 * The classes S removes whole, in increasing order. Throws BAD_REQUEST, naming the class and the
 * counts, when S holds only part of a class's training samples.
 */
export function wholeClassesOf(classIds: Int32Array, removed: ArrayLike<number>, numClasses: number): number[] {
  const total = classCounts(classIds, numClasses);
  const inS = classCounts(classIds, numClasses, removed);
  const classes: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const k = inS[c] as number;
    if (k === 0) continue;
    if (k !== total[c]) {
      throw new SsseError(
        'BAD_REQUEST',
        `--forget-threshold: S holds ${k} of the ${total[c]} training samples of class ${c}; the rule needs whole classes ` +
          '(a model retrained without part of a class still recognises the rest of it), so choose ε by --calibrate-trials or the sweep instead',
      );
    }
    classes.push(c);
  }
  return classes;
}

export interface ForgetChoice {
  threshold: number;
  epsilon: number;
  /** θ̂'s accuracy on S at that ε. */
  accuracy_on_S: number;
}

/**
 * The smallest ε among `rows` (any order) whose accuracy on S is at most `threshold`. Throws
 * BAD_REQUEST with the lowest accuracy reached when no ε gets there.
 */
export function chooseForgetEpsilon(rows: readonly { epsilon: number; accuracy: { removed: number | null } }[], threshold: number): ForgetChoice {
  checkForgetThreshold(threshold);
  if (rows.length === 0) throw new SsseError('BAD_ARGUMENT', 'chooseForgetEpsilon: no ε was evaluated');
  let best: ForgetChoice | null = null;
  let lowest: { epsilon: number; accuracy: number } | null = null;
  for (const row of rows) {
    const acc = row.accuracy.removed;
    if (acc === null || !Number.isFinite(acc)) throw new SsseError('NUMERIC', `chooseForgetEpsilon: θ̂'s accuracy on S at ε = ${row.epsilon} is ${String(acc)}`);
    if (lowest === null || acc < lowest.accuracy) lowest = { epsilon: row.epsilon, accuracy: acc };
    if (acc <= threshold && (best === null || row.epsilon < best.epsilon)) best = { threshold, epsilon: row.epsilon, accuracy_on_S: acc };
  }
  if (best === null) {
    const low = lowest as { epsilon: number; accuracy: number };
    throw new SsseError(
      'BAD_REQUEST',
      `--forget-threshold ${threshold}: no ε of the sweep brings θ̂'s accuracy on S to ${threshold} or below ` +
        `(the lowest is ${low.accuracy.toFixed(4)} at ε = ${low.epsilon}); widen --epsilon-sweep or raise the threshold`,
    );
  }
  return best;
}

export function checkForgetThreshold(threshold: number): void {
  if (!(Number.isFinite(threshold) && threshold >= 0 && threshold < 1)) {
    throw new SsseError('BAD_ARGUMENT', `--forget-threshold: expected a fraction in [0, 1), got ${threshold}`);
  }
}

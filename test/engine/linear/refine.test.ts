import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { SsseError } from '../../../main/engine/errors.js';
import { leaveKOutDirection } from '../../../main/engine/linear/downdate.js';
import { fisherInverse } from '../../../main/engine/linear/fisher.js';
import type { LinearModel } from '../../../main/engine/linear/model.js';
import { lossGradientNorm, refineNewton, StepGradientNorms } from '../../../main/engine/linear/refine.js';
import { applyStep, removalGradient, ssseDirection } from '../../../main/engine/linear/ssseStep.js';
import { trainLinear } from '../../../main/engine/linear/train.js';
import {
  labelColumn,
  logisticGradient,
  newtonLogistic,
  norm2,
  randomFeatures,
  randomLabels,
  relFrob,
} from '../../helpers/reference.js';

before(async () => {
  await initBackend('auto');
});

function rowsOf<T extends Float32Array | Uint8Array>(src: T, width: number, rows: number[]): T {
  const out = new (src.constructor as new (n: number) => T)(rows.length * width);
  rows.forEach((i, r) => out.set(src.subarray(i * width, (i + 1) * width), r * width));
  return out;
}

describe('Newton refinement on L_{−S} from θ̂ (n = 300, d = 15, A = 2, k = 15)', () => {
  const n = 300;
  const d = 15;
  const A = 2;
  const l2 = 1e-4;
  const features = randomFeatures(n, d, 401);
  const labels = randomLabels(n, A, 402, 0.4);
  const removed = Array.from({ length: 15 }, (_, i) => 3 + 19 * i);
  const removedSet = new Set(removed);
  const kept = Array.from({ length: n }, (_, i) => i).filter((i) => !removedSet.has(i));
  const m = kept.length;
  const keptFeatures = rowsOf(features, d, kept);
  const keptLabels = rowsOf(labels, A, kept);
  const sFeatures = rowsOf(features, d, removed);
  const sLabels = rowsOf(labels, A, removed);
  let star: LinearModel;
  let hat: LinearModel;
  let direction: Float64Array;

  before(async () => {
    star = (await trainLinear(features, labels, n, d, A, { l2, seed: 7 })).model;
    const fisher = await fisherInverse(star, features, labels, n, { damping: l2, curvature: 'expected' });
    const gradient = removalGradient(star, sFeatures, sLabels, l2);
    direction = leaveKOutDirection(fisher, star, sFeatures, sLabels, gradient, n);
    hat = applyStep(star, direction, 1);
  });

  test('reaches θ*_{−S} retrained from the seed within 1e-4 relative, in fewer iterations, and matches the LU reference', async (t) => {
    const retrained = await trainLinear(keptFeatures, keptLabels, m, d, A, { l2, seed: 7 });
    const refined = await refineNewton(hat, keptFeatures, keptLabels, m, { l2, seed: 7 });
    const rel = relFrob(refined.model.weights, retrained.model.weights);
    const saved = retrained.iterations.reduce((s, v) => s + v, 0) - refined.iterations.reduce((s, v) => s + v, 0);
    t.diagnostic(`‖refined − retrained‖/‖retrained‖ = ${rel.toExponential(2)}; iterations ${refined.iterations} vs ${retrained.iterations} from the seed (saved ${saved})`);
    // Both runs are certified to 1e-6 relative of the unique optimum (‖w − w*‖ ≤ ‖∇L‖/λ), so they
    // can differ by ≲ 2e-6; the 1e-4 is met with room to spare.
    assert.ok(rel < 1e-4, `${rel}`);
    assert.ok(saved > 0, 'the warm start should save iterations');
    for (let a = 0; a < A; a++) {
      // An independent optimiser (LU-solved Newton from 0, reference.ts) on the same problem.
      const ref = newtonLogistic({ x: keptFeatures, y: labelColumn(keptLabels, m, A, a), n: m, d, l2 }, 1e-12);
      const w = refined.model.weights.subarray(a * d, (a + 1) * d);
      assert.ok(relFrob(w, ref.w) < 1e-4, `attribute ${a} vs reference: ${relFrob(w, ref.w)}`);
      // The strong-convexity certificate: ‖θ̂_a − θ*_{−S,a}‖ ≤ ‖∇_a L_{−S}(θ̂)‖/λ.
      const distance = Math.sqrt(w.reduce((s, v, j) => s + (v - (hat.weights[a * d + j] as number)) ** 2, 0));
      assert.ok(distance <= (refined.before.perAttribute[a] as number) / l2 * (1 + 1e-9), `attribute ${a}: certificate ${distance} > bound`);
    }
    assert.ok(refined.after.total < refined.before.total * 1e-3, `‖∇‖ ${refined.before.total} → ${refined.after.total}`);
  });

  test('lossGradientNorm equals the reference gradient of the retained mean loss', () => {
    const got = lossGradientNorm(hat, keptFeatures, keptLabels, m, l2);
    let total = 0;
    for (let a = 0; a < A; a++) {
      const ref = norm2(logisticGradient({ x: keptFeatures, y: labelColumn(keptLabels, m, A, a), n: m, d, l2 }, hat.weights.subarray(a * d, (a + 1) * d)));
      // Same sums in a different order, float64: a few ulps of the terms (|terms| ≲ 1 ≫ the result).
      assert.ok(Math.abs((got.perAttribute[a] as number) - ref) <= 1e-12 + 1e-9 * ref, `attribute ${a}: ${got.perAttribute[a]} vs ${ref}`);
      total += ref ** 2;
    }
    assert.ok(Math.abs(got.total - Math.sqrt(total)) <= 1e-12 + 1e-9 * got.total);
  });

  test('StepGradientNorms.at(ε) equals lossGradientNorm at θ* + ε·u; the full SSSE direction lowers ‖∇L_{−S}‖ below θ*’s', async () => {
    const steps = new StepGradientNorms(star, direction, keptFeatures, keptLabels, m, l2);
    for (const eps of [0, 0.5, 1, 3]) {
      const want = lossGradientNorm(applyStep(star, direction, eps), keptFeatures, keptLabels, m, l2).total;
      const got = steps.at(eps).total;
      // Logits by linearity vs recomputed: float64 rounding only.
      assert.ok(Math.abs(got - want) <= 1e-10 * Math.max(want, 1e-12), `ε = ${eps}: ${got} vs ${want}`);
    }
    assert.ok(steps.at(1).total < steps.at(0).total / 10, 'a Newton-like step should cut the gradient by far');
    const plain = ssseDirection(await fisherInverse(star, features, labels, n, { damping: l2 }), removalGradient(star, sFeatures, sLabels, l2), n, removed.length);
    assert.ok(new StepGradientNorms(star, plain, keptFeatures, keptLabels, m, l2).at(1).total > steps.at(1).total, 'leave-k-out + expected should be the better step');
  });

  test('bad shapes and warm starts throw BAD_ARGUMENT naming the argument; no tensor leaks', async () => {
    const bad = (re: RegExp) => (e: unknown) => e instanceof SsseError && e.code === 'BAD_ARGUMENT' && re.test(e.message);
    assert.throws(() => lossGradientNorm(hat, keptFeatures.subarray(1), keptLabels, m, l2), bad(/features has/));
    assert.throws(() => lossGradientNorm(hat, keptFeatures, keptLabels.subarray(1), m, l2), bad(/labels has/));
    assert.throws(() => new StepGradientNorms(star, direction.subarray(1), keptFeatures, keptLabels, m, l2), bad(/direction has/));
    const before = tf.memory().numTensors;
    await assert.rejects(trainLinear(keptFeatures, keptLabels, m, d, A, { l2, seed: 1, initialWeights: new Float64Array(3) }), bad(/initialWeights has 3 values/));
    const nan = Float64Array.from(hat.weights);
    nan[5] = Number.NaN;
    await assert.rejects(trainLinear(keptFeatures, keptLabels, m, d, A, { l2, seed: 1, initialWeights: nan }), bad(/initialWeights\[5\] is NaN/));
    assert.equal(tf.memory().numTensors, before);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../../main/engine/backend.js';
import { loadDataset } from '../../../main/engine/data/dataset.js';
import { DEFAULT_CONFIG, eraseLinear } from '../../../main/engine/erase.js';
import { classAccuracyBySplit, type ClassAccuracy } from '../../../main/engine/linear/classAccuracy.js';
import type { LinearModel } from '../../../main/engine/linear/model.js';
import { tempDir, writeSmallNpyDataset } from '../../helpers/fixtures.js';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Independent reference: scores in float64 straight from the weights, the predicted class the
 * first largest score, counts per class. Exact comparison: both sides count the same integers
 * (scores are compared, never summed differently enough to flip an argmax on this data; the
 * reference uses float64 throughout).
 */
function reference(model: LinearModel, features: Float32Array, classIds: Int32Array, n: number): (number | null)[] {
  const { d, A, weights } = model;
  const hits = new Array<number>(A).fill(0);
  const counts = new Array<number>(A).fill(0);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestScore = -Infinity;
    for (let a = 0; a < A; a++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += (weights[a * d + j] as number) * (features[i * d + j] as number);
      if (z > bestScore) {
        bestScore = z;
        best = a;
      }
    }
    const c = classIds[i] as number;
    counts[c] = (counts[c] as number) + 1;
    if (best === c) hits[c] = (hits[c] as number) + 1;
  }
  return counts.map((m, c) => (m === 0 ? null : (hits[c] as number) / m));
}

test('classAccuracyBySplit: argmax class per sample, accuracy per class, null for absent classes and splits', () => {
  // d = 2, A = 3: class 0 wins for x = (1, 0), class 1 for (0, 1), class 2 for (-1, -1).
  const model: LinearModel = { d: 2, A: 3, weights: Float64Array.from([1, 0, 0, 1, -1, -1]) };
  const features = Float32Array.from([1, 0, 0, 1, -1, -1, 1, 0]);
  const classIds = Int32Array.from([0, 1, 2, 1]); // the last is class 1 predicted as 0
  const r = classAccuracyBySplit(model, { removed: { features, classIds, n: 4 }, retained: null, test: { features: new Float32Array(0), classIds: new Int32Array(0), n: 0 } });
  assert.deepEqual(r, { removed: [1, 0.5, 1], retained: null, test: null });
  const absent = classAccuracyBySplit(model, { removed: { features: features.subarray(0, 2), classIds: Int32Array.from([0]), n: 1 }, retained: null, test: null });
  assert.deepEqual(absent.removed, [1, null, null]);
});

test('eraseLinear reports per-class accuracy on S, D \\ S and test for θ*, θ̂ and θ*₋S, matching the reference', async () => {
  const dir = tempDir('ssse-class-acc-');
  try {
    const data = loadDataset(writeSmallNpyDataset(path.join(dir, 'data'), 200, 60));
    await initBackend('auto');
    const removed = [3, 17, 18, 40, 41, 42, 99, 150];
    const out = await eraseLinear(data, removed, { ...DEFAULT_CONFIG, damping: 1e-4, epsilon: 1, epsilonGrid: [1], verify: 'retrain' });
    const ca = out.summary.class_accuracy;
    assert.ok(ca && ca.retrained && out.thetaRetrained);
    const classIds = data.train.classIds as Int32Array;
    const d = data.d;
    const rows = (list: number[]) => ({
      features: Float32Array.from(list.flatMap((r) => Array.from(data.train.features.subarray(r * d, (r + 1) * d)))),
      classIds: Int32Array.from(list, (r) => classIds[r] as number),
      n: list.length,
    });
    const kept = Array.from({ length: 200 }, (_, i) => i).filter((i) => !removed.includes(i));
    const test = data.test;
    assert.ok(test && test.classIds);
    for (const [key, model] of [['star', out.thetaStar], ['hat', out.thetaHat], ['retrained', out.thetaRetrained]] as const) {
      const got: ClassAccuracy | null = ca[key];
      assert.ok(got);
      const s = rows(removed);
      const k = rows(kept);
      assert.deepEqual(got.removed, reference(model, s.features, s.classIds, s.n), `${key} on S`);
      assert.deepEqual(got.retained, reference(model, k.features, k.classIds, k.n), `${key} on D \\ S`);
      assert.deepEqual(got.test, reference(model, test.features, test.classIds, test.n), `${key} on test`);
    }
    assert.equal(ca.star.removed?.length, 10);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

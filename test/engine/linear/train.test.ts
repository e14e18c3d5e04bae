import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { trainLinear } from '../../../main/engine/linear/train.js';
import { labelColumn, newtonLogistic, norm2, randomFeatures, randomLabels } from '../../helpers/reference.js';

before(async () => {
  await initBackend('auto');
});

describe('trainLinear with the blocked Cholesky Newton solve', () => {
  test('reaches the float64 optimum of an independent LU-Newton reference when d spans several blocks', async (t) => {
    // d = 200 > the default 128-row diagonal block, so the Newton solves go through backend panels.
    const n = 500;
    const d = 200;
    const A = 2;
    const l2 = 1e-2;
    const features = randomFeatures(n, d, 501);
    const labels = randomLabels(n, A, 502, 0.3);
    const before = tf.memory().numTensors;
    const result = await trainLinear(features, labels, n, d, A, { l2, seed: 1, tolerance: 1e-8 });
    assert.equal(tf.memory().numTensors, before, 'tensor leak');
    for (let a = 0; a < A; a++) {
      const ref = newtonLogistic({ x: features, y: labelColumn(labels, n, A, a), n, d, l2 }, 1e-12);
      const w = result.model.weights.subarray(a * d, (a + 1) * d);
      const diff = norm2(w.map((v, j) => v - (ref.w[j] as number))) / norm2(ref.w);
      // Both stop on the gradient, so both are within ‖∇L‖/λ of w*: trainLinear's certificate is
      // tolerance = 1e-8 (relative), the reference's 1e-12/λ/‖w‖ ≪ that. The float32 Hessian only
      // steers the steps; a wrong solve would stall far above this.
      t.diagnostic(`attribute ${a}: ‖w − w_ref‖/‖w_ref‖ = ${diff.toExponential(2)} after ${result.iterations[a]} iterations (reference ${ref.iterations})`);
      assert.ok(diff < 2e-8, `${diff}`);
      assert.ok((result.errorBounds[a] as number) <= 1e-8 * norm2(w) * 1.0001);
    }
  });
});

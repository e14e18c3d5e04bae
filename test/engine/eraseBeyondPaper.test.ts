import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { obtainFisher, obtainThetaStar, readFisher, readThetaStar } from '../../main/engine/artefacts.js';
import { ArtefactCache } from '../../main/engine/cache.js';
import { initBackend } from '../../main/engine/backend.js';
import { datasetFingerprint, DEFAULT_CONFIG, eraseLinear, type EraseConfig, type EraseOutcome } from '../../main/engine/erase.js';
import type { LinearModel } from '../../main/engine/linear/model.js';
import { labelColumn, logisticGradient, negLogLikelihood, norm2, relFrob } from '../helpers/reference.js';
import { syntheticDataset } from '../helpers/synthetic.js';
import { DEFAULT_FISHER_METHOD } from '../../main/engine/linear/fisher.js';

/**
 * eraseLinear's additions: leave-k-out, ε source, ‖∇L_{−S}‖ (summary and sweep rows), membership
 * AUC, Newton refinement; each checked against a quantity recomputed here from the outputs with
 * the independent references.
 */

const ds = syntheticDataset({ n: 360, nTest: 150, d: 12, classes: 3, seed: 21 });
const removed = Array.from({ length: 18 }, (_, i) => 5 + 19 * i);
const n = ds.train.n;
const { d, A } = ds;
const removedSet = new Set(removed);
const kept = Array.from({ length: n }, (_, i) => i).filter((i) => !removedSet.has(i));

function rows<T extends Float32Array | Uint8Array>(src: T, width: number, which: number[]): T {
  const out = new (src.constructor as new (m: number) => T)(which.length * width);
  which.forEach((i, r) => out.set(src.subarray(i * width, (i + 1) * width), r * width));
  return out;
}

/** ‖∇L_{−S}(θ)‖ over all attributes, from the reference gradient on D \ S. */
function referenceGradientNorm(model: LinearModel, l2: number): number {
  const x = rows(ds.train.features, d, kept);
  const y = rows(ds.train.labels, A, kept);
  let s = 0;
  for (let a = 0; a < A; a++) {
    s += norm2(logisticGradient({ x, y: labelColumn(y, kept.length, A, a), n: kept.length, d, l2 }, model.weights.subarray(a * d, (a + 1) * d))) ** 2;
  }
  return Math.sqrt(s);
}

/** Membership AUC by pair counting, with losses from the reference −log p. */
function referenceMembership(model: LinearModel): number {
  const loss = (x: Float32Array, y: Uint8Array, i: number) => {
    let s = 0;
    for (let a = 0; a < A; a++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += (x[i * d + j] as number) * (model.weights[a * d + j] as number);
      s += negLogLikelihood(z, y[i * A + a] as number);
    }
    return s;
  };
  const test = ds.test!;
  const members = removed.map((i) => loss(ds.train.features, ds.train.labels, i));
  const others = Array.from({ length: test.n }, (_, i) => loss(test.features, test.labels, i));
  let wins = 0;
  for (const m of members) for (const o of others) wins += m < o ? 1 : m === o ? 0.5 : 0;
  return wins / (members.length * others.length);
}

describe('eraseLinear with leave-k-out, gradient norms, membership AUC and Newton refinement', () => {
  let cacheDir: string;
  let config: EraseConfig;
  let outcome: EraseOutcome;

  before(async () => {
    await initBackend('auto');
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-beyond-'));
    config = { ...DEFAULT_CONFIG, damping: 1e-4, epsilonGrid: [0.5, 1, 2], curvature: 'expected', leaveKOut: true, refine: 'newton', cacheDir };
    outcome = await eraseLinear(ds, removed, config);
  });

  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  test('summary records the setting: curvature, leave_k_out, epsilon_source, data_access', () => {
    const s = outcome.summary;
    assert.equal(s.curvature, 'expected');
    assert.equal(s.leave_k_out, true);
    assert.equal(s.epsilon_source, 'sweep');
    assert.equal(s.data_access, 'full');
    assert.equal(s.sweep.length, 3);
  });

  test('gradient norms (summary and every sweep row) equal the reference ‖∇L_{−S}‖; the bound ‖θ̂ − θ*_{−S}‖ ≤ ‖∇‖/λ holds', () => {
    const s = outcome.summary;
    const g = s.gradient_norm!;
    // Same sums in another order, float64: relative 1e-9 is generous.
    const close = (a: number | null, b: number) => a !== null && Math.abs(a - b) <= 1e-9 * b + 1e-15;
    assert.ok(close(g.theta_star, referenceGradientNorm(outcome.thetaStar, 1e-4)));
    assert.ok(close(g.theta_hat, referenceGradientNorm(outcome.thetaHat, 1e-4)));
    assert.ok(close(g.refined, referenceGradientNorm(outcome.thetaRefined!, 1e-4)));
    for (const row of s.sweep) {
      const hat: LinearModel = { d, A, weights: outcome.thetaStar.weights.map((w, i) => w + row.epsilon * ((outcome.thetaHat.weights[i] as number) - w) / s.epsilon) };
      assert.ok(close(row.gradient_norm ?? null, referenceGradientNorm(hat, 1e-4)), `ε = ${row.epsilon}`);
    }
    const distance = Math.sqrt(outcome.thetaHat.weights.reduce((acc, w, i) => acc + (w - (outcome.thetaRetrained!.weights[i] as number)) ** 2, 0));
    assert.ok(distance <= (g.theta_hat_distance_bound as number) * (1 + 1e-9), `${distance} > ${g.theta_hat_distance_bound}`);
    // Leave-k-out with the exact Hessian is (nearly) a Newton step on L_{−S}: it must cut the gradient.
    assert.ok((g.theta_hat as number) < (g.theta_star as number) / 5, `${g.theta_hat} vs ${g.theta_star}`);
  });

  test('membership AUC of θ*, θ̂, θ*_{−S} and the refined model equals the pair count of reference losses', () => {
    const m = outcome.summary.membership_auc!;
    // Exact rationals computed in halves on both sides; losses differ by ulps at most, which can
    // only flip exact ties: none occur with these continuous features.
    assert.ok(Math.abs((m.star as number) - referenceMembership(outcome.thetaStar)) < 1e-12);
    assert.ok(Math.abs((m.hat as number) - referenceMembership(outcome.thetaHat)) < 1e-12);
    assert.ok(Math.abs((m.retrained as number) - referenceMembership(outcome.thetaRetrained!)) < 1e-12);
    assert.ok(Math.abs((m.refined as number) - referenceMembership(outcome.thetaRefined!)) < 1e-12);
    const row = outcome.summary.sweep.find((r) => r.epsilon === outcome.summary.epsilon);
    assert.equal(row?.membership_auc, m.hat);
  });

  test('--refine newton lands on the retrained θ*_{−S} within 1e-4 relative and records the iterations it saved', () => {
    const r = outcome.summary.refine!;
    assert.equal(r.method, 'newton');
    const rel = relFrob(outcome.thetaRefined!.weights, outcome.thetaRetrained!.weights);
    assert.ok(rel < 1e-4, `${rel}`);
    assert.ok(Math.abs((r.relative_distance_to_retrained as number) - rel) <= 1e-12 + 1e-9 * rel);
    const fromSeed = outcome.summary.retraining!.iterations.reduce((s, v) => s + v, 0);
    assert.equal(r.retrain_iterations_total, fromSeed);
    assert.equal(r.iterations_total, r.iterations.reduce((s, v) => s + v, 0));
    assert.equal(r.iterations_saved, fromSeed - r.iterations_total);
    assert.ok((r.iterations_saved as number) > 0);
    // Same quantity; the summary's comes from logits linear in ε, refine's from θ̂'s own logits.
    assert.ok(Math.abs(r.gradient_norm_before - (outcome.summary.gradient_norm!.theta_hat as number)) <= 1e-9 * r.gradient_norm_before);
  });

  test('the artefact helpers use eraseLinear\'s cache keys: θ* and F̂⁻¹ are found, not recomputed', async () => {
    const cache = new ArtefactCache(cacheDir);
    const fp = datasetFingerprint(ds);
    const params = { l2: 1e-4, damping: 1e-4, seed: 0, tolerance: 1e-6, fisherMethod: DEFAULT_FISHER_METHOD };
    const star = readThetaStar(cache, fp, d, A, params);
    assert.ok(star);
    assert.deepEqual(star.model.weights, outcome.thetaStar.weights);
    const fisher = readFisher(cache, fp, outcome.thetaStar, 'expected', params);
    assert.ok(fisher);
    assert.deepEqual(fisher.blocks, outcome.fisher.blocks);
    assert.equal(readFisher(cache, fp, outcome.thetaStar, 'empirical', params), null);
    const before = tf.memory().numTensors;
    assert.equal((await obtainThetaStar(ds, fp, params, cache)).cache, 'hit');
    assert.equal((await obtainFisher(ds, fp, outcome.thetaStar, 'expected', params, cache)).cache, 'hit');
    assert.equal(tf.memory().numTensors, before);
  });
});

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '../../main/engine/backend.js';
import type { Dataset } from '../../main/engine/data/types.js';
import { datasetFingerprint, DEFAULT_CONFIG, eraseLinear, type EraseConfig, type EraseOutcome } from '../../main/engine/erase.js';
import { eraseFromStoredModel } from '../../main/engine/eraseRequest.js';
import { SsseError } from '../../main/engine/errors.js';
import { syntheticDataset } from '../helpers/synthetic.js';

/**
 * SSSE's promise, proved: an erasure with a given ε (from calibration.json) reads S's training
 * rows and the stored artefacts, and nothing else of the training set. The training arrays are
 * wrapped so that reading any element, any slice or the underlying buffer outside S's rows throws.
 */

class OutsideS extends Error {}

/** Wraps an n×width row-major array: any read that reaches a row not in `allowed` throws OutsideS. */
function guarded<T extends Float32Array | Uint8Array>(array: T, width: number, allowed: Set<number>, reads: { rows: number }): T {
  const checkRange = (begin: number, end: number) => {
    for (let row = Math.floor(begin / width); row * width < end; row++) {
      if (!allowed.has(row)) throw new OutsideS(`training row ${row} (outside S) was read`);
      reads.rows++;
    }
  };
  return new Proxy(array, {
    get(target, prop) {
      if (typeof prop === 'string' && /^\d+$/.test(prop)) {
        const i = Number(prop);
        checkRange(i, i + 1);
        return target[i];
      }
      if (prop === 'length' || prop === 'constructor' || prop === 'BYTES_PER_ELEMENT') return Reflect.get(target, prop);
      if (prop === 'subarray') {
        return (begin = 0, end = target.length) => {
          checkRange(begin, end);
          return target.subarray(begin, end);
        };
      }
      // buffer, slice, map, iteration, …: each would expose every row at once.
      throw new OutsideS(`the whole training array was reached through .${String(prop)}`);
    },
  });
}

function guardedDataset(ds: Dataset, removed: number[], reads: { rows: number }): Dataset {
  const allowed = new Set(removed);
  return {
    ...ds,
    train: {
      ...ds.train,
      features: guarded(ds.train.features, ds.d, allowed, reads),
      labels: guarded(ds.train.labels, ds.A, allowed, reads),
      classIds: null,
    },
  };
}

describe('an erasure from S and the stored artefacts reads no other training sample', () => {
  const ds = syntheticDataset({ n: 300, nTest: 120, d: 10, classes: 3, seed: 11 });
  const removed = [2, 3, 50, 77, 120, 121, 199, 250, 251, 299];
  let cacheDir: string;
  let config: EraseConfig;
  let full: EraseOutcome;

  before(async () => {
    await initBackend('auto');
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-request-'));
    config = { ...DEFAULT_CONFIG, damping: 1e-4, epsilon: 1.3, verify: 'none', curvature: 'expected', leaveKOut: true, cacheDir, epsilonSource: 'calibration' };
    // Certifying the model (θ*, F̂⁻¹ into the cache) legitimately reads everything; the full
    // path with the same ε is also the reference result.
    full = await eraseLinear(ds, removed, config);
  });

  after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

  test('the guard works: the full path (fingerprint, D \\ S metrics) trips it', async () => {
    const reads = { rows: 0 };
    await assert.rejects(eraseLinear(guardedDataset(ds, removed, reads), removed, config), OutsideS);
  });

  for (const leaveKOut of [true, false]) {
    test(`eraseFromStoredModel (leave-k-out ${leaveKOut}) reads only S's rows and gives the full path's θ̂ bit for bit`, async () => {
      const reference = leaveKOut ? full : await eraseLinear(ds, removed, { ...config, leaveKOut });
      const reads = { rows: 0 };
      const outcome = await eraseFromStoredModel(guardedDataset(ds, removed, reads), removed, {
        ...config,
        leaveKOut,
        modelFingerprint: datasetFingerprint(ds),
      });
      assert.ok(reads.rows >= removed.length, 'S itself must have been read');
      assert.deepEqual(outcome.thetaHat.weights, reference.thetaHat.weights);
      const s = outcome.summary;
      assert.equal(s.data_access, 'removed_only');
      assert.equal(s.epsilon_source, 'calibration');
      assert.equal(s.leave_k_out, leaveKOut);
      assert.equal(s.epsilon, 1.3);
      assert.equal(s.cache.theta_star, 'hit');
      assert.equal(s.cache.fisher, 'hit');
      assert.equal(s.gradient_norm?.theta_hat, null, 'a gradient norm on D \\ S cannot be known from S');
      assert.equal(s.accuracy.hat.retained, null);
      // What S and the test split do tell, identical to the full path's.
      assert.deepEqual(s.auc.hat, reference.summary.auc.hat);
      assert.equal(s.accuracy.hat.removed, reference.summary.accuracy.hat.removed);
      assert.equal(s.accuracy.hat.test, reference.summary.accuracy.hat.test);
      assert.equal(s.membership_auc?.hat, reference.summary.membership_auc?.hat);
      assert.equal(s.membership_auc?.star, reference.summary.membership_auc?.star);
      assert.equal(s.parameter_sha256.hat, reference.summary.parameter_sha256.hat);
    });
  }

  test('missing artefacts, a retraining or --no-cache are refused with a clear error, never computed', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-request-empty-'));
    try {
      const reads = { rows: 0 };
      const g = guardedDataset(ds, removed, reads);
      const fp = datasetFingerprint(ds);
      const is = (code: string, re: RegExp) => (e: unknown) => e instanceof SsseError && e.code === code && re.test(e.message);
      await assert.rejects(eraseFromStoredModel(g, removed, { ...config, cacheDir: empty, modelFingerprint: fp }), is('BAD_REQUEST', /θ\* of this model is not stored.*never trains/));
      await assert.rejects(eraseFromStoredModel(g, removed, { ...config, curvature: 'empirical', modelFingerprint: fp }), is('BAD_REQUEST', /empirical curvature\) of this model is not stored/));
      await assert.rejects(eraseFromStoredModel(g, removed, { ...config, modelFingerprint: 'f'.repeat(64) }), is('BAD_REQUEST', /not stored/));
      await assert.rejects(eraseFromStoredModel(g, removed, { ...config, verify: 'retrain', modelFingerprint: fp }), is('BAD_ARGUMENT', /cannot retrain or refine/));
      await assert.rejects(eraseFromStoredModel(g, removed, { ...config, refine: 'newton', modelFingerprint: fp }), is('BAD_ARGUMENT', /cannot retrain or refine/));
      await assert.rejects(eraseFromStoredModel(g, removed, { ...config, cacheDir: null, modelFingerprint: fp }), is('BAD_ARGUMENT', /--no-cache/));
      await assert.rejects(eraseFromStoredModel(g, removed, { ...config, epsilon: null, modelFingerprint: fp }), is('BAD_ARGUMENT', /needs ε/));
      assert.equal(reads.rows, 0, 'refused requests read nothing');
      assert.deepEqual(fs.readdirSync(empty), [], 'and write nothing');
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

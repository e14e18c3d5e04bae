import { after, before, describe, test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../main/engine/backend.js';
import { loadDataset } from '../../main/engine/data/dataset.js';
import { DEFAULT_CONFIG, eraseLinear, type EraseConfig } from '../../main/engine/erase.js';
import { SsseError } from '../../main/engine/errors.js';
import { sha256Bytes } from '../../main/engine/hash.js';
import { tempDir, writeDataset } from '../helpers/storeFixtures.js';

const REMOVED = [2, 9, 15, 40, 77];

function config(overrides: Partial<EraseConfig> = {}): EraseConfig {
  return { ...DEFAULT_CONFIG, damping: 1e-4, epsilon: 1.5, verify: 'none', cacheDir: null, ...overrides };
}

describe('eraseLinear with a provided θ* and F̂⁻¹', () => {
  const dir = tempDir('provided');
  before(async () => {
    await initBackend('cpu');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('gives exactly the same θ̂ as computing them, without training or building F̂⁻¹', async () => {
    const dataset = loadDataset(writeDataset(path.join(dir, 'a')));
    const computed = await eraseLinear(dataset, REMOVED, config());
    const tensors = tf.memory().numTensors;
    const phases = new Set<string>();
    const given = await eraseLinear(dataset, REMOVED, config({ provided: { thetaStar: computed.thetaStar, fisher: computed.fisher }, onProgress: (e) => phases.add(`${e.phase}:${e.done}/${e.total}`) }));
    assert.deepEqual(given.thetaHat.weights, computed.thetaHat.weights);
    assert.deepEqual(given.summary.cache, { dir: null, theta_star: 'provided', fisher: 'provided' });
    assert.deepEqual(given.summary.training.iterations, null, 'nothing was trained');
    assert.ok(phases.has('train:3/3') && phases.has('fisher:3/3') && !phases.has('train:0/3'));
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaked');
  });

  test('uses the θ* it is given: a different θ* moves θ̂ by exactly the difference plus the step from it', async () => {
    const dataset = loadDataset(writeDataset(path.join(dir, 'b')));
    const computed = await eraseLinear(dataset, REMOVED, config());
    const shifted = { ...computed.thetaStar, weights: computed.thetaStar.weights.map((w) => w + 0.01) };
    const r = await eraseLinear(dataset, REMOVED, config({ provided: { thetaStar: shifted, fisher: computed.fisher } }));
    assert.equal(r.summary.parameter_sha256.star, sha256Bytes(shifted.weights));
    assert.notDeepEqual(r.thetaHat.weights, computed.thetaHat.weights);
  });

  test('refuses artefacts that do not fit the data or the settings, naming what differs', async () => {
    const dataset = loadDataset(writeDataset(path.join(dir, 'c')));
    const computed = await eraseLinear(dataset, REMOVED, config());
    const wrongShape = { d: 3, A: 3, weights: new Float64Array(9) };
    await assert.rejects(eraseLinear(dataset, REMOVED, config({ provided: { thetaStar: wrongShape } })), (e: unknown) => e instanceof SsseError && /provided θ\* is 3×3 \(9 values\), the dataset needs d×A = 10×3/.test(e.message));
    await assert.rejects(
      eraseLinear(dataset, REMOVED, config({ damping: 1e-3, provided: { fisher: computed.fisher } })),
      (e: unknown) => e instanceof SsseError && /provided F̂⁻¹ was computed with damping 0\.0001 \(asked 0\.001\)/.test(e.message),
    );
    await assert.rejects(
      eraseLinear(dataset, REMOVED, config({ curvature: 'expected', provided: { fisher: computed.fisher } })),
      (e: unknown) => e instanceof SsseError && /curvature empirical \(asked expected\)/.test(e.message),
    );
  });
});

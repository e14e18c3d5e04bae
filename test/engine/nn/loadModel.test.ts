import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { loadLayersModelFromFiles, modelFiles } from '../../../main/engine/nn/loadModel.js';
import { disposeNetwork, getParams, initialParams, predictLogits, setParams } from '../../../main/engine/nn/network.js';
import { buildNetwork } from '../../../main/engine/nn/spec.js';
import { randomFeatures } from '../../helpers/reference.js';

before(async () => {
  await initBackend('wasm');
});

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-model-'));
}

/** Saves a tfjs model the way model.save('file://…') lays it out: model.json + weights.bin. */
async function saveModel(model: tf.LayersModel, dir: string): Promise<string> {
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const parts = Array.isArray(a.weightData) ? a.weightData : [a.weightData as ArrayBuffer];
      fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.concat(parts.map((b) => Buffer.from(b))));
      fs.writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(dir, 'model.json');
}

test('a saved network loads back with the same parameters and logits', async () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [6, 5] }, [8], 3);
  const dir = tmpDir();
  try {
    setParams(net, initialParams(net, 3));
    const files = await modelFiles(net, 'w.bin');
    fs.writeFileSync(path.join(dir, 'model.json'), files.json);
    fs.writeFileSync(path.join(dir, 'w.bin'), files.weights);
    const loaded = await loadLayersModelFromFiles(path.join(dir, 'model.json'));
    try {
      assert.equal(loaded.softmaxRemoved, false);
      assert.equal(loaded.net.p, net.p);
      assert.deepEqual(loaded.net.params.map((p) => p.shape), net.params.map((p) => p.shape));
      assert.deepEqual(getParams(loaded.net), getParams(net));
      const x = randomFeatures(5, 8, 1);
      assert.deepEqual(predictLogits(loaded.net, x), predictLogits(net, x));
      assert.equal(loaded.files.length, 2);
      assert.match(loaded.sha256, /^[0-9a-f]{64}$/);
    } finally {
      disposeNetwork(loaded.net);
    }
  } finally {
    disposeNetwork(net);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a softmax output layer is turned into logits', async () => {
  const dir = tmpDir();
  const model = tf.sequential({
    layers: [tf.layers.dense({ units: 4, activation: 'tanh', inputShape: [3] }), tf.layers.dense({ units: 3, activation: 'softmax' })],
  });
  try {
    const file = await saveModel(model, dir);
    const loaded = await loadLayersModelFromFiles(file);
    try {
      assert.equal(loaded.softmaxRemoved, true);
      const x = randomFeatures(4, 3, 2);
      const logits = predictLogits(loaded.net, x);
      const probs = tf.tidy(() => (model.predict(tf.tensor2d(x, [4, 3])) as tf.Tensor).dataSync());
      // softmax(logits) must reproduce the original model's probabilities (float32 rounding only).
      for (let i = 0; i < 4; i++) {
        const z = Array.from(logits.subarray(i * 3, i * 3 + 3));
        const m = Math.max(...z);
        const e = z.map((v) => Math.exp(v - m));
        const s = e.reduce((a, b) => a + b, 0);
        e.forEach((v, c) => assert.ok(Math.abs(v / s - (probs[i * 3 + c] as number)) < 1e-6));
      }
    } finally {
      disposeNetwork(loaded.net);
    }
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unsupported layer is refused with an error naming it', async () => {
  const dir = tmpDir();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ units: 4, inputShape: [3], name: 'hidden' }),
      tf.layers.batchNormalization({ name: 'bn_1' }),
      tf.layers.dense({ units: 2, name: 'out' }),
    ],
  });
  try {
    const file = await saveModel(model, dir);
    await assert.rejects(loadLayersModelFromFiles(file), (e: Error) => {
      assert.match(e.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: layer 1 'bn_1' \\(BatchNormalization\\) is not supported`));
      assert.match(e.message, /fold them into the previous layer/);
      return true;
    });
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a non-logit output, a missing or short weight file and a bad model.json are clear errors', async () => {
  const dir = tmpDir();
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], activation: 'sigmoid', name: 'prob' })] });
  try {
    const file = await saveModel(model, dir);
    await assert.rejects(loadLayersModelFromFiles(file), /the output layer 0 'prob' \(Dense\) has activation 'sigmoid'; the engine needs class logits/);

    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { modelTopology: { config: { layers: { config: { activation: string } }[] } } };
    (json.modelTopology.config.layers[0] as { config: { activation: string } }).config.activation = 'linear';
    fs.writeFileSync(file, JSON.stringify(json));
    const weights = path.join(dir, 'weights.bin');
    const full = fs.readFileSync(weights);
    fs.writeFileSync(weights, full.subarray(0, full.length - 4));
    await assert.rejects(loadLayersModelFromFiles(file), new RegExp(`${weights.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: weightsManifest\\[0\\] describes 32 bytes of weights but its files hold 28`));
    fs.rmSync(weights);
    await assert.rejects(loadLayersModelFromFiles(file), /weights\.bin: weight file not found \(named by .*model\.json\)/);
    fs.writeFileSync(file, '{"modelTopology": ');
    await assert.rejects(loadLayersModelFromFiles(file), /model\.json: is not valid JSON/);
    await assert.rejects(loadLayersModelFromFiles(path.join(dir, 'nope.json')), /nope\.json: model file not found/);
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a NaN or infinite weight is refused at load, naming the weight and element, not later in the Fisher', async () => {
  const dir = tmpDir();
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], name: 'logits' })] });
  try {
    const file = await saveModel(model, dir);
    const weights = path.join(dir, 'weights.bin');
    const clean = fs.readFileSync(weights);
    // The manifest stores the kernel [3, 2] (6 floats) then the bias [2]: element 4 of the kernel
    // is byte 16, the bias's element 1 is byte 4·(6 + 1) = 28.
    for (const [offset, value, name, element] of [
      [16, Number.NaN, 'logits/kernel', 4],
      [28, Number.POSITIVE_INFINITY, 'logits/bias', 1],
    ] as const) {
      const bad = Buffer.from(clean);
      bad.writeFloatLE(value, offset);
      fs.writeFileSync(weights, bad);
      const before = tf.memory().numTensors;
      await assert.rejects(
        loadLayersModelFromFiles(file),
        (e: Error) => e.message.includes(`model.json: weight '${name}'`) && e.message.includes(`holds ${String(value)} at element ${element}`) && e.message.includes('every weight must be a finite number'),
      );
      assert.equal(tf.memory().numTensors, before, 'the refused model is disposed');
    }
    fs.writeFileSync(weights, clean);
    const loaded = await loadLayersModelFromFiles(file);
    disposeNetwork(loaded.net);
  } finally {
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

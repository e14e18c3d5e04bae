/**
 * Bring your own model: a TensorFlow.js Layers model on disk (`model.json` plus the binary
 * weight files its weightsManifest names, as written by `model.save('file://…')` or by
 * tensorflowjs_converter from Keras).
 *
 * The engine needs the model to map one input to C class logits with layers whose gradients it
 * can compute and whose training it can reproduce. Accepted layers: InputLayer, Dense, Conv2D
 * (channels_last, dilation 1), MaxPooling2D, AveragePooling2D, Flatten, Reshape, Activation and
 * ReLU, with activations linear, relu, relu6, elu, selu, tanh, sigmoid, softplus, and softmax on
 * the output layer only. A softmax output is turned into logits (its activation set to linear):
 * the loss applies the softmax itself, in a numerically stable log-softmax. Anything else (batch
 * normalisation's running statistics, dropout's unseeded noise, recurrent layers…) is refused
 * with an error naming the layer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { firstNonFinite } from '../data/finite.js';
import { DataError, SsseError } from '../errors.js';
import { sha256Bytes } from '../hash.js';
import { networkFromModel, type Network } from './network.js';

const ALLOWED_LAYERS = new Set([
  'InputLayer',
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'Flatten',
  'Reshape',
  'Activation',
  'ReLU',
]);
const ALLOWED_ACTIVATIONS = new Set(['linear', 'relu', 'relu6', 'elu', 'selu', 'tanh', 'sigmoid', 'softplus']);

type Json = Record<string, unknown>;

interface LayerEntry {
  class_name: string;
  config: Json;
  name?: string;
}

export interface LoadedModel {
  net: Network;
  /** Whether a softmax output activation was replaced by logits. */
  softmaxRemoved: boolean;
  /** SHA-256 over model.json and the weight files, in manifest order. */
  sha256: string;
  files: string[];
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The layer list of a Sequential or functional topology (config.layers, or an older bare list). */
function layerList(file: string, topology: Json): LayerEntry[] {
  const className = topology['class_name'];
  const config = topology['config'];
  const layers = Array.isArray(config) ? config : isObject(config) ? config['layers'] : undefined;
  if (typeof className !== 'string' || !Array.isArray(layers)) {
    throw new DataError(file, 'modelTopology is not a Keras/TensorFlow.js Layers topology (no class_name and config.layers)');
  }
  if (className !== 'Sequential' && className !== 'Model' && className !== 'Functional') {
    throw new DataError(file, `modelTopology: class ${className} is not supported (expected Sequential or a functional Model)`);
  }
  return layers.map((l, i) => {
    if (!isObject(l) || typeof l['class_name'] !== 'string' || !isObject(l['config'])) {
      throw new DataError(file, `modelTopology: layer ${i} has no class_name and config`);
    }
    return l as unknown as LayerEntry;
  });
}

/** Index of the output layer: config.output_layers[0] of a functional model, else the last layer. */
function outputIndex(topology: Json, layers: LayerEntry[]): number {
  const config = topology['config'];
  const outputs = isObject(config) ? config['output_layers'] : undefined;
  const first = Array.isArray(outputs) && Array.isArray(outputs[0]) ? (outputs[0] as unknown[])[0] : undefined;
  if (typeof first === 'string') {
    const i = layers.findIndex((l) => (l.name ?? l.config['name']) === first);
    if (i >= 0) return i;
  }
  return layers.length - 1;
}

function layerName(layer: LayerEntry, i: number): string {
  const name = layer.name ?? layer.config['name'];
  return typeof name === 'string' ? `layer ${i} '${name}' (${layer.class_name})` : `layer ${i} (${layer.class_name})`;
}

/**
 * Checks every layer and turns a softmax output into logits, in place on the parsed topology.
 * Returns whether a softmax was removed.
 */
export function checkTopology(file: string, topology: Json): boolean {
  const layers = layerList(file, topology);
  const last = outputIndex(topology, layers);
  let softmaxRemoved = false;
  layers.forEach((layer, i) => {
    const where = layerName(layer, i);
    if (!ALLOWED_LAYERS.has(layer.class_name)) {
      throw new SsseError(
        'BAD_INPUT',
        `${file}: ${where} is not supported; the engine handles ${[...ALLOWED_LAYERS].join(', ')}` +
          (layer.class_name === 'Dropout' ? ' (dropout draws unseeded noise, so retraining could not be reproduced; remove it for inference)' : '') +
          (layer.class_name === 'BatchNormalization' ? ' (batch statistics are not parameters of the Fisher; fold them into the previous layer)' : ''),
      );
    }
    const c = layer.config;
    if (layer.class_name === 'Conv2D') {
      const dilation = c['dilation_rate'];
      const dil = Array.isArray(dilation) ? dilation : [dilation ?? 1];
      if (dil.some((v) => v !== 1)) throw new SsseError('BAD_INPUT', `${file}: ${where} has dilation_rate ${JSON.stringify(dilation)}; only 1 is supported (the convolution's gradient needs it)`);
      if (c['data_format'] === 'channels_first') throw new SsseError('BAD_INPUT', `${file}: ${where} is channels_first; only channels_last is supported`);
    }
    const activation = c['activation'];
    if (activation === undefined || activation === null) return;
    if (typeof activation !== 'string') throw new SsseError('BAD_INPUT', `${file}: ${where} has an activation that is not a name (${JSON.stringify(activation)})`);
    if (activation === 'softmax') {
      if (i !== last) throw new SsseError('BAD_INPUT', `${file}: ${where} applies softmax before the output layer; only the output may be a softmax`);
      c['activation'] = 'linear';
      softmaxRemoved = true;
      return;
    }
    if (!ALLOWED_ACTIVATIONS.has(activation)) {
      throw new SsseError('BAD_INPUT', `${file}: ${where} has activation '${activation}', which is not supported (${[...ALLOWED_ACTIVATIONS].join(', ')}, softmax on the output)`);
    }
    if (i === last && activation !== 'linear') {
      throw new SsseError('BAD_INPUT', `${file}: the output ${where} has activation '${activation}'; the engine needs class logits (linear) or a softmax output`);
    }
  });
  return softmaxRemoved;
}

function bytesPerElement(dtype: unknown): number {
  if (dtype === 'float32' || dtype === 'int32' || dtype === undefined) return 4;
  if (dtype === 'bool') return 1;
  return 4;
}

/** Loads and checks a Layers model from `modelJson`; its weights become the network's parameters. */
export async function loadLayersModelFromFiles(modelJson: string): Promise<LoadedModel> {
  let text: string;
  try {
    text = fs.readFileSync(modelJson, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(modelJson, code === 'ENOENT' ? 'model file not found' : `cannot read the model file (${code ?? String(e)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DataError(modelJson, `is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(json) || !isObject(json['modelTopology'])) {
    throw new DataError(modelJson, 'has no modelTopology; expected a TensorFlow.js Layers model.json (format "layers-model")');
  }
  if (json['format'] === 'graph-model') {
    throw new DataError(modelJson, 'is a TensorFlow.js graph model; the engine needs a Layers model (format "layers-model") to train and differentiate it');
  }
  const topology = json['modelTopology'];
  // Older converters nest the Keras topology one level deeper.
  const kerasTopology = isObject(topology['model_config']) ? topology['model_config'] : topology;
  const softmaxRemoved = checkTopology(modelJson, kerasTopology);

  const manifest = json['weightsManifest'];
  if (!Array.isArray(manifest) || manifest.length === 0) throw new DataError(modelJson, 'has no weightsManifest; the model has no weights to load');
  const dir = path.dirname(modelJson);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  const files = [modelJson];
  manifest.forEach((group, g) => {
    if (!isObject(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) {
      throw new DataError(modelJson, `weightsManifest[${g}] has no paths and weights`);
    }
    let expected = 0;
    for (const w of group['weights'] as unknown[]) {
      if (!isObject(w) || typeof w['name'] !== 'string' || !Array.isArray(w['shape'])) {
        throw new DataError(modelJson, `weightsManifest[${g}] has a weight without name and shape`);
      }
      if (w['quantization'] === undefined) expected += (w['shape'] as number[]).reduce((a, b) => a * b, 1) * bytesPerElement(w['dtype']);
      weightSpecs.push(w as unknown as tf.io.WeightsManifestEntry);
    }
    let got = 0;
    for (const p of group['paths'] as unknown[]) {
      if (typeof p !== 'string') throw new DataError(modelJson, `weightsManifest[${g}] has a path that is not a string`);
      const file = path.resolve(dir, p);
      let buf: Buffer;
      try {
        buf = fs.readFileSync(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new DataError(file, code === 'ENOENT' ? `weight file not found (named by ${modelJson})` : `cannot read the weight file (${code ?? String(e)})`);
      }
      buffers.push(buf);
      files.push(file);
      got += buf.length;
    }
    const quantized = (group['weights'] as Json[]).some((w) => w['quantization'] !== undefined);
    if (!quantized && got !== expected) {
      throw new DataError(
        path.resolve(dir, String((group['paths'] as unknown[])[0])),
        `weightsManifest[${g}] describes ${expected} bytes of weights but its files hold ${got}`,
      );
    }
  });
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: topology, weightSpecs, weightData }));
  } catch (e) {
    throw new SsseError('BAD_INPUT', `${modelJson}: TensorFlow.js could not build the model: ${(e as Error).message}`);
  }
  if (model.nonTrainableWeights.length > 0) {
    const names = model.nonTrainableWeights.map((w) => w.name).join(', ');
    model.dispose();
    throw new SsseError('BAD_INPUT', `${modelJson}: the model has non-trainable weights (${names}); every weight must be a parameter of θ`);
  }
  // A NaN or infinite weight (a diverged training, a damaged file) would surface only deep in the
  // Fisher factorisation, as a misleading "not positive definite": refuse it here, by name.
  for (const w of model.trainableWeights) {
    const values = w.read().dataSync();
    const bad = firstNonFinite(values);
    if (bad >= 0) {
      const value = values[bad];
      model.dispose();
      throw new DataError(
        modelJson,
        `weight '${w.originalName}' (shape [${w.shape.join(', ')}]) holds ${String(value)} at element ${bad} (row-major); every weight must be a finite number (did its training diverge, or is the weight file damaged?)`,
      );
    }
  }
  let net: Network;
  try {
    net = networkFromModel(model, modelJson);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { net, softmaxRemoved, sha256: sha256Bytes(Buffer.from(text, 'utf8'), all), files };
}

/**
 * The network with parameters θ as Layers model files: `model.json` (whose manifest names
 * `weightsName`) and the weights' bytes. The output layer gives logits.
 */
export async function modelFiles(net: Network, weightsName: string): Promise<{ json: string; weights: Buffer }> {
  let artifacts: tf.io.ModelArtifacts | null = null;
  await net.model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts as tf.io.ModelArtifacts | null;
  if (!a || !a.weightSpecs || !a.weightData) throw new SsseError('NUMERIC', 'modelFiles: TensorFlow.js returned no weights');
  const parts = Array.isArray(a.weightData) ? a.weightData : [a.weightData];
  const weights = Buffer.concat(parts.map((b) => Buffer.from(b)));
  const json = {
    format: 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: 'ssse-workstation',
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: [weightsName], weights: a.weightSpecs }],
  };
  return { json: `${JSON.stringify(json)}\n`, weights };
}

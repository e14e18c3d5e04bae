/**
 * Networks built from a short spec, with TensorFlow.js layers:
 *
 *   mlp:H1,H2,…   Dense(H1, relu) → Dense(H2, relu) → … → Dense(C) logits.
 *                 mlp:128 on 784 features and 10 classes is 784-128-10: p = 101,770.
 *   cnn:small     Conv2D(8, 3×3, relu) → MaxPool 2×2 → Conv2D(16, 3×3, relu) → MaxPool 2×2 →
 *                 Flatten → Dense(C) logits, 'valid' padding. On 28×28×1 images p = 5,258.
 *
 * Every weight starts at 0 here; training sets the seeded initialisation (network.initialParams).
 */
import * as tf from '@tensorflow/tfjs';
import { SsseError } from '../errors.js';
import { networkFromModel, type Network } from './network.js';

export type ModelSpec = { kind: 'mlp'; hidden: number[] } | { kind: 'cnn'; preset: 'small' };

const USAGE = 'expected mlp:H1,H2,… (hidden layer widths), cnn:small, or a path to a TensorFlow.js model.json';

/** Parses a spec; returns null when the text is not a spec (the caller may treat it as a path). */
export function parseModelSpec(text: string): ModelSpec | null {
  const t = text.trim();
  if (t.startsWith('mlp:')) {
    const parts = t.slice(4).split(',').map((s) => s.trim());
    const hidden = parts.map((s) => Number(s));
    if (parts.some((s) => s === '') || hidden.some((h) => !Number.isSafeInteger(h) || h < 1 || h > 1_000_000)) {
      throw new SsseError('BAD_ARGUMENT', `--model ${text}: hidden layer widths must be whole numbers ≥ 1, separated by commas (e.g. mlp:256,128)`);
    }
    return { kind: 'mlp', hidden };
  }
  if (t.startsWith('cnn:')) {
    const preset = t.slice(4);
    if (preset !== 'small') throw new SsseError('BAD_ARGUMENT', `--model ${text}: the convolutional preset is cnn:small`);
    return { kind: 'cnn', preset };
  }
  if (/^[a-z]+:/.test(t) && !t.includes('/') && !t.endsWith('.json')) {
    throw new SsseError('BAD_ARGUMENT', `--model ${text}: ${USAGE}`);
  }
  return null;
}

export function formatModelSpec(spec: ModelSpec): string {
  return spec.kind === 'mlp' ? `mlp:${spec.hidden.join(',')}` : `cnn:${spec.preset}`;
}

/**
 * The shape one sample takes: [d] for an MLP; for a CNN `imageShape` when given (H, W, C with
 * H·W·C = d), else a square single-channel image when d is a perfect square.
 */
export function inputShapeFor(spec: ModelSpec, d: number, imageShape: number[] | null): number[] {
  if (spec.kind === 'mlp') return [d];
  if (imageShape) {
    const size = imageShape.reduce((a, b) => a * b, 1);
    if (imageShape.length !== 3 || size !== d) {
      throw new SsseError('BAD_ARGUMENT', `--input-shape ${imageShape.join(',')}: expected H,W,C with H·W·C = ${d} features`);
    }
    return imageShape;
  }
  const side = Math.round(Math.sqrt(d));
  if (side * side !== d) {
    throw new SsseError('BAD_ARGUMENT', `--model cnn:small: ${d} features are not a square image; give --input-shape H,W,C`);
  }
  return [side, side, 1];
}

/** Builds the network of a spec for samples of `inputShape` and `numClasses` classes. */
export function buildNetwork(spec: ModelSpec, inputShape: number[], numClasses: number): Network {
  if (!(Number.isSafeInteger(numClasses) && numClasses >= 2)) {
    throw new SsseError('BAD_ARGUMENT', `buildNetwork: need at least 2 classes, got ${numClasses}`);
  }
  const zeros = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;
  const model = tf.sequential();
  if (spec.kind === 'mlp') {
    spec.hidden.forEach((units, i) =>
      model.add(tf.layers.dense({ units, activation: 'relu', ...zeros, ...(i === 0 ? { inputShape } : {}) })),
    );
    model.add(tf.layers.dense({ units: numClasses, ...zeros, ...(spec.hidden.length === 0 ? { inputShape } : {}) }));
  } else {
    if (inputShape.length !== 3) throw new SsseError('BAD_ARGUMENT', `buildNetwork: cnn:small takes H×W×C images, got [${inputShape.join(', ')}]`);
    const [h, w] = inputShape as [number, number, number];
    // Two valid 3×3 convolutions and two 2×2 poolings need at least a 10×10 image.
    if (h < 10 || w < 10) throw new SsseError('BAD_ARGUMENT', `buildNetwork: cnn:small needs images of at least 10×10, got ${h}×${w}`);
    model.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu', inputShape, ...zeros }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', ...zeros }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: numClasses, ...zeros }));
  }
  return networkFromModel(model, formatModelSpec(spec));
}

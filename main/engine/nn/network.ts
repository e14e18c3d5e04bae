/**
 * A classifier network as the engine sees it: a TensorFlow.js Layers model whose output is the
 * C class logits z (no softmax: p(y | x) = softmax(z)_y is applied by the loss), and its
 * trainable parameters θ as one flat vector.
 *
 * Parameter order (documented, fixed): θ lists `model.trainableWeights` in order, that is layer
 * by layer from input to output and, within a layer, the kernel before the bias; each tensor is
 * flattened row-major in its TensorFlow.js shape (Dense kernel [inputs, units]; Conv2D kernel
 * [height, width, in channels, filters]). `params` records every tensor's name, shape and offset,
 * and summary.json repeats it, so θ[i] can always be traced to one weight. The Fisher's blocks
 * are cut from it in the order of blockOrder.ts (by default unit by unit, not this order).
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../data/random.js';
import { SsseError } from '../errors.js';
import './wasmConv2dBackpropFilter.js';

export interface ParamTensor {
  /** The variable's name, e.g. "dense_Dense1/kernel". */
  name: string;
  shape: number[];
  size: number;
  /** Index of its first entry in θ. */
  offset: number;
}

export interface Network {
  model: tf.LayersModel;
  /** The trainable variables in parameter order. */
  variables: tf.Variable[];
  params: ParamTensor[];
  /** Number of parameters. */
  p: number;
  /** Shape of one input sample, e.g. [784] or [28, 28, 1]. */
  inputShape: number[];
  /** Features per sample (the product of inputShape). */
  d: number;
  numClasses: number;
  /** What it was built from: a spec such as "mlp:128", or a model.json path. */
  source: string;
}

/** Wraps a built Layers model whose single output is [batch, C] logits. */
export function networkFromModel(model: tf.LayersModel, source: string): Network {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new SsseError('BAD_INPUT', `${source}: the model must have one input and one output (has ${model.inputs.length} and ${model.outputs.length})`);
  }
  const inShape = model.inputs[0]?.shape ?? [];
  const outShape = model.outputs[0]?.shape ?? [];
  const inputShape = inShape.slice(1);
  if (inputShape.length === 0 || inputShape.some((s) => s === null || !(s > 0))) {
    throw new SsseError('BAD_INPUT', `${source}: the input shape [${inShape.map(String).join(', ')}] must be fully known apart from the batch`);
  }
  if (outShape.length !== 2 || !(typeof outShape[1] === 'number' && outShape[1] >= 2)) {
    throw new SsseError('BAD_INPUT', `${source}: the output must be [batch, classes] with at least 2 classes, got [${outShape.map(String).join(', ')}]`);
  }
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  if (variables.length === 0) throw new SsseError('BAD_INPUT', `${source}: the model has no trainable weights`);
  const params: ParamTensor[] = [];
  let offset = 0;
  for (const v of variables) {
    if (v.dtype !== 'float32') throw new SsseError('BAD_INPUT', `${source}: weight ${v.name} is ${v.dtype}; only float32 weights are supported`);
    params.push({ name: v.name, shape: v.shape.slice(), size: v.size, offset });
    offset += v.size;
  }
  const shape = inputShape as number[];
  return {
    model,
    variables,
    params,
    p: offset,
    inputShape: shape,
    d: shape.reduce((a, b) => a * b, 1),
    numClasses: outShape[1] as number,
    source,
  };
}

/** θ as one float32 vector, in parameter order. */
export function getParams(net: Network): Float32Array {
  const out = new Float32Array(net.p);
  for (let i = 0; i < net.variables.length; i++) {
    const v = net.variables[i] as tf.Variable;
    out.set(v.dataSync() as Float32Array, (net.params[i] as ParamTensor).offset);
  }
  return out;
}

/** Sets every trainable variable from θ (float64 values are rounded to float32). */
export function setParams(net: Network, theta: Float32Array | Float64Array): void {
  if (theta.length !== net.p) {
    throw new SsseError('BAD_ARGUMENT', `setParams: θ has ${theta.length} values, the network has p = ${net.p} parameters`);
  }
  const values = theta instanceof Float32Array ? theta : Float32Array.from(theta);
  for (let i = 0; i < net.variables.length; i++) {
    const info = net.params[i] as ParamTensor;
    const t = tf.tensor(values.subarray(info.offset, info.offset + info.size), info.shape, 'float32');
    (net.variables[i] as tf.Variable).assign(t);
    t.dispose();
  }
}

/**
 * The engine's initialisation from a seed (independent of tfjs's own random streams): every
 * kernel Glorot-uniform, limit √(6 / (fan_in + fan_out)) with Keras's fans (Dense [in, out]:
 * in and out; Conv2D [h, w, cin, cout]: h·w·cin and h·w·cout), every bias 0. Drawn in parameter
 * order from mulberry32(seed), so it is the same on every machine.
 */
export function initialParams(net: Network, seed: number): Float32Array {
  const rng = mulberry32(seed);
  const theta = new Float32Array(net.p);
  for (const info of net.params) {
    if (info.shape.length < 2) continue;
    const receptive = info.shape.slice(0, -2).reduce((a, b) => a * b, 1);
    const fanIn = (info.shape[info.shape.length - 2] as number) * receptive;
    const fanOut = (info.shape[info.shape.length - 1] as number) * receptive;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    for (let i = 0; i < info.size; i++) theta[info.offset + i] = limit * (2 * rng() - 1);
  }
  return theta;
}

/** The logits of a batch (a tensor of shape [b, ...inputShape]). */
export function forward(net: Network, x: tf.Tensor): tf.Tensor2D {
  return net.model.apply(x, { training: false }) as tf.Tensor2D;
}

/** Mean over the batch of −log softmax(z)_y, for one-hot float labels y of shape [b, C]. */
export function meanNll(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** The selected rows of an n×d feature matrix as a [rows, ...inputShape] tensor. */
export function inputBatch(net: Network, features: Float32Array, rows: ArrayLike<number>): tf.Tensor {
  const { d } = net;
  const out = new Float32Array(rows.length * d);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r] as number;
    out.set(features.subarray(i * d, (i + 1) * d), r * d);
  }
  return tf.tensor(out, [rows.length, ...net.inputShape], 'float32');
}

/** One-hot float32 labels [rows, C] of the selected rows. */
export function labelBatch(net: Network, classIds: Int32Array, rows: ArrayLike<number>): tf.Tensor2D {
  const C = net.numClasses;
  const out = new Float32Array(rows.length * C);
  for (let r = 0; r < rows.length; r++) out[r * C + (classIds[rows[r] as number] as number)] = 1;
  return tf.tensor2d(out, [rows.length, C]);
}

/**
 * Logits of the given rows (all n rows when omitted) with the current parameters, rows×C
 * row-major float32, computed in chunks so that large splits never sit on the backend at once.
 */
export function predictLogits(net: Network, features: Float32Array, rows?: ArrayLike<number>, chunk = 2048): Float32Array {
  const n = rows ? rows.length : features.length / net.d;
  const C = net.numClasses;
  const out = new Float32Array(n * C);
  const idx = new Int32Array(Math.min(chunk, n));
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const sel = idx.subarray(0, m);
    for (let r = 0; r < m; r++) sel[r] = rows ? (rows[start + r] as number) : start + r;
    const z = tf.tidy(() => forward(net, inputBatch(net, features, sel)));
    out.set(z.dataSync() as Float32Array, start * C);
    z.dispose();
  }
  return out;
}

/** Checks that the dataset's rows fit the network and that its labels are class ids in range. */
export function checkData(net: Network, d: number, classIds: Int32Array | null, what: string): Int32Array {
  if (d !== net.d) {
    throw new SsseError(
      'BAD_INPUT',
      `${what}: the data have ${d} features per sample but the network takes [${net.inputShape.join(', ')}] = ${net.d}`,
    );
  }
  if (!classIds) {
    throw new SsseError('BAD_INPUT', `${what}: a network is trained on class ids; the labels are binary attributes (n×A), give one class id per row`);
  }
  for (let i = 0; i < classIds.length; i++) {
    const c = classIds[i] as number;
    if (c >= net.numClasses) {
      throw new SsseError('BAD_INPUT', `${what}: row ${i} has class ${c} but the network has ${net.numClasses} outputs`);
    }
  }
  return classIds;
}

export function disposeNetwork(net: Network): void {
  net.model.dispose();
}

/**
 * Training a network: mini-batch SGD with momentum on
 *
 *   L(θ) = (1/|batch|)·Σ_{i∈batch} −log p(y_i | x_i; θ) + (λ/2)·‖θ‖²
 *
 * (tfjs's momentum rule: a ← μ·a + ∇L, θ ← θ − η·a), from the engine's seeded initialisation.
 * The learning rate is constant, or follows a cosine from η down towards 0 epoch by epoch
 * (η_e = η·½(1 + cos(π·e/E)) in epoch e of E), which lets the last epochs settle instead of
 * ending on a noisy step: a retrained model is then compared with θ* rather than with θ*'s noise.
 *
 * Determinism: everything random is a function of the seed alone: the initial weights
 * (network.initialParams) and the order of the samples in each epoch (epochOrder: a permutation
 * of the n rows of D drawn from (seed, epoch)). On a given backend the arithmetic is
 * deterministic too, so the same seed, data and settings reproduce θ* bit for bit.
 *
 * Retraining without S uses the same seed, the same hyper-parameters and the same order with S's
 * rows struck out: the retrained model sees exactly the sequence of samples θ* saw, minus S, cut
 * into batches of the same size. That is the closest a network retraining can come to "the same
 * run without S".
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32, sampleWithoutReplacement } from '../data/random.js';
import { SsseError } from '../errors.js';
import { report, throwIfCancelled, yieldToEventLoop, type RunControl } from '../progress.js';
import { forward, initialParams, getParams, meanNll, setParams, type Network } from './network.js';

export interface SgdConfig {
  epochs: number;
  batchSize: number;
  /** Learning rate η. */
  lr: number;
  /** Momentum μ in [0, 1). */
  momentum: number;
  /** 'constant' η, or 'cosine' decay from η towards 0 over the epochs. */
  lrSchedule: 'constant' | 'cosine';
  /** L2 weight λ ≥ 0 on all parameters, as in SSSE.md's per-sample loss. */
  l2: number;
  seed: number;
}

export const DEFAULT_SGD: SgdConfig = { epochs: 10, batchSize: 64, lr: 0.05, momentum: 0.9, lrSchedule: 'cosine', l2: 1e-4, seed: 0 };

/** The training data: n×d features and n class ids. */
export interface ClassData {
  features: Float32Array;
  classIds: Int32Array;
  n: number;
}

export interface TrainOptions extends RunControl {
  /** Rows of the data to leave out (S, for the retrained model). */
  exclude?: ArrayLike<number>;
  /** Start from these parameters instead of the seeded initialisation. */
  init?: Float32Array;
  /** Progress phase ('train', 'retrain', …). */
  phase?: string;
}

export interface TrainResult {
  theta: Float32Array;
  /** Mean training loss (with the L2 term) of each epoch, float64. */
  epochLoss: number[];
  steps: number;
}

export function checkSgd(config: SgdConfig): void {
  const bad = (flag: string, v: number, expect: string): never => {
    throw new SsseError('BAD_ARGUMENT', `--${flag}: expected ${expect}, got ${v}`);
  };
  if (!Number.isSafeInteger(config.epochs) || config.epochs < 1) bad('epochs', config.epochs, 'a whole number ≥ 1');
  if (!Number.isSafeInteger(config.batchSize) || config.batchSize < 1) bad('batch-size', config.batchSize, 'a whole number ≥ 1');
  if (!(config.lr > 0 && Number.isFinite(config.lr))) bad('lr', config.lr, 'a number > 0');
  if (!(config.momentum >= 0 && config.momentum < 1)) bad('momentum', config.momentum, 'a number in [0, 1)');
  if (config.lrSchedule !== 'constant' && config.lrSchedule !== 'cosine') {
    throw new SsseError('BAD_ARGUMENT', `--lr-schedule: expected constant or cosine, got ${String(config.lrSchedule)}`);
  }
  if (!(config.l2 >= 0 && Number.isFinite(config.l2))) bad('l2', config.l2, 'a number ≥ 0');
  if (!Number.isSafeInteger(config.seed) || config.seed < 0) bad('seed', config.seed, 'a whole number ≥ 0');
}

/** The learning rate of epoch `epoch` (0-based) of `epochs`. */
export function epochLearningRate(config: Pick<SgdConfig, 'lr' | 'lrSchedule' | 'epochs'>, epoch: number): number {
  return config.lrSchedule === 'cosine' ? config.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / config.epochs)) : config.lr;
}

/** The order of D's n rows in epoch `epoch` (0-based): a permutation drawn from (seed, epoch) only. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  const mixed = (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0;
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  return sampleWithoutReplacement(pool, n, mulberry32(mixed));
}

/** The batches of one epoch: its order with the excluded rows struck out, cut into batchSize pieces. */
export function epochBatches(n: number, seed: number, epoch: number, batchSize: number, excluded: Uint8Array | null): Int32Array[] {
  const order = epochOrder(n, seed, epoch);
  const kept = excluded ? order.filter((i) => excluded[i] !== 1) : order;
  const batches: Int32Array[] = [];
  for (let s = 0; s < kept.length; s += batchSize) batches.push(Int32Array.from(kept.slice(s, s + batchSize)));
  return batches;
}

/** Trains `net` in place and returns its parameters. */
export async function trainNetwork(net: Network, data: ClassData, config: SgdConfig, options: TrainOptions = {}): Promise<TrainResult> {
  checkSgd(config);
  const phase = options.phase ?? 'train';
  const { n, features, classIds } = data;
  if (features.length !== n * net.d || classIds.length !== n) {
    throw new SsseError('BAD_ARGUMENT', `trainNetwork: expected ${n}×${net.d} features and ${n} class ids, got ${features.length} and ${classIds.length}`);
  }
  let excluded: Uint8Array | null = null;
  let kept = n;
  if (options.exclude && options.exclude.length > 0) {
    excluded = new Uint8Array(n);
    for (let j = 0; j < options.exclude.length; j++) {
      const i = options.exclude[j] as number;
      if (!(Number.isInteger(i) && i >= 0 && i < n)) throw new SsseError('BAD_ARGUMENT', `trainNetwork: excluded row ${i} is not in [0, ${n})`);
      if (excluded[i] === 0) kept--;
      excluded[i] = 1;
    }
  }
  if (kept === 0) throw new SsseError('BAD_ARGUMENT', 'trainNetwork: no training rows left');

  setParams(net, options.init ?? initialParams(net, config.seed));
  const stepsPerEpoch = Math.ceil(kept / config.batchSize);
  const total = stepsPerEpoch * config.epochs;
  const momentum = new MomentumSgd(net.variables, config.momentum);
  const xAll = tf.tensor(features, [n, ...net.inputShape], 'float32');
  const yAll = tf.tidy(() => tf.oneHot(tf.tensor1d(classIds, 'int32'), net.numClasses).toFloat());
  const epochLoss: number[] = [];
  let steps = 0;
  try {
    report(options, phase, 0, total);
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const lr = epochLearningRate(config, epoch);
      let lossSum = 0;
      let seen = 0;
      for (const batch of epochBatches(n, config.seed, epoch, config.batchSize, excluded)) {
        throwIfCancelled(options, phase);
        const cost = tf.tidy((): tf.Scalar => {
          const idx = tf.tensor1d(batch, 'int32');
          const xb = tf.gather(xAll, idx);
          const yb = tf.gather(yAll, idx) as tf.Tensor2D;
          const { value, grads } = tf.variableGrads(() => {
            const nll = meanNll(forward(net, xb), yb);
            return config.l2 > 0 ? tf.add(nll, tf.mul(0.5 * config.l2, l2Sum(net))) : nll;
          }, net.variables);
          momentum.step(grads, lr);
          return value;
        });
        const value = cost.dataSync()[0] as number;
        cost.dispose();
        if (!Number.isFinite(value)) {
          throw new SsseError('NUMERIC', `${phase}: the loss became ${value} at epoch ${epoch + 1}, step ${steps + 1}; lower --lr`);
        }
        lossSum += value * batch.length;
        seen += batch.length;
        steps++;
        report(options, phase, steps, total);
        if (steps % 16 === 0) await yieldToEventLoop();
      }
      epochLoss.push(lossSum / seen);
    }
  } finally {
    momentum.dispose();
    xAll.dispose();
    yAll.dispose();
  }
  return { theta: getParams(net), epochLoss, steps };
}

/**
 * SGD with momentum, tfjs's rule (a ← μ·a + g, θ ← θ − η·a), kept here rather than taken from
 * tf.train.momentum so that the learning rate can change per epoch and every tensor it holds is
 * released (tfjs 4.22's MomentumOptimizer.dispose leaves its learning-rate scalar behind).
 */
class MomentumSgd {
  private readonly accumulators: tf.Variable[];

  constructor(
    private readonly variables: tf.Variable[],
    private readonly mu: number,
  ) {
    this.accumulators = variables.map((v) => tf.tidy(() => tf.variable(tf.zerosLike(v), false)));
  }

  /** One step; call inside tf.tidy. */
  step(grads: tf.NamedTensorMap, lr: number): void {
    this.variables.forEach((v, i) => {
      const g = grads[v.name];
      if (!g) throw new SsseError('NUMERIC', `training: no gradient for weight ${v.name}`);
      const a = this.accumulators[i] as tf.Variable;
      const next = tf.add(tf.mul(this.mu, a), g);
      a.assign(next);
      v.assign(tf.sub(v, tf.mul(lr, next)));
    });
  }

  dispose(): void {
    for (const a of this.accumulators) a.dispose();
  }
}

/** Σ‖θ‖² over the trainable variables. */
export function l2Sum(net: Network): tf.Scalar {
  return tf.addN(net.variables.map((v) => tf.sum(tf.square(v)))) as tf.Scalar;
}

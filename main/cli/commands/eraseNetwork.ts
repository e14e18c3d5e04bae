import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, parseBackendChoice } from '../../engine/backend.js';
import { loadDataset } from '../../engine/data/dataset.js';
import { encodeNpy } from '../../engine/data/npy.js';
import { classRemoval, randomRemoval, readRemovalFile } from '../../engine/data/removal.js';
import type { Dataset } from '../../engine/data/types.js';
import { parseEpsilonList } from '../../engine/linear/sweep.js';
import type { NetworkFisherMethod } from '../../engine/nn/blockFisher.js';
import type { EarlierCalibrationFile } from '../../engine/nn/earlierCalibration.js';
import { SsseError } from '../../engine/errors.js';
import { sha256Bytes } from '../../engine/hash.js';
import { BLOCK_ORDERS, DEFAULT_BLOCK_ORDER, type BlockOrder } from '../../engine/nn/blockOrder.js';
import {
  DEFAULT_NETWORK_CONFIG,
  eraseNetwork,
  type NetworkEraseConfig,
  type NetworkEraseOutcome,
  type NetworkSource,
  type RemovalDescription,
} from '../../engine/nn/erase.js';
import { modelFiles } from '../../engine/nn/loadModel.js';
import { disposeNetwork } from '../../engine/nn/network.js';
import { parseModelSpec } from '../../engine/nn/spec.js';
import { DEFAULT_SGD, type SgdConfig } from '../../engine/nn/train.js';
import { checkOutputDir, commitOutputDir, type OutputFile } from '../../engine/output.js';
import { ProgressBars } from '../progressBar.js';
import { limitsOf, parseChoice, parseNumber, SigintCancel, usageError, type CliIo } from '../options.js';
import { bundledDataset, defaultCacheDir } from './erase.js';

/**
 * `ssse erase --model …` and `ssse demo --model …`: SSSE on a neural network (the paper's
 * non-convex experiments). The linear command's options keep their meaning; these are added.
 */
export const NETWORK_USAGE = `  ssse erase --model SPEC|model.json --dataset DIR --out DIR
             (--remove FILE | --remove-class C [--class-fraction F] | --remove-fraction F) [options]
  ssse demo --model SPEC [--remove-class C | --remove-fraction F] [options]

network options (with --model):
  --model SPEC            mlp:H1,H2,… (e.g. mlp:128), cnn:small, or a TensorFlow.js Layers
                          model.json (weights beside it; its layers are checked)
  --model-weights W       for a model.json: trained (its weights are θ*, default) or initial
                          (training starts from them)
  --input-shape H,W,C     image shape for cnn:small (default: a square one-channel image)
  --epochs E              SGD epochs (default ${DEFAULT_SGD.epochs})
  --batch-size B          SGD batch size (default ${DEFAULT_SGD.batchSize})
  --lr η                  learning rate (default ${DEFAULT_SGD.lr})
  --lr-schedule S         cosine (decays towards 0, default) or constant
  --momentum μ            SGD momentum (default ${DEFAULT_SGD.momentum})
  --l2 λ                  L2 weight of the training loss (default ${DEFAULT_SGD.l2})
  --seed S                initial weights and batch order (default 0)
  --fisher-batch m        samples per Fisher row, mini-batch-averaged (default ${DEFAULT_NETWORK_CONFIG.fisherBatch})
  --block-size B          parameters per Fisher block (default ${DEFAULT_NETWORK_CONFIG.blockSize})
  --block-order O         how parameters are grouped into blocks: unit-major (default: each
                          unit's incoming weights together, PyTorch's layout) or input-major
                          (TensorFlow.js's kernel layout [inputs, units], θ's own order)
  --damping λ_F           Fisher dampening (default 1e-4)
  --fisher-method M       auto|woodbury|cholesky|sherman-morrison (default auto: Woodbury where
                          the block is wider than N, else Cholesky)
  --memory-budget GiB     memory the Fisher may use (default 80% of the memory available now)
                          (--cache-dir keeps F̂⁻¹ for later requests on the model as G's columns
                          and each block's factor: 4·N·p + 8·N²·blocks bytes where N < B)
  --workers N             worker threads beside the main thread for the blocks of F̂⁻¹ and for
                          the retrainings of --calibrate-trials and --retrain-seeds (default: one
                          per core beyond the first; for F̂⁻¹ fewer if the memory budget is short;
                          0: the main thread alone; the same results to the bit either way)
  --retrain-seeds R       also retrain R times with seeds seed+1…seed+R for the spread
  --remove-class C        erase class C (all of it, or --class-fraction F of it)
  --remove-fraction F     erase a random fraction F of the training set
  --removal-seed S        seed of the removal draw (default: --seed)
  --epsilon-sweep a,b,c   ε values (default 0.001 … 10, 81 log-spaced values)
  --calibrate-trials T    choose ε held out (default 0: off): T more removals of the request's
                          kind (a random fraction: other removal seeds; part of a class: other
                          draws from that class; a whole class: other whole classes; a file:
                          random draws of its size), each retrained once; ε is the grid value
                          with the smallest mean accuracy difference over them. The request's
                          own retraining only reports the result (and the in-sample choice).
                          On Fashion-MNIST's MLP (docs/results-nn.md) 3 trials met the 1%-at-
                          random target in 90% of draws and settings, 8 in 92%; 9 met it in
                          34 of 36 (draw, setting) pairs of fresh draws that chose nothing. For
                          whole classes --forget-threshold did far better than trials (94% vs
                          42%)
  --forget-threshold τ    whole classes only: ε is the smallest value of the sweep at which θ̂
                          classifies at most a fraction τ of S correctly (e.g. 0.01). The model
                          retrained without a class never predicts it, so no retraining is
                          needed: works with --verify none
  --epsilon-from FILE     ε from an earlier run's calibration: FILE is the summary.json of a
                          --calibrate-trials run on the same model, data and Fisher settings with
                          a removal of the same kind (checked, down to θ*'s SHA-256). Nothing is
                          calibrated and, unless --verify retrain is given, nothing retrained
`;

const OPTIONS = {
  dataset: { type: 'string' },
  remove: { type: 'string' },
  out: { type: 'string' },
  model: { type: 'string' },
  'model-weights': { type: 'string' },
  'input-shape': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  'lr-schedule': { type: 'string' },
  momentum: { type: 'string' },
  l2: { type: 'string' },
  seed: { type: 'string' },
  'fisher-batch': { type: 'string' },
  'block-size': { type: 'string' },
  'block-order': { type: 'string' },
  'forget-threshold': { type: 'string' },
  damping: { type: 'string' },
  'fisher-method': { type: 'string' },
  'memory-budget': { type: 'string' },
  workers: { type: 'string' },
  epsilon: { type: 'string' },
  'epsilon-sweep': { type: 'string' },
  verify: { type: 'string' },
  'retrain-seeds': { type: 'string' },
  'remove-class': { type: 'string' },
  'class-fraction': { type: 'string' },
  'remove-fraction': { type: 'string' },
  'removal-seed': { type: 'string' },
  'calibrate-trials': { type: 'string' },
  'epsilon-from': { type: 'string' },
  backend: { type: 'string' },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
  'limit-train': { type: 'string' },
  'limit-test': { type: 'string' },
  overwrite: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = { [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean };

/** True when the arguments ask for a network (`--model` given). */
/**
 * Whether `--model` names a network (a spec such as `mlp:256,128` / `cnn:small`, or a Layers
 * model.json or its folder) rather than a model registered in the audit store by name.
 */
export function wantsNetwork(args: string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const value = a === '--model' ? args[i + 1] : a.startsWith('--model=') ? a.slice('--model='.length) : undefined;
    if (value === undefined) continue;
    if (/^[a-z][a-z0-9]*:/i.test(value) || value.endsWith('.json')) return true;
    if (fs.existsSync(path.join(value, 'model.json'))) return true;
  }
  return false;
}

const whole = (v: number) => Number.isSafeInteger(v) && v >= 0;
const positiveWhole = (v: number) => Number.isSafeInteger(v) && v >= 1;

function sgdFrom(values: Values): SgdConfig {
  return {
    epochs: parseNumber('epochs', values.epochs, DEFAULT_SGD.epochs, positiveWhole, 'a whole number ≥ 1'),
    batchSize: parseNumber('batch-size', values['batch-size'], DEFAULT_SGD.batchSize, positiveWhole, 'a whole number ≥ 1'),
    lr: parseNumber('lr', values.lr, DEFAULT_SGD.lr, (v) => v > 0, 'a number > 0'),
    momentum: parseNumber('momentum', values.momentum, DEFAULT_SGD.momentum, (v) => v >= 0 && v < 1, 'a number in [0, 1)'),
    lrSchedule: parseChoice('lr-schedule', values['lr-schedule'], DEFAULT_SGD.lrSchedule, ['cosine', 'constant'] as const),
    l2: parseNumber('l2', values.l2, DEFAULT_SGD.l2, (v) => v >= 0, 'a number ≥ 0'),
    seed: parseNumber('seed', values.seed, DEFAULT_SGD.seed, whole, 'a whole number ≥ 0'),
  };
}

function sourceFrom(values: Values): NetworkSource {
  const text = values.model as string;
  const spec = parseModelSpec(text);
  if (spec) {
    if (values['model-weights'] !== undefined) throw usageError('--model-weights: only applies to a model.json');
    let imageShape: number[] | null = null;
    if (values['input-shape'] !== undefined) {
      imageShape = values['input-shape'].split(',').map((s) => Number(s.trim()));
      if (imageShape.some((v) => !positiveWhole(v))) throw usageError(`--input-shape: expected H,W,C whole numbers, got "${values['input-shape']}"`);
    }
    return { kind: 'spec', spec, imageShape };
  }
  if (values['input-shape'] !== undefined) throw usageError('--input-shape: a model.json carries its own input shape');
  return { kind: 'file', path: text, weights: parseChoice('model-weights', values['model-weights'], 'trained', ['trained', 'initial'] as const) };
}

/** The removal request from the flags: a file, a class (or part of it), or a random fraction. */
function removalFrom(values: Values, dataset: Dataset, seed: number, fallback: 'class0' | null): { rows: number[]; description: RemovalDescription } {
  const given = (['remove', 'remove-class', 'remove-fraction'] as const).filter((k) => values[k] !== undefined);
  if (given.length > 1) throw usageError(`erase: give one of --remove, --remove-class and --remove-fraction (got ${given.map((g) => `--${g}`).join(' and ')})`);
  if (values['class-fraction'] !== undefined && values['remove-class'] === undefined) throw usageError('--class-fraction: only applies with --remove-class');
  const removalSeed = parseNumber('removal-seed', values['removal-seed'], seed, whole, 'a whole number ≥ 0');
  const n = dataset.train.n;
  if (values.remove !== undefined) {
    const idsFromFile = dataset.files.some((f) => path.basename(f.path) === 'ids.txt');
    return { rows: readRemovalFile(values.remove, dataset.ids, idsFromFile), description: { kind: 'file', file: path.resolve(values.remove) } };
  }
  if (values['remove-fraction'] !== undefined) {
    const fraction = parseNumber('remove-fraction', values['remove-fraction'], 0, (v) => v > 0 && v < 1, 'a fraction between 0 and 1');
    const k = Math.max(1, Math.round(fraction * n));
    return { rows: randomRemoval(n, k, removalSeed), description: { kind: 'random', fraction, seed: removalSeed } };
  }
  if (values['remove-class'] === undefined && fallback === null) {
    throw usageError('erase: name the samples to erase with --remove FILE, --remove-class C or --remove-fraction F');
  }
  const classes = dataset.numClasses ?? 0;
  const cls = parseNumber('remove-class', values['remove-class'], 0, (v) => whole(v) && v < classes, `a class id in 0..${classes - 1}`);
  const fraction = parseNumber('class-fraction', values['class-fraction'], 1, (v) => v > 0 && v <= 1, 'a fraction in (0, 1]');
  if (!dataset.train.classIds) throw usageError('--remove-class: the dataset has no class ids');
  return { rows: classRemoval(dataset.train.classIds, cls, fraction, removalSeed), description: { kind: 'class', class: cls, fraction, seed: removalSeed } };
}

function configFrom(values: Values, signal: AbortSignal, bars: ProgressBars, io: CliIo): Omit<NetworkEraseConfig, 'removal'> {
  const sgd = sgdFrom(values);
  const epsilon = values.epsilon === undefined ? null : parseNumber('epsilon', values.epsilon, 0, (v) => v >= 0, 'a number ≥ 0');
  const budgetGiB = parseNumber('memory-budget', values['memory-budget'], (0.8 * os.freemem()) / 2 ** 30, (v) => v > 0, 'a number of GiB > 0');
  return {
    source: sourceFrom(values),
    sgd,
    fisherBatch: parseNumber('fisher-batch', values['fisher-batch'], DEFAULT_NETWORK_CONFIG.fisherBatch, positiveWhole, 'a whole number ≥ 1'),
    blockSize: parseNumber('block-size', values['block-size'], DEFAULT_NETWORK_CONFIG.blockSize, positiveWhole, 'a whole number ≥ 1'),
    blockOrder: parseChoice<BlockOrder>('block-order', values['block-order'], DEFAULT_BLOCK_ORDER, BLOCK_ORDERS),
    damping: parseNumber('damping', values.damping, 1e-4, (v) => v > 0, 'a number > 0'),
    fisherMethod: parseChoice<NetworkFisherMethod>('fisher-method', values['fisher-method'], 'auto', ['auto', 'woodbury', 'cholesky', 'sherman-morrison']),
    memoryBudget: budgetGiB * 2 ** 30,
    ...(values.workers !== undefined ? { workers: parseNumber('workers', values.workers, 0, whole, 'a whole number ≥ 0') } : {}),
    epsilon,
    epsilonGrid: values['epsilon-sweep'] !== undefined ? parseEpsilonList(values['epsilon-sweep']) : null,
    // With an earlier calibration's ε the default is to retrain nothing, as the linear --epsilon-from.
    verify: parseChoice('verify', values.verify, values['epsilon-from'] !== undefined ? 'none' : 'retrain', ['retrain', 'none'] as const),
    retrainSeeds: parseNumber('retrain-seeds', values['retrain-seeds'], 0, (v) => whole(v) && v !== 1, 'a whole number ≥ 2 (or 0 for none)'),
    forgetThreshold:
      values['forget-threshold'] === undefined ? null : parseNumber('forget-threshold', values['forget-threshold'], 0, (v) => v >= 0 && v < 1, 'a fraction in [0, 1), e.g. 0.01'),
    epsilonFrom: values['epsilon-from'] === undefined ? null : readEpsilonFrom(values['epsilon-from'], values),
    calibrateTrials: parseNumber('calibrate-trials', values['calibrate-trials'], 0, whole, 'a whole number ≥ 0 (0: no calibration)'),
    cacheDir: values['no-cache'] ? null : (values['cache-dir'] ?? defaultCacheDir()),
    signal,
    onProgress: bars.listener,
    log: (line) => io.err.write(`ssse: ${line}\n`),
  };
}

/** --epsilon-from FILE: the earlier run's summary.json, read whole (its SHA-256 is recorded); eraseNetwork checks what it says. */
function readEpsilonFrom(file: string, values: Values): EarlierCalibrationFile {
  if (values['epsilon-sweep'] !== undefined) throw usageError('--epsilon-from: the earlier calibration gives ε; --epsilon-sweep has nothing to choose');
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new SsseError('BAD_INPUT', `--epsilon-from ${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let summary: unknown;
  try {
    summary = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new SsseError('BAD_INPUT', `--epsilon-from ${file}: not JSON (${(e as Error).message})`);
  }
  return { file: path.resolve(file), sha256: sha256Bytes(bytes), summary };
}

async function outputFiles(outcome: NetworkEraseOutcome): Promise<OutputFile[]> {
  const vector = (theta: Float32Array): Buffer => encodeNpy({ dtype: 'float32', shape: [theta.length], data: theta });
  const files: OutputFile[] = [
    { name: 'summary.json', data: `${JSON.stringify(outcome.summary, null, 2)}\n` },
    { name: 'theta_star.npy', data: vector(outcome.thetaStar) },
    { name: 'theta_hat.npy', data: vector(outcome.thetaHat) },
  ];
  if (outcome.thetaRetrained) files.push({ name: 'theta_retrained.npy', data: vector(outcome.thetaRetrained) });
  // θ̂ as a Layers model that outputs logits (the network holds θ̂ after eraseNetwork).
  const model = await modelFiles(outcome.net, 'erased_model.weights.bin');
  files.push({ name: 'erased_model.json', data: model.json }, { name: 'erased_model.weights.bin', data: model.weights });
  files.push({ name: 'removed_ids.txt', data: `${outcome.summary.removed_ids.join('\n')}\n` });
  return files;
}

function epsilonHow(s: NetworkEraseOutcome['summary']): string {
  switch (s.epsilon_rule) {
    case 'given':
      return ' (given)';
    case 'max_gamma_S':
      return ` (largest γ_S of ${s.sweep.length} values)`;
    case 'min_accuracy_difference':
      return ` (smallest mean accuracy difference to retraining of ${s.sweep.length} values; γ_S is undefined)`;
    case 'calibrated_earlier':
      return ` (held out, calibrated earlier over ${s.epsilon_from?.trials ?? 0} removals: ${s.epsilon_from?.file ?? '?'})`;
    case 'calibrated':
      return ` (held out: smallest mean accuracy difference over ${s.epsilon_calibration?.trials.length ?? 0} calibration removals)`;
    case 'forget_threshold':
      return ` (smallest of ${s.sweep.length} values at which θ̂ classifies at most ${pct(s.epsilon_forget?.threshold)} of S correctly: ${pct(s.epsilon_forget?.accuracy_on_S)}; no retraining needed)`;
  }
}

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(2)}%`);
const num = (v: number | null, digits = 3): string => (v === null ? 'undefined' : v.toFixed(digits));

export function networkSummaryText(outcome: NetworkEraseOutcome, outDir: string, files: OutputFile[]): string {
  const s = outcome.summary;
  const removal = s.removal;
  const what =
    removal?.kind === 'class'
      ? removal.fraction === 1
        ? `all of class ${removal.class} (${s.class_names[removal.class] ?? ''})`
        : `${(100 * removal.fraction).toFixed(1)}% of class ${removal.class}`
      : removal?.kind === 'random'
        ? `a random ${(100 * removal.fraction).toFixed(2)}%`
        : 'the listed samples';
  const lines = [
    `Erased ${what}: k = ${s.k} of n = ${s.n} samples from ${s.model.source} (p = ${s.model.p} parameters); backend ${s.backend}.`,
    `  ${s.fisher.N} Fisher rows of ${s.fisher.batch} samples, ${s.fisher.blocks === 1 ? `one block of all ${s.model.p} parameters (the full Fisher)` : `blocks of ${s.fisher.block_size} (${s.fisher.block_order})`}, λ_F = ${s.damping}`,
    `  ε = ${s.epsilon}${epsilonHow(s)}`,
  ];
  const cal = s.epsilon_calibration;
  const ins = s.epsilon_in_sample;
  if (cal) {
    lines.push(`  calibration trials (${cal.trial_kind}): ${cal.trials.map((t) => `k = ${t.k}, best ε ${t.best_epsilon}`).join('; ')}`);
    if (ins) {
      lines.push(
        `  in-sample rule (uses this request's own retraining; for comparison): ε = ${ins.epsilon}, mean |accuracy − retrained| ${num(ins.accuracy_difference?.mean ?? null, 4)}`,
      );
    }
  }
  if (s.verify === 'retrain') {
    lines.push(`  γ_S = ${num(s.gamma_S)}, normalized parameter distance to retraining = ${num(s.normalized_distance)} (0 is best)`);
  }
  const row = (key: 'removed' | 'retained' | 'test', label: string) => {
    const r = s.accuracy.retrained ? `, retrained ${pct(s.accuracy.retrained[key])}` : '';
    const spread = s.retrain_spread?.accuracy[key];
    const sp = spread && spread.mean !== null ? ` (retrainings over ${s.retrain_spread?.seeds.length} seeds: ${pct(spread.mean)} ± ${pct(spread.std)})` : '';
    return `  accuracy on ${label}: original ${pct(s.accuracy.star[key])}, erased ${pct(s.accuracy.hat[key])}${r}${sp}`;
  };
  lines.push(row('removed', 'S'), row('retained', 'D \\ S'));
  if (s.accuracy.star.test !== null) lines.push(row('test', 'test'));
  if (s.accuracy_difference) {
    const d = s.accuracy_difference;
    lines.push(`  mean |accuracy − retrained|: original ${num(d.star.mean, 4)}, erased ${num(d.hat.mean, 4)}`);
  }
  const t = s.timings_s;
  lines.push(
    `  time: train ${t.train}s${s.cache.theta_star === 'hit' ? ' (cached)' : ''}, Fisher ${t.fisher}s${s.cache.fisher === 'hit' ? ' (cached)' : ''}, erasure ${t.erase}s${t.retrain !== null ? `, retrain ${t.retrain}s` : ''}${t.retrain_spread !== null ? `, spread ${t.retrain_spread}s` : ''}${t.calibrate !== null ? `, calibration ${t.calibrate}s` : ''}`,
    `Outputs in ${path.resolve(outDir)}: ${files.map((f) => f.name).join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}

async function run(dataset: Dataset, values: Values, outDir: string, overwrite: boolean, io: CliIo, fallback: 'class0' | null): Promise<void> {
  const cancel = new SigintCancel(io);
  cancel.listen();
  const bars = new ProgressBars(io.err);
  try {
    const config = configFrom(values, cancel.signal, bars, io);
    const removal = removalFrom(values, dataset, config.sgd.seed, fallback);
    const backend = await initBackend(parseBackendChoice(values.backend ?? 'auto'));
    io.err.write(`ssse: backend ${backend.name} (${backend.provider})\n`);
    const outcome = await eraseNetwork(dataset, removal.rows, { ...config, removal: removal.description });
    bars.finish();
    const files = await outputFiles(outcome);
    disposeNetwork(outcome.net);
    commitOutputDir(outDir, files, overwrite);
    io.out.write(values.json ? `${JSON.stringify(outcome.summary, null, 2)}\n` : networkSummaryText(outcome, outDir, files));
  } finally {
    bars.finish();
    cancel.release();
  }
}

export async function commandEraseNetwork(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(NETWORK_USAGE);
    return;
  }
  if (!values.model) throw usageError('erase: --model is required for a network');
  if (!values.dataset) throw usageError('erase: --dataset DIR is required');
  if (!values.out) throw usageError('erase: --out DIR is required');
  const overwrite = Boolean(values.overwrite);
  checkOutputDir(values.out, overwrite);
  const dataset = loadDataset(values.dataset, limitsOf(values));
  await run(dataset, values, values.out, overwrite, io, null);
}

/** The network demo: the bundled data, erasing all of class 0 unless told otherwise. */
export async function commandDemoNetwork(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(NETWORK_USAGE);
    return;
  }
  const dataDir = values.dataset ?? bundledDataset();
  const outDir = values.out ?? path.join('ssse-out', 'demo-network');
  if (!fs.existsSync(dataDir)) throw usageError(`demo: the dataset folder ${dataDir} does not exist`);
  const dataset = loadDataset(dataDir, limitsOf(values));
  io.err.write(`ssse demo: ${values.model} on ${dataDir} (n = ${dataset.train.n})\n`);
  await run(dataset, values, outDir, true, io, 'class0');
}

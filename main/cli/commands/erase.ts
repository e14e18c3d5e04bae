import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, parseBackendChoice } from '../../engine/backend.js';
import { loadDataset } from '../../engine/data/dataset.js';
import { encodeNpy } from '../../engine/data/npy.js';
import { randomRemoval, readRemovalFile } from '../../engine/data/removal.js';
import type { Dataset } from '../../engine/data/types.js';
import { DEFAULT_CONFIG, eraseLinear, type EraseConfig, type EraseOutcome } from '../../engine/erase.js';
import type { Curvature, FisherMethod } from '../../engine/linear/fisher.js';
import { describeFisherPlan } from '../../engine/linear/fisherBuild.js';
import { toFeatureMajor, type LinearModel } from '../../engine/linear/model.js';
import { parseEpsilonList } from '../../engine/linear/sweep.js';
import { checkOutputDir, commitOutputDir, type OutputFile } from '../../engine/output.js';
import { ProgressBars } from '../progressBar.js';
import { parseChoice, parseNumber, usageError, type CliIo } from '../options.js';

/**
 * The bundled default data: the first 3,000/1,000 Fashion-MNIST images (see its README).
 * Found by walking up from this file, which runs from main/ (tsx) or dist/main/ (built).
 */
export function bundledDataset(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'data', 'fashion-mnist-3k');
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return path.join('data', 'fashion-mnist-3k');
  }
}

export const ERASE_USAGE = `  ssse erase --dataset DIR --remove FILE --out DIR [options]
  ssse demo [--out DIR] [--remove-fraction F] [options]

erase options:
  --l2 L                  L2 weight λ the model is trained with (default 1e-4)
  --damping F             Fisher dampening λ_F (default: the L2 weight)
  --epsilon E             apply this ε (no sweep needed; works with --verify none)
  --epsilon-sweep a,b,c   ε values to evaluate (default 0.1 … 1000, 25 log-spaced values)
  --verify retrain|none   retrain without S from scratch and measure (default retrain)
  --seed S                seed of the initial weights (default 0)
  --backend B             auto|tensorflow|wasm|cpu (default auto: the fastest available)
  --fisher-method M       blocked|cholesky|sherman-morrison (default blocked, the fast
                          route; all give F̂⁻¹)
  --workers N             worker threads for the Fisher inverse (default: one per core;
                          0 computes it in the main thread)
  --curvature C           empirical|expected (default empirical, the paper's F̂)
  --cache-dir DIR         where θ* and F̂⁻¹ are kept between requests
                          (default $SSSE_CACHE_DIR or ~/.cache/ssse)
  --no-cache              recompute everything
  --limit-train N         use the first N training rows
  --limit-test N          use the first N test rows
  --overwrite             replace the content of an existing --out folder
  --json                  print summary.json to stdout instead of the human summary

The removal FILE lists one sample per line: ids from the dataset's ids.txt, or row
indices (0-based) when it has none. Lines starting with # are comments.
`;

const ERASE_OPTIONS = {
  dataset: { type: 'string' },
  remove: { type: 'string' },
  out: { type: 'string' },
  l2: { type: 'string' },
  damping: { type: 'string' },
  epsilon: { type: 'string' },
  'epsilon-sweep': { type: 'string' },
  verify: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  'fisher-method': { type: 'string' },
  workers: { type: 'string' },
  curvature: { type: 'string' },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
  'limit-train': { type: 'string' },
  'limit-test': { type: 'string' },
  overwrite: { type: 'boolean' },
  json: { type: 'boolean' },
  'remove-fraction': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type EraseValues = { [K in keyof typeof ERASE_OPTIONS]?: (typeof ERASE_OPTIONS)[K]['type'] extends 'string' ? string : boolean };

export function defaultCacheDir(): string {
  return process.env['SSSE_CACHE_DIR'] ?? path.join(os.homedir(), '.cache', 'ssse');
}

function configFrom(values: EraseValues, signal: AbortSignal, bars: ProgressBars): EraseConfig {
  const l2 = parseNumber('l2', values.l2, DEFAULT_CONFIG.l2, (v) => v > 0, 'a number > 0');
  const epsilon = values.epsilon === undefined ? null : parseNumber('epsilon', values.epsilon, 0, (v) => v >= 0, 'a number ≥ 0');
  return {
    ...DEFAULT_CONFIG,
    l2,
    damping: parseNumber('damping', values.damping, l2, (v) => v > 0, 'a number > 0'),
    seed: parseNumber('seed', values.seed, DEFAULT_CONFIG.seed, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0'),
    epsilon,
    epsilonGrid: values['epsilon-sweep'] !== undefined ? parseEpsilonList(values['epsilon-sweep']) : null,
    verify: parseChoice('verify', values.verify, 'retrain', ['retrain', 'none'] as const),
    fisherMethod: parseChoice<FisherMethod>('fisher-method', values['fisher-method'], 'blocked', ['blocked', 'cholesky', 'sherman-morrison']),
    ...(values.workers !== undefined
      ? { fisherWorkers: parseNumber('workers', values.workers, 0, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0') }
      : {}),
    curvature: parseChoice<Curvature>('curvature', values.curvature, 'empirical', ['empirical', 'expected']),
    cacheDir: values['no-cache'] ? null : (values['cache-dir'] ?? defaultCacheDir()),
    signal,
    onProgress: bars.listener,
  };
}

function modelNpy(model: LinearModel): Buffer {
  return encodeNpy({ dtype: 'float64', shape: [model.d, model.A], data: toFeatureMajor(model) });
}

function outputFiles(outcome: EraseOutcome): OutputFile[] {
  const files: OutputFile[] = [
    { name: 'summary.json', data: `${JSON.stringify(outcome.summary, null, 2)}\n` },
    { name: 'theta_star.npy', data: modelNpy(outcome.thetaStar) },
    { name: 'theta_hat.npy', data: modelNpy(outcome.thetaHat) },
  ];
  if (outcome.thetaRetrained) files.push({ name: 'theta_retrained.npy', data: modelNpy(outcome.thetaRetrained) });
  files.push({ name: 'removed_ids.txt', data: `${outcome.summary.removed_ids.join('\n')}\n` });
  return files;
}

const pct = (v: number | null): string => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
const num = (v: number | null, digits = 3): string => (v === null ? 'undefined' : v.toFixed(digits));

export function humanSummary(outcome: EraseOutcome, outDir: string): string {
  const s = outcome.summary;
  const lines = [
    `Erased k = ${s.k} of n = ${s.n} samples (${((100 * s.k) / s.n).toFixed(1)}%) from a ${s.attributes}-attribute linear model (d = ${s.d}); backend ${s.backend}.`,
    `  ε = ${s.epsilon}${s.epsilon_rule === 'given' ? ' (given)' : s.epsilon_rule === 'max_gamma_S' ? ` (largest γ_S of ${s.sweep.length} values)` : ' (smallest accuracy difference to retraining)'}`,
  ];
  if (s.verify === 'retrain') {
    lines.push(
      `  γ_S = ${num(s.gamma_S)}  (0: behaves like the original, 1: like the retrained model; above 0.5 is closer to retraining)`,
      `  normalized parameter distance to retraining = ${num(s.normalized_distance)}  (0 is best)`,
    );
  } else {
    lines.push('  not verified against a retrained model (--verify none)');
  }
  const acc = (key: 'removed' | 'retained' | 'test', label: string) => {
    const r = s.accuracy.retrained ? `, retrained ${pct(s.accuracy.retrained[key])}` : '';
    return `  attribute accuracy on ${label}: original ${pct(s.accuracy.star[key])}, erased ${pct(s.accuracy.hat[key])}${r}`;
  };
  lines.push(acc('removed', 'S'), acc('retained', 'D \\ S'));
  if (s.accuracy.star.test !== null) lines.push(acc('test', 'test'));
  const t = s.timings_s;
  lines.push(
    `  time: train ${t.train}s${s.cache.theta_star === 'hit' ? ' (cached)' : ''}, Fisher ${t.fisher}s${s.cache.fisher === 'hit' ? ' (cached)' : ''}, erasure ${t.erase}s${t.retrain !== null ? `, retrain ${t.retrain}s` : ''}`,
    `Outputs in ${path.resolve(outDir)}: ${outputFiles(outcome).map((f) => f.name).join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}

async function runErase(dataset: Dataset, removed: number[], values: EraseValues, outDir: string, io: CliIo, overwrite: boolean): Promise<void> {
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    io.err.write('\nssse: cancelling (press Ctrl-C again to stop at once)…\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const bars = new ProgressBars(io.err);
  try {
    const config = configFrom(values, controller.signal, bars);
    config.onFisherPlan = (plan) => {
      bars.finish();
      io.err.write(`ssse: ${describeFisherPlan(plan)}\n`);
    };
    const backend = await initBackend(parseBackendChoice(values.backend ?? 'auto'));
    io.err.write(`ssse: backend ${backend.name} (${backend.provider})\n`);
    const outcome = await eraseLinear(dataset, removed, config);
    bars.finish();
    commitOutputDir(outDir, outputFiles(outcome), overwrite);
    io.out.write(values.json ? `${JSON.stringify(outcome.summary, null, 2)}\n` : humanSummary(outcome, outDir));
  } finally {
    bars.finish();
    process.off('SIGINT', onSigint);
  }
}

function limits(values: EraseValues): { limitTrain?: number; limitTest?: number } {
  const opt: { limitTrain?: number; limitTest?: number } = {};
  if (values['limit-train'] !== undefined) opt.limitTrain = parseNumber('limit-train', values['limit-train'], 0, (v) => Number.isInteger(v) && v > 0, 'a whole number > 0');
  if (values['limit-test'] !== undefined) opt.limitTest = parseNumber('limit-test', values['limit-test'], 0, (v) => Number.isInteger(v) && v > 0, 'a whole number > 0');
  return opt;
}

export async function commandErase(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: ERASE_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(ERASE_USAGE);
    return;
  }
  if (!values.dataset) throw usageError('erase: --dataset DIR is required');
  if (!values.remove) throw usageError('erase: --remove FILE is required');
  if (!values.out) throw usageError('erase: --out DIR is required');
  const overwrite = Boolean(values.overwrite);
  checkOutputDir(values.out, overwrite);
  const dataset = loadDataset(values.dataset, limits(values));
  const idsFromFile = dataset.files.some((f) => path.basename(f.path) === 'ids.txt');
  const removed = readRemovalFile(values.remove, dataset.ids, idsFromFile);
  await runErase(dataset, removed, values, values.out, io, overwrite);
}

export async function commandDemo(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: ERASE_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(ERASE_USAGE);
    return;
  }
  const dataDir = values.dataset ?? bundledDataset();
  const outDir = values.out ?? path.join('ssse-out', 'demo');
  const fraction = parseNumber('remove-fraction', values['remove-fraction'], 0.02, (v) => v > 0 && v < 1, 'a fraction between 0 and 1');
  const dataset = loadDataset(dataDir, limits(values));
  const n = dataset.train.n;
  const seed = parseNumber('seed', values.seed, 0, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0');
  const removed = randomRemoval(n, Math.max(1, Math.round(fraction * n)), seed);
  io.err.write(`ssse demo: erasing a random ${(fraction * 100).toFixed(1)}% (k = ${removed.length}, seed ${seed}) of ${dataDir} (n = ${n})\n`);
  // The demo owns its output folder and replaces it on each run.
  await runErase(dataset, removed, values, outDir, io, true);
}


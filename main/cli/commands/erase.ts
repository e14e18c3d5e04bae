import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, parseBackendChoice } from '../../engine/backend.js';
import { loadDataset } from '../../engine/data/dataset.js';
import { encodeNpy } from '../../engine/data/npy.js';
import { readRemovalFile } from '../../engine/data/removal.js';
import type { Dataset } from '../../engine/data/types.js';
import { DEFAULT_CONFIG, datasetFingerprint, eraseLinear, type EraseConfig, type EraseOutcome } from '../../engine/erase.js';
import { calibratedEpsilon, parseCalibration } from '../../engine/calibration.js';
import { eraseFromStoredModel } from '../../engine/eraseRequest.js';
import { SsseError } from '../../engine/errors.js';
import { DEFAULT_FISHER_METHOD, type Curvature, type FisherMethod } from '../../engine/linear/fisher.js';
import { describeFisherPlan } from '../../engine/linear/fisherBuild.js';
import { toFeatureMajor, type LinearModel } from '../../engine/linear/model.js';
import { parseEpsilonList } from '../../engine/linear/sweep.js';
import { checkOutputDir, commitOutputDir, type OutputFile } from '../../engine/output.js';
import { ProgressBars } from '../progressBar.js';
import { limitsOf, parseChoice, parseNumber, SigintCancel, usageError, type CliIo } from '../options.js';
import { commandEraseNetwork, wantsNetwork } from './eraseNetwork.js';

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

erase options:
  --l2 L                  L2 weight λ the model is trained with (default 1e-4)
  --damping F             Fisher dampening λ_F (default: the L2 weight)
  --epsilon E             apply this ε (no sweep needed; works with --verify none)
  --epsilon-sweep a,b,c   ε values to evaluate (default 0.1 … 1000, 25 log-spaced values)
  --verify retrain|none   retrain without S from scratch and measure (default retrain)
  --seed S                seed of the initial weights (default 0)
  --backend B             auto|tensorflow|wasm|cpu (default auto: the fastest available)
  --fisher-method M       blocked|cholesky|sherman-morrison (default blocked, the fast route;
                          all give F̂⁻¹ within the tolerances the tests state)
  --workers N             worker threads beside the main thread, for the Fisher inverse and for
                          training θ* and θ*₋S (default: one per core beyond the first; training
                          only from n·d² ≥ 5e8; 0: the main thread alone; same result either way)
  --curvature C           empirical|expected (default empirical, the paper's F̂)
  --leave-k-out           downdate S's rows out of F̂ first: the step uses D \\ S's curvature
  --epsilon-from FILE     the ε calibrated for this curvature setting (ssse calibrate); with it,
                          --verify defaults to none, and the erasure then reads S and the stored
                          θ* and F̂⁻¹ only (certify the model first with ssse calibrate)
  --refine none|newton    newton: continue with Newton on D \\ S from θ̂ to the exact optimum
                          (writes theta_refined.npy; needs the rest of the training set)
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
  'leave-k-out': { type: 'boolean' },
  'epsilon-from': { type: 'string' },
  refine: { type: 'string' },
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
    fisherMethod: parseChoice<FisherMethod>('fisher-method', values['fisher-method'], DEFAULT_FISHER_METHOD, ['blocked', 'cholesky', 'sherman-morrison']),
    ...(values.workers !== undefined
      ? { fisherWorkers: parseNumber('workers', values.workers, 0, (v) => Number.isInteger(v) && v >= 0, 'a whole number ≥ 0') }
      : {}),
    curvature: parseChoice<Curvature>('curvature', values.curvature, 'empirical', ['empirical', 'expected']),
    leaveKOut: Boolean(values['leave-k-out']),
    refine: parseChoice('refine', values.refine, 'none', ['none', 'newton'] as const),
    cacheDir: values['no-cache'] ? null : (values['cache-dir'] ?? defaultCacheDir()),
    signal,
    onProgress: bars.listener,
  };
}

function modelNpy(model: LinearModel): Buffer {
  return encodeNpy({ dtype: 'float64', shape: [model.d, model.A], data: toFeatureMajor(model) });
}

export function outputFiles(outcome: EraseOutcome): OutputFile[] {
  const files: OutputFile[] = [
    { name: 'summary.json', data: `${JSON.stringify(outcome.summary, null, 2)}\n` },
    { name: 'theta_star.npy', data: modelNpy(outcome.thetaStar) },
    { name: 'theta_hat.npy', data: modelNpy(outcome.thetaHat) },
  ];
  if (outcome.thetaRetrained) files.push({ name: 'theta_retrained.npy', data: modelNpy(outcome.thetaRetrained) });
  if (outcome.thetaRefined) files.push({ name: 'theta_refined.npy', data: modelNpy(outcome.thetaRefined) });
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
  lines.push(...beyondPaperLines(s));
  const t = s.timings_s;
  lines.push(
    `  time: train ${t.train}s${s.cache.theta_star === 'hit' ? ' (cached)' : s.cache.theta_star === 'provided' ? ' (stored)' : ''}, Fisher ${t.fisher}s${s.cache.fisher === 'hit' ? ' (cached)' : s.cache.fisher === 'provided' ? ' (stored)' : ''}, erasure ${t.erase}s${t.retrain !== null ? `, retrain ${t.retrain}s` : ''}`,
    `Outputs in ${path.resolve(outDir)}: ${outputFiles(outcome).map((f) => f.name).join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}

/** The summary lines for curvature setting, ε source, gradient norms, membership AUC and refinement. */
function beyondPaperLines(s: EraseOutcome['summary']): string[] {
  const e = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : v.toExponential(2));
  const lines = [
    `  curvature ${s.curvature}${s.leave_k_out ? ', leave-k-out (the curvature of D \\ S)' : ''}; ε from ${s.epsilon_source ?? 'n/a'}; ${s.data_access === 'removed_only' ? 'read S and the stored θ*, F̂⁻¹ only' : 'read the whole training set'}`,
  ];
  const g = s.gradient_norm;
  if (g && g.theta_hat !== null) {
    lines.push(`  ‖∇L₋S‖: θ* ${e(g.theta_star)}, erased ${e(g.theta_hat)} (so ‖θ̂ − θ*₋S‖ ≤ ${e(g.theta_hat_distance_bound)})${g.refined !== null ? `, refined ${e(g.refined)}` : ''}`);
  }
  const m = s.membership_auc;
  if (m && m.star !== null) {
    const parts = [`original ${num(m.star)}`, `erased ${num(m.hat)}`];
    if (m.retrained !== null) parts.push(`retrained ${num(m.retrained)}`);
    if (m.refined !== null) parts.push(`refined ${num(m.refined)}`);
    lines.push(`  membership-inference AUC, S vs test (0.5: S looks unseen): ${parts.join(', ')}`);
  }
  const r = s.refine;
  if (r) {
    lines.push(
      `  Newton refinement: ${r.iterations_total} iterations${r.retrain_iterations_total !== null ? ` (retraining from the seed took ${r.retrain_iterations_total}; saved ${r.iterations_saved})` : ''}` +
        `${r.relative_distance_to_retrained !== null ? `, ${e(r.relative_distance_to_retrained)} from the retrained model` : ''}, ${r.seconds}s`,
    );
  }
  return lines;
}

/**
 * --epsilon-from: the calibrated ε for this run's curvature setting, after checking that the
 * calibration was made for this very model (dataset fingerprint, λ, λ_F, seed, method).
 */
function applyCalibration(config: EraseConfig, values: EraseValues, dataset: Dataset): { config: EraseConfig; fingerprint: string | null } {
  const file = values['epsilon-from'];
  if (file === undefined) return { config, fingerprint: null };
  if (values.epsilon !== undefined || values['epsilon-sweep'] !== undefined) {
    throw usageError('--epsilon-from: give either --epsilon-from or --epsilon/--epsilon-sweep, not both');
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new SsseError('BAD_INPUT', `${file}: cannot read the calibration file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const report = parseCalibration(text, file);
  const fingerprint = datasetFingerprint(dataset);
  const epsilon = calibratedEpsilon(
    report,
    { curvature: config.curvature, leaveKOut: Boolean(config.leaveKOut) },
    { fingerprint, l2: config.l2, damping: config.damping, seed: config.seed, tolerance: config.tolerance, fisherMethod: config.fisherMethod },
    file,
  );
  return {
    config: { ...config, epsilon, epsilonGrid: null, epsilonSource: 'calibration', verify: values.verify === undefined ? 'none' : config.verify },
    fingerprint,
  };
}

async function runErase(dataset: Dataset, removed: number[], values: EraseValues, outDir: string, io: CliIo, overwrite: boolean): Promise<void> {
  const cancel = new SigintCancel(io);
  cancel.listen();
  const bars = new ProgressBars(io.err);
  try {
    const calibrated = applyCalibration(configFrom(values, cancel.signal, bars), values, dataset);
    const config = calibrated.config;
    config.onFisherPlan = (plan) => {
      bars.finish();
      io.err.write(`ssse: ${describeFisherPlan(plan)}\n`);
    };
    const backend = await initBackend(parseBackendChoice(values.backend ?? 'auto'));
    io.err.write(`ssse: backend ${backend.name} (${backend.provider})\n`);
    // A calibrated ε without verification or refinement: the request reads S and the stored artefacts only.
    const outcome =
      calibrated.fingerprint !== null && config.verify === 'none' && config.refine !== 'newton'
        ? await eraseFromStoredModel(dataset, removed, { ...config, modelFingerprint: calibrated.fingerprint })
        : await eraseLinear(dataset, removed, config);
    bars.finish();
    commitOutputDir(outDir, outputFiles(outcome), overwrite);
    io.out.write(values.json ? `${JSON.stringify(outcome.summary, null, 2)}\n` : humanSummary(outcome, outDir));
  } finally {
    bars.finish();
    cancel.release();
  }
}

export async function commandErase(args: string[], io: CliIo): Promise<void> {
  if (wantsNetwork(args)) return commandEraseNetwork(args, io);
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
  const dataset = loadDataset(values.dataset, limitsOf(values));
  const idsFromFile = dataset.files.some((f) => path.basename(f.path) === 'ids.txt');
  const removed = readRemovalFile(values.remove, dataset.ids, idsFromFile);
  await runErase(dataset, removed, values, values.out, io, overwrite);
}



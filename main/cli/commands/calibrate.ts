import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, parseBackendChoice } from '../../engine/backend.js';
import { calibrate, DEFAULT_CALIBRATE, type CalibrateConfig, type CalibrationReport } from '../../engine/calibration.js';
import { loadDataset } from '../../engine/data/dataset.js';
import { ALL_SETTINGS, settingName, type StepSetting } from '../../engine/linear/calibrate.js';
import { DEFAULT_FISHER_METHOD, type FisherMethod } from '../../engine/linear/fisher.js';
import { parseEpsilonList } from '../../engine/linear/sweep.js';
import { checkOutputDir, commitOutputDir } from '../../engine/output.js';
import { ProgressBars } from '../progressBar.js';
import { parseChoice, parseNumber, SigintCancel, usageError, type CliIo } from '../options.js';
import { defaultCacheDir } from './erase.js';

export const CALIBRATE_USAGE = `  ssse calibrate --dataset DIR --out DIR [--trials T] [--fractions f1,f2,…] [options]

calibrate: choose ε once per model, without retraining at request time. Simulates removals
(random, and from one attribute's positives where the labels allow) of each fraction, retrains
each once, and keeps per curvature setting the ε with the largest mean γ_S. Writes
DIR/calibration.json; then \`ssse erase --epsilon-from DIR/calibration.json\` erases with no
retraining. θ* and F̂⁻¹ are stored in the cache for those erasures.

calibrate options:
  --trials T              removals per fraction and kind (default 3)
  --fractions f1,f2,…     removal fractions of n (default 0.01,0.02,0.05)
  --settings s1,s2,…      of empirical, empirical+leave-k-out, expected, expected+leave-k-out
                          (default all four)
  --epsilon-sweep a,b,c   ε grid (default 0.1 … 1000, 25 log-spaced values)
  --no-attribute-removals only random removals
  --trial-seed S          seed of the first simulated removal (default 1000)
  --l2, --damping, --seed, --backend, --fisher-method, --cache-dir, --no-cache,
  --limit-train, --limit-test, --overwrite, --json   as for erase
`;

const CALIBRATE_OPTIONS = {
  dataset: { type: 'string' },
  out: { type: 'string' },
  trials: { type: 'string' },
  fractions: { type: 'string' },
  settings: { type: 'string' },
  'epsilon-sweep': { type: 'string' },
  'no-attribute-removals': { type: 'boolean' },
  'trial-seed': { type: 'string' },
  l2: { type: 'string' },
  damping: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  'fisher-method': { type: 'string' },
  'cache-dir': { type: 'string' },
  'no-cache': { type: 'boolean' },
  'limit-train': { type: 'string' },
  'limit-test': { type: 'string' },
  overwrite: { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseFractions(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw usageError('--fractions: expected a comma-separated list of fractions');
  return parts.map((s) => {
    const v = Number(s);
    if (!Number.isFinite(v) || !(v > 0 && v < 1)) throw usageError(`--fractions: "${s}" is not a fraction between 0 and 1`);
    return v;
  });
}

function parseSettings(text: string): StepSetting[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw usageError('--settings: expected a comma-separated list');
  return names.map((name) => {
    const s = ALL_SETTINGS.find((x) => settingName(x) === name);
    if (!s) throw usageError(`--settings: "${name}" is not one of ${ALL_SETTINGS.map(settingName).join(', ')}`);
    return s;
  });
}

const fixed = (v: number | null, digits = 3): string => (v === null ? 'n/a' : v.toFixed(digits));

export function calibrationSummary(report: CalibrationReport, outDir: string): string {
  const lines = [
    `Calibrated ε on ${report.trials.length} simulated removals (fractions ${report.fractions.join(', ')}; n = ${report.dataset.n}); backend ${report.model.backend}.`,
    '  setting                 ε        mean γ_S at ε (± std, min–max)     trials\' best ε      groups\' best ε',
  ];
  for (const s of report.settings) {
    const a = s.at_epsilon;
    const b = s.trial_best_epsilon_spread;
    const groups = s.groups.map((g) => `${g.kind} ${g.fraction}: ${g.best_epsilon ?? 'n/a'}${g.rule === 'min_accuracy_difference' ? ' (by accuracy)' : ''}`).join('; ');
    lines.push(
      `  ${s.setting.padEnd(22)}  ${String(s.epsilon).padEnd(7)}  ${fixed(a.mean)} (± ${fixed(a.std)}, ${fixed(a.min)}–${fixed(a.max)})`.padEnd(70) +
        `${b.min ?? 'n/a'}–${b.max ?? 'n/a'}`.padEnd(20) +
        groups,
    );
  }
  if (report.settings.some((s) => s.groups.some((g) => g.rule === 'min_accuracy_difference'))) {
    lines.push('  (by accuracy): γ_S is undefined for those removals (no attribute has an AUC on S); ε by the smallest accuracy difference instead');
  }
  for (const s of report.skipped) lines.push(`  skipped: ${s}`);
  lines.push(`  time: train ${report.timings_s.train}s, Fisher ${report.timings_s.fisher}s, trials ${report.timings_s.trials}s`);
  lines.push(`Wrote ${path.resolve(outDir, 'calibration.json')}; erase with --epsilon-from it (and the same --cache-dir).`);
  return `${lines.join('\n')}\n`;
}

export async function commandCalibrate(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: CALIBRATE_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(CALIBRATE_USAGE);
    return;
  }
  if (!values.dataset) throw usageError('calibrate: --dataset DIR is required');
  if (!values.out) throw usageError('calibrate: --out DIR is required');
  const overwrite = Boolean(values.overwrite);
  checkOutputDir(values.out, overwrite);
  const l2 = parseNumber('l2', values.l2, DEFAULT_CALIBRATE.l2, (v) => v > 0, 'a number > 0');
  const whole = (flag: string, value: string | undefined, fallback: number, min: number) =>
    parseNumber(flag, value, fallback, (v) => Number.isInteger(v) && v >= min, `a whole number ≥ ${min}`);
  const limits: { limitTrain?: number; limitTest?: number } = {};
  if (values['limit-train'] !== undefined) limits.limitTrain = whole('limit-train', values['limit-train'], 0, 1);
  if (values['limit-test'] !== undefined) limits.limitTest = whole('limit-test', values['limit-test'], 0, 1);

  const cancel = new SigintCancel(io);
  const bars = new ProgressBars(io.err);
  const config: CalibrateConfig = {
    ...DEFAULT_CALIBRATE,
    l2,
    damping: parseNumber('damping', values.damping, l2, (v) => v > 0, 'a number > 0'),
    seed: whole('seed', values.seed, DEFAULT_CALIBRATE.seed, 0),
    fisherMethod: parseChoice<FisherMethod>('fisher-method', values['fisher-method'], DEFAULT_FISHER_METHOD, ['blocked', 'cholesky', 'sherman-morrison']),
    cacheDir: values['no-cache'] ? null : (values['cache-dir'] ?? defaultCacheDir()),
    trials: whole('trials', values.trials, DEFAULT_CALIBRATE.trials, 1),
    fractions: values.fractions !== undefined ? parseFractions(values.fractions) : DEFAULT_CALIBRATE.fractions,
    grid: values['epsilon-sweep'] !== undefined ? parseEpsilonList(values['epsilon-sweep']) : DEFAULT_CALIBRATE.grid,
    settings: values.settings !== undefined ? parseSettings(values.settings) : DEFAULT_CALIBRATE.settings,
    attributeRemovals: !values['no-attribute-removals'],
    trialSeed: whole('trial-seed', values['trial-seed'], DEFAULT_CALIBRATE.trialSeed, 0),
    signal: cancel.signal,
    onProgress: bars.listener,
  };
  const backendChoice = parseBackendChoice(values.backend ?? 'auto');
  const dataset = loadDataset(values.dataset, limits);
  cancel.listen();
  try {
    const backend = await initBackend(backendChoice);
    io.err.write(`ssse: backend ${backend.name} (${backend.provider})\n`);
    const report = await calibrate(dataset, config);
    bars.finish();
    commitOutputDir(values.out, [{ name: 'calibration.json', data: `${JSON.stringify(report, null, 2)}\n` }], overwrite);
    if (!config.cacheDir) io.err.write('ssse: warning: --no-cache: θ* and F̂⁻¹ were not stored; erase --epsilon-from without retraining needs them in its --cache-dir\n');
    io.out.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : calibrationSummary(report, values.out));
  } finally {
    bars.finish();
    cancel.release();
  }
}

/**
 * Regenerates docs/results-nn.md and docs/results-nn.json: SSSE on a network, the paper's
 * class-removal experiments on Fashion-MNIST (issue 4).
 *
 *   npm run results:nn                       (about an hour on 2 shared cores, wasm backend)
 *   npm run results:nn -- --quick --out-dir /tmp/x   (a smoke run on a small subset)
 *   npm run results:nn -- --render-only      (rewrite the .md from the .json, no computing)
 *   npm run results:nn -- --trials T         (calibration removals per kind, default 8; 2 with --quick)
 *   npm run results:nn -- --block-order O    (unit-major, the default, or input-major: blockOrder.ts)
 *   npm run results:nn -- --fresh N          (fresh 1%-at-random draws that choose nothing, default 9; 2 with --quick)
 *   npm run results:nn -- --fresh-only       (add the fresh draws to an existing results-nn.json, about 15 minutes)
 *
 * Setting: the first 10,000 training images of Debian's dataset-fashion-mnist
 * (/usr/share/datasets/fashion-mnist, or $FASHION_MNIST_DIR), the full 10,000-image test set,
 * an MLP 784-128-10 (101,770 parameters) trained by seeded SGD with momentum. Three removals:
 * all of class 0, 10% of class 0, a random 1% of the training set. For each, the block-diagonal
 * Fisher at two block sizes and two dampings, the ε sweep, and θ*, θ̂ (chosen ε) and θ*_{−S}
 * on S, D \ S and the test set, plus the spread of retrainings with other seeds.
 *
 * θ*, the Fisher rows G, the removal gradients and the retrained models are computed once and
 * shared between the block sizes and dampings (the engine's own functions, the same ones
 * `ssse erase --model` runs); each (block size, damping) gets its own F̂⁻¹ pass, timed.
 *
 * ε two ways for every removal and setting: the in-sample rule of SSSE.md (it reads S's own
 * retrained model) and the held-out calibration of `ssse erase --calibrate-trials T`
 * (engine/nn/calibrate.ts: T other removals of the same kind, their gradients in the same F̂⁻¹
 * pass, each retrained once and shared between the settings; ε_cal minimizes their mean accuracy
 * difference). The issue's targets are judged on ε_cal, the product's rule; the in-sample
 * verdicts are stated beside them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../bench/measure.js';
import { initBackend } from '../main/engine/backend.js';
import { loadDataset } from '../main/engine/data/dataset.js';
import type { Dataset } from '../main/engine/data/types.js';
import { classRemoval, randomRemoval } from '../main/engine/data/removal.js';
import { chooseEpsilon, type SplitAccuracy, type SweepRow } from '../main/engine/linear/sweep.js';
import { solveBlockFisher } from '../main/engine/nn/blockFisher.js';
import { chooseForgetEpsilon, FORGET_RULE } from '../main/engine/nn/forgetRule.js';
import { BLOCK_ORDERS, blockPermutation, DEFAULT_BLOCK_ORDER, describeBlockOrder, type BlockOrder } from '../main/engine/nn/blockOrder.js';
import { calibrationDraws, chooseCalibratedEpsilon, describeCalibrationKind, trialBestEpsilon, trialSweep, type CalibrationTrial, type CurvePoint, type TrialSweep } from '../main/engine/nn/calibrate.js';
import { complementRows, evaluationSplits, type RemovalDescription } from '../main/engine/nn/erase.js';
import {
  accuracyDifference,
  evaluateParams,
  networkEpsilonGrid,
  NetworkStepEvaluator,
  retrainSpread,
  type AccuracyDifference,
  type ModelEval,
  type RetrainSpread,
} from '../main/engine/nn/evaluate.js';
import { fisherGroups, fisherRows, removalGradient, type FisherRows } from '../main/engine/nn/gradients.js';
import { setParams, type Network } from '../main/engine/nn/network.js';
import { buildNetwork } from '../main/engine/nn/spec.js';
import { trainNetwork, type ClassData, type SgdConfig } from '../main/engine/nn/train.js';
import { DROP_MATCH, EPSILON_RULES, HELD_OUT_MEAN, HINDSIGHT, IN_SAMPLE_GAMMA, type EpsilonRule, type RuleDraw } from './epsilonRules.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    'render-only': { type: 'boolean' },
    'fresh-only': { type: 'boolean' },
    fresh: { type: 'string' },
    'out-dir': { type: 'string' },
    data: { type: 'string' },
    trials: { type: 'string' },
    'block-order': { type: 'string' },
  },
});
const quick = Boolean(values.quick);
const DATA = values.data ?? process.env['FASHION_MNIST_DIR'] ?? '/usr/share/datasets/fashion-mnist';
const OUT = values['out-dir'] ?? path.join(__dirname, '..', 'docs');
const LIMIT_TRAIN = quick ? 2000 : 10_000;
const LIMIT_TEST = quick ? 2000 : undefined;
const SGD: SgdConfig = { epochs: quick ? 3 : 30, batchSize: 64, lr: 0.05, momentum: 0.9, lrSchedule: 'cosine', l2: 1e-4, seed: 0 };
const HIDDEN = [128];
const FISHER_BATCH = 10;
const BLOCK_SIZES = [2048, 8192];
const DAMPINGS = [1e-4, 1e-3];
const RETRAIN_SEEDS = quick ? 2 : 3;
const REMOVED_CLASS = 0;
const BLOCK_ORDER = (values['block-order'] ?? DEFAULT_BLOCK_ORDER) as BlockOrder;
if (!BLOCK_ORDERS.includes(BLOCK_ORDER)) throw new Error(`--block-order: expected ${BLOCK_ORDERS.join(' or ')}, got ${BLOCK_ORDER}`);
/**
 * T: calibration removals per removal kind (--trials). Eight: with S they make nine draws per kind
 * (a whole class: every other class but one), enough for the leave-one-out tables to say more
 * than four draws could; the T-subsets table shows what fewer trials would have chosen.
 */
const TRIALS = values.trials !== undefined ? Number(values.trials) : quick ? 2 : 8;
if (!(Number.isSafeInteger(TRIALS) && TRIALS >= 1)) throw new Error(`--trials: expected a whole number ≥ 1, got ${values.trials}`);
/**
 * Fresh 1%-at-random draws (--fresh): retrained and swept after everything else and used to choose
 * nothing, so that the ε rules compared on the stored draws are also judged on draws they never saw.
 */
const FRESH_DRAWS = values.fresh !== undefined ? Number(values.fresh) : quick ? 2 : 9;
if (!(Number.isSafeInteger(FRESH_DRAWS) && FRESH_DRAWS >= 0)) throw new Error(`--fresh: expected a whole number ≥ 0, got ${values.fresh}`);
/** Fashion-MNIST's class names (Zalando's README), for the prose only. */
const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

interface Removal {
  key: 'class' | 'class-part' | 'random';
  title: string;
  rows: number[];
  description: RemovalDescription;
}

/** S at one ε against S's own retrained model. */
interface EpsilonOutcome {
  epsilon: number;
  gamma_S: number | null;
  normalized_distance: number | null;
  accuracy: SplitAccuracy;
  difference: AccuracyDifference;
  removed_class_accuracy: { removed: number | null; test: number | null };
}

/**
 * A calibration removal with what it takes to judge it as a request of its own (the section
 * "Other draws of S"): θ*'s and its retrained model's accuracies on its splits and its whole
 * sweep (γ_S, θ̂_t's accuracies at each ε). Absent from results-nn.json files written before.
 */
interface JudgedTrial extends CalibrationTrial {
  star_accuracy?: SplitAccuracy;
  retrained_accuracy?: SplitAccuracy;
  sweep?: SweepRow[];
}

/** The held-out choice for one setting: the trials' curves (this setting's directions), ε_cal, and S at ε_cal. */
interface CalibratedResult extends EpsilonOutcome {
  trials: JudgedTrial[];
  mean_curve: CurvePoint[];
}

interface ConfigResult {
  block_size: number;
  damping: number;
  fisher_solve_s: number;
  epsilon: number;
  epsilon_rule: string;
  gamma_S: number | null;
  normalized_distance: number | null;
  accuracy: SplitAccuracy;
  difference: AccuracyDifference;
  removed_class_accuracy: { removed: number | null; test: number | null };
  /** The smallest mean |Δacc| over the grid and its ε, for context (not the rule's choice). */
  best_mean_difference: { epsilon: number; mean: number | null };
  /** ε chosen held out on the calibration removals (the fields above are the in-sample rule's). */
  calibrated: CalibratedResult;
  sweep: SweepRow[];
}

interface RemovalResult {
  key: Removal['key'];
  title: string;
  k: number;
  removal_gradient_s: number;
  retrain_s: number;
  retrain_spread_s: number;
  calibration: { kind: string; trials: { removal: RemovalDescription; k: number; retrain_s: number }[]; sweeps_s: number };
  star: { accuracy: SplitAccuracy; difference: AccuracyDifference; removed_class_accuracy: { removed: number | null; test: number | null } };
  retrained: { accuracy: SplitAccuracy; removed_class_accuracy: { removed: number | null; test: number | null } };
  spread: RetrainSpread;
  configs: ConfigResult[];
}

const t00 = performance.now();
function log(message: string): void {
  console.log(`[${((performance.now() - t00) / 1000).toFixed(0).padStart(5)} s] ${message}`);
}

function seconds(since: number): number {
  return Math.round(performance.now() - since) / 1000;
}

function classAcc(e: ModelEval): { removed: number | null; test: number | null } {
  return { removed: e.perClass.removed?.[REMOVED_CLASS] ?? null, test: e.perClass.test?.[REMOVED_CLASS] ?? null };
}

/** The data and the (untrained) network of the report's setting. */
function loadSetting(): { dataset: Dataset; n: number; classIds: Int32Array; data: ClassData; net: Network } {
  const dataset = loadDataset(DATA, { limitTrain: LIMIT_TRAIN, ...(LIMIT_TEST ? { limitTest: LIMIT_TEST } : {}) });
  const n = dataset.train.n;
  const classIds = dataset.train.classIds as Int32Array;
  const data = { features: dataset.train.features, classIds, n };
  const net = buildNetwork({ kind: 'mlp', hidden: HIDDEN }, [dataset.d], dataset.numClasses ?? 10);
  return { dataset, n, classIds, data, net };
}

async function main(): Promise<void> {
  if (values['render-only']) {
    const report = JSON.parse(fs.readFileSync(path.join(OUT, 'results-nn.json'), 'utf8')) as Report;
    fs.writeFileSync(path.join(OUT, 'results-nn.md'), markdown(report));
    log(`rewrote ${path.join(OUT, 'results-nn.md')} from results-nn.json`);
    return;
  }
  if (values['fresh-only']) {
    await freshOnly();
    return;
  }
  const backend = await initBackend('wasm');
  const cpu = os.cpus();
  const machine = `${cpu[0]?.model ?? 'unknown CPU'} (${cpu.length} cores, shared), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, tfjs ${backend.tfjsVersion} ${backend.name} backend`;
  log(`${machine}; load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const { dataset, n, classIds, data, net } = loadSetting();
  log(`data: ${n} training, ${dataset.test?.n ?? 0} test images; network 784-${HIDDEN.join('-')}-10, p = ${net.p}`);

  const removals: Removal[] = [
    {
      key: 'class',
      title: `all of class ${REMOVED_CLASS} (${CLASS_NAMES[REMOVED_CLASS]})`,
      rows: classRemoval(classIds, REMOVED_CLASS, 1, 0),
      description: { kind: 'class', class: REMOVED_CLASS, fraction: 1, seed: 0 },
    },
    {
      key: 'class-part',
      title: `10% of class ${REMOVED_CLASS}`,
      rows: classRemoval(classIds, REMOVED_CLASS, 0.1, 0),
      description: { kind: 'class', class: REMOVED_CLASS, fraction: 0.1, seed: 0 },
    },
    {
      key: 'random',
      title: '1% of the training set at random',
      rows: randomRemoval(n, Math.round(0.01 * n), 0),
      description: { kind: 'random', fraction: 0.01, seed: 0 },
    },
  ];
  // The calibration removals of each request (the engine's draws for --calibrate-trials).
  const draws = removals.map((r) => calibrationDraws(classIds, dataset.numClasses ?? 10, { rows: r.rows, removal: r.description }, TRIALS, SGD.seed));

  // θ*.
  let t0 = performance.now();
  const star = await trainNetwork(net, data, SGD, { phase: 'train' });
  const trainSeconds = seconds(t0);
  log(`θ* trained in ${trainSeconds} s (final epoch loss ${star.epochLoss.at(-1)?.toFixed(4)})`);

  // G at θ*, the removal gradients, then F̂⁻¹·g for every block size and damping.
  t0 = performance.now();
  setParams(net, star.theta);
  const G = await fisherRows(net, data, fisherGroups(n, FISHER_BATCH, SGD.seed), FISHER_BATCH);
  const rowsSeconds = seconds(t0);
  log(`Fisher rows: N = ${G.N} in ${rowsSeconds} s`);
  const gradients: Float64Array[] = [];
  const gradientSeconds: number[] = [];
  for (const r of removals) {
    t0 = performance.now();
    gradients.push(await removalGradient(net, data, r.rows, SGD.l2, star.theta));
    gradientSeconds.push(seconds(t0));
  }
  // The trials' gradients ride in the same F̂⁻¹ passes: vector removals.length + ri·TRIALS + t.
  const sizes = removals.map((r) => r.rows.length);
  for (const list of draws) {
    for (const d of list) {
      gradients.push(await removalGradient(net, data, d.rows, SGD.l2, star.theta));
      sizes.push(d.rows.length);
    }
  }
  const directions = new Map<string, { dirs: Float64Array[]; seconds: number }>();
  const order = blockPermutation(net.params, BLOCK_ORDER);
  for (const blockSize of BLOCK_SIZES) {
    for (const damping of DAMPINGS) {
      t0 = performance.now();
      const [solved] = await solveBlockFisher(G, gradients, { blockSize, dampings: [damping], method: 'auto', order });
      const s = seconds(t0);
      const dirs = (solved as Float64Array[]).map((u, i) => {
        const k = sizes[i] as number;
        for (let t = 0; t < u.length; t++) u[t] = (u[t] as number) / (n - k);
        return u;
      });
      directions.set(`${blockSize}/${damping}`, { dirs, seconds: s });
      log(`F̂⁻¹ (blocks of ${blockSize}, λ_F = ${damping}) applied to the ${gradients.length} removal gradients (${removals.length} requests, ${gradients.length - removals.length} calibration trials) in ${s} s`);
    }
  }

  const results: RemovalResult[] = [];
  for (let ri = 0; ri < removals.length; ri++) {
    const removal = removals[ri] as Removal;
    const removed = Int32Array.from(removal.rows).sort();
    const splits = evaluationSplits(dataset, removed, complementRows(n, removed));
    t0 = performance.now();
    const retrained = await trainNetwork(net, data, SGD, { exclude: removed, phase: 'retrain' });
    const retrainSeconds = seconds(t0);
    log(`${removal.title}: k = ${removed.length}, retrained in ${retrainSeconds} s`);
    t0 = performance.now();
    const spreadSeeds = Array.from({ length: RETRAIN_SEEDS }, (_, i) => SGD.seed + 1 + i);
    const spreadEvals: ModelEval[] = [];
    for (const seed of spreadSeeds) {
      const r = await trainNetwork(net, data, { ...SGD, seed }, { exclude: removed, phase: 'retrain-spread' });
      spreadEvals.push(evaluateParams(net, r.theta, splits));
    }
    const spreadSeconds = seconds(t0);
    log(`${removal.title}: ${RETRAIN_SEEDS} more retrainings in ${spreadSeconds} s`);

    // Held-out calibration: each trial retrained once (same seed and settings), then swept with
    // every setting's direction. S's retrained model is not touched here.
    const trialDraws = draws[ri] ?? [];
    const trialRetrainSeconds: number[] = [];
    const curves = new Map<string, TrialSweep[]>();
    let sweepsSeconds = 0;
    for (let t = 0; t < trialDraws.length; t++) {
      const draw = trialDraws[t] as (typeof trialDraws)[number];
      const excluded = Int32Array.from(draw.rows);
      t0 = performance.now();
      const trained = await trainNetwork(net, data, SGD, { exclude: excluded, phase: 'calibrate-retrain' });
      trialRetrainSeconds.push(seconds(t0));
      t0 = performance.now();
      const trialSplits = evaluationSplits(dataset, excluded, complementRows(n, excluded));
      for (const blockSize of BLOCK_SIZES) {
        for (const damping of DAMPINGS) {
          const key = `${blockSize}/${damping}`;
          const direction = directions.get(key)?.dirs[removals.length + ri * TRIALS + t] as Float64Array;
          const list = curves.get(key) ?? [];
          list.push(trialSweep(net, star.theta, direction, trained.theta, trialSplits, networkEpsilonGrid()));
          curves.set(key, list);
        }
      }
      sweepsSeconds += seconds(t0);
      log(`${removal.title}: calibration trial ${t + 1} (${JSON.stringify(draw.removal)}, k = ${draw.rows.length}) retrained in ${trialRetrainSeconds.at(-1)} s, swept in ${seconds(t0)} s`);
    }

    const configs: ConfigResult[] = [];
    let starEval: ModelEval | null = null;
    let retrainedEval: ModelEval | null = null;
    let firstHat: SplitAccuracy | null = null;
    for (const blockSize of BLOCK_SIZES) {
      for (const damping of DAMPINGS) {
        const entry = directions.get(`${blockSize}/${damping}`);
        const direction = entry?.dirs[ri] as Float64Array;
        const evaluator = new NetworkStepEvaluator(net, star.theta, direction, retrained.theta, splits);
        starEval = evaluator.star;
        retrainedEval = evaluator.retrained as ModelEval;
        const sweep: SweepRow[] = [];
        const hats = new Map<number, ModelEval>();
        for (const eps of networkEpsilonGrid()) {
          const { row, hat } = evaluator.evaluate(eps);
          sweep.push(row);
          hats.set(eps, hat);
        }
        const chosen = chooseEpsilon(sweep);
        const hat = hats.get(chosen.row.epsilon) as ModelEval;
        firstHat ??= hat.accuracy;
        let best = sweep[0] as SweepRow;
        for (const r of sweep) if ((r.mean_abs_accuracy_difference ?? Infinity) < (best.mean_abs_accuracy_difference ?? Infinity)) best = r;
        const trialSweeps = curves.get(`${blockSize}/${damping}`) ?? [];
        const cal = chooseCalibratedEpsilon(trialSweeps.map((t) => t.curve));
        const calRow = sweep.find((r) => r.epsilon === cal.epsilon) as SweepRow;
        const calHat = hats.get(cal.epsilon) as ModelEval;
        const calibrated: CalibratedResult = {
          epsilon: cal.epsilon,
          gamma_S: calRow.gamma_S,
          normalized_distance: calRow.normalized_distance,
          accuracy: calHat.accuracy,
          difference: accuracyDifference(calHat.accuracy, retrainedEval.accuracy),
          removed_class_accuracy: classAcc(calHat),
          trials: trialSweeps.map((ts, t) => ({
            removal: trialDraws[t]?.removal as RemovalDescription,
            k: trialDraws[t]?.rows.length as number,
            best_epsilon: trialBestEpsilon(ts.curve),
            curve: ts.curve,
            star_accuracy: ts.star.accuracy,
            retrained_accuracy: ts.retrained.accuracy,
            sweep: ts.rows,
          })),
          mean_curve: cal.mean_curve,
        };
        configs.push({
          block_size: blockSize,
          damping,
          fisher_solve_s: entry?.seconds ?? 0,
          epsilon: chosen.row.epsilon,
          epsilon_rule: chosen.rule,
          gamma_S: chosen.row.gamma_S,
          normalized_distance: chosen.row.normalized_distance,
          accuracy: hat.accuracy,
          difference: accuracyDifference(hat.accuracy, retrainedEval.accuracy),
          removed_class_accuracy: classAcc(hat),
          best_mean_difference: { epsilon: best.epsilon, mean: best.mean_abs_accuracy_difference },
          calibrated,
          sweep,
        });
        log(
          `${removal.title}, B = ${blockSize}, λ_F = ${damping}: in-sample ε = ${chosen.row.epsilon} (${chosen.rule}), mean |Δacc| ${configs.at(-1)?.difference.mean?.toFixed(4)}; ` +
            `calibrated ε = ${cal.epsilon} (trials' best ${calibrated.trials.map((t) => t.best_epsilon).join(', ')}), mean |Δacc| ${calibrated.difference.mean?.toFixed(4)}`,
        );
      }
    }
    const se = starEval as ModelEval;
    const re = retrainedEval as ModelEval;
    results.push({
      key: removal.key,
      title: removal.title,
      k: removed.length,
      removal_gradient_s: gradientSeconds[ri] as number,
      retrain_s: retrainSeconds,
      retrain_spread_s: spreadSeconds,
      calibration: {
        kind: describeCalibrationKind(removal.description),
        trials: trialDraws.map((d, t) => ({ removal: d.removal, k: d.rows.length, retrain_s: trialRetrainSeconds[t] as number })),
        sweeps_s: sweepsSeconds,
      },
      star: { accuracy: se.accuracy, difference: accuracyDifference(se.accuracy, re.accuracy), removed_class_accuracy: classAcc(se) },
      retrained: { accuracy: re.accuracy, removed_class_accuracy: classAcc(re) },
      spread: retrainSpread(spreadSeeds, spreadEvals, { star: se.accuracy, hat: firstHat, retrained: re.accuracy }),
      configs,
    });
  }

  const randomResult = results.find((x) => x.key === 'random');
  const fresh = randomResult && FRESH_DRAWS > 0 ? await computeFresh({ net, dataset, data, starTheta: star.theta, G, order }, randomResult, FRESH_DRAWS) : undefined;

  const report = {
    generated: new Date().toISOString(),
    command: 'npm run results:nn' + (quick || BLOCK_ORDER !== DEFAULT_BLOCK_ORDER ? ` --${quick ? ' --quick' : ''}${BLOCK_ORDER !== DEFAULT_BLOCK_ORDER ? ` --block-order ${BLOCK_ORDER}` : ''}` : ''),
    machine,
    backend: backend.name,
    dataset: { dir: DATA, train: n, test: dataset.test?.n ?? 0, test_limited: LIMIT_TEST !== undefined },
    network: { spec: `mlp:${HIDDEN.join(',')}`, p: net.p },
    sgd: SGD,
    fisher_batch: FISHER_BATCH,
    block_order: BLOCK_ORDER,
    block_sizes: BLOCK_SIZES,
    dampings: DAMPINGS,
    retrain_seeds: RETRAIN_SEEDS,
    calibration_trials: TRIALS,
    epsilon_grid: networkEpsilonGrid(),
    timings_s: { train: trainSeconds, fisher_rows: rowsSeconds, total: seconds(t00) },
    removals: results,
    ...(fresh ? { fresh } : {}),
  };
  fs.mkdirSync(OUT, { recursive: true });
  const jsonFile = path.join(OUT, 'results-nn.json');
  const mdFile = path.join(OUT, 'results-nn.md');
  fs.writeFileSync(`${jsonFile}.tmp`, `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(`${mdFile}.tmp`, markdown(report));
  fs.renameSync(`${jsonFile}.tmp`, jsonFile);
  fs.renameSync(`${mdFile}.tmp`, mdFile);
  log(`wrote ${mdFile} and ${jsonFile}`);
}

/**
 * --fresh-only: adds (or replaces) the fresh draws of an existing results-nn.json without redoing
 * the rest. θ* is trained again (deterministic on the wasm backend) and must reproduce the
 * report's accuracies exactly; the report's settings must be this script's.
 */
async function freshOnly(): Promise<void> {
  const jsonFile = path.join(OUT, 'results-nn.json');
  const mdFile = path.join(OUT, 'results-nn.md');
  const report = JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as Report;
  const mismatch = (field: string, have: unknown, want: unknown): never => {
    throw new Error(`--fresh-only: ${jsonFile} has ${field} ${JSON.stringify(have)}, this script ${JSON.stringify(want)} (--quick and --block-order must be as in the run that wrote it; or regenerate it)`);
  };
  if (JSON.stringify(report.sgd) !== JSON.stringify(SGD)) mismatch('sgd', report.sgd, SGD);
  if (report.dataset.train !== LIMIT_TRAIN) mismatch('dataset.train', report.dataset.train, LIMIT_TRAIN);
  if (report.fisher_batch !== FISHER_BATCH) mismatch('fisher_batch', report.fisher_batch, FISHER_BATCH);
  if ((report.block_order ?? 'input-major') !== BLOCK_ORDER) mismatch('block_order', report.block_order, BLOCK_ORDER);
  if (report.network.spec !== `mlp:${HIDDEN.join(',')}`) mismatch('network.spec', report.network.spec, `mlp:${HIDDEN.join(',')}`);
  const random = report.removals.find((m) => m.key === 'random');
  if (!random) throw new Error(`--fresh-only: ${jsonFile} has no 1%-at-random removal`);
  const settings = random.configs.map((c) => `${c.block_size}/${c.damping}`).join(' ');
  const ours = BLOCK_SIZES.flatMap((b) => DAMPINGS.map((d) => `${b}/${d}`)).join(' ');
  if (settings !== ours) mismatch('settings (block size/damping)', settings, ours);
  await initBackend('wasm');
  const { dataset, n, data, net } = loadSetting();
  const star = await trainNetwork(net, data, SGD, { phase: 'train' });
  const removed = Int32Array.from(randomRemoval(n, random.k, 0)).sort();
  const check = evaluateParams(net, star.theta, evaluationSplits(dataset, removed, complementRows(n, removed))).accuracy;
  if (JSON.stringify(check) !== JSON.stringify(random.star.accuracy)) {
    throw new Error(`--fresh-only: θ* trained again has accuracies ${JSON.stringify(check)} on S's splits, ${jsonFile} ${JSON.stringify(random.star.accuracy)}: it is not the report's θ* (another backend or version?)`);
  }
  log('θ* reproduces the report');
  setParams(net, star.theta);
  const G = await fisherRows(net, data, fisherGroups(n, FISHER_BATCH, SGD.seed), FISHER_BATCH);
  const fresh = await computeFresh({ net, dataset, data, starTheta: star.theta, G, order: blockPermutation(net.params, BLOCK_ORDER) }, random, FRESH_DRAWS);
  const updated: Report = { ...report, fresh };
  fs.writeFileSync(`${jsonFile}.tmp`, `${JSON.stringify(updated, null, 1)}\n`);
  fs.writeFileSync(`${mdFile}.tmp`, markdown(updated));
  fs.renameSync(`${jsonFile}.tmp`, jsonFile);
  fs.renameSync(`${mdFile}.tmp`, mdFile);
  log(`added ${fresh.draws.length} fresh draws to ${jsonFile} and rewrote ${mdFile}`);
}

// ---------------------------------------------------------------------------------------------
// The report

type Report = {
  generated: string;
  command: string;
  machine: string;
  dataset: { dir: string; train: number; test: number; test_limited: boolean };
  network: { spec: string; p: number };
  sgd: SgdConfig;
  fisher_batch: number;
  /** Absent in reports made before the block order existed: those were input-major. */
  block_order?: BlockOrder;
  retrain_seeds: number;
  calibration_trials: number;
  epsilon_grid: number[];
  timings_s: { train: number; fisher_rows: number; total: number };
  removals: RemovalResult[];
  /** Fresh 1%-at-random draws that chose nothing (absent in reports made before them). */
  fresh?: FreshResult;
};

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : (100 * v).toFixed(2));
const pts = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : (100 * v).toFixed(2));
const f4 = (v: number | null | undefined): string => (v === null || v === undefined ? 'undef.' : v.toFixed(4));
const f2 = (v: number | null | undefined): string => (v === null || v === undefined ? 'undef.' : v.toFixed(2));
const f3 = (v: number | null | undefined): string => (v === null || v === undefined ? 'undef.' : v.toFixed(3));
const pm = (s: { mean: number | null; std: number | null }): string => `${pct(s.mean)} ± ${pct(s.std)}`;

function markdown(r: Report): string {
  const L: string[] = [];
  L.push('# SSSE on a network: class removal on Fashion-MNIST');
  L.push('');
  L.push(`Generated by \`${r.command}\` (scripts/results-nn.ts) on ${r.generated.slice(0, 10)}; do not edit by hand.`);
  L.push('');
  L.push(`- Machine: ${r.machine}.`);
  L.push(`- Data: the first ${r.dataset.train.toLocaleString('en')} training images of Debian's dataset-fashion-mnist, ${r.dataset.test_limited ? 'the first' : 'all'} ${r.dataset.test.toLocaleString('en')} test images (${r.dataset.dir}).`);
  L.push(`- Network: ${r.network.spec}, 784-128-10, p = ${r.network.p.toLocaleString('en')} parameters; SGD with momentum ${r.sgd.momentum}, batch ${r.sgd.batchSize}, η = ${r.sgd.lr} with a ${r.sgd.lrSchedule} decay over ${r.sgd.epochs} epochs, L2 λ = ${r.sgd.l2}, seed ${r.sgd.seed}.`);
  L.push(`- Fisher: rows are gradients averaged over mini-batches of m = ${r.fisher_batch} (N = ${Math.ceil(r.dataset.train / r.fisher_batch)}), block-diagonal with blocks of B parameters (block order ${describeBlockOrder(r.block_order ?? 'input-major')}), dampening λ_F; N < B, so every block is inverted by Woodbury from G_b and an N×N factor.`);
  L.push(`- θ̂ = θ* + ε/(n−k)·F̂⁻¹·Σ_{i∈S}∇ℓ_i(θ*), ε on a grid from 0.001 to 10 (${r.epsilon_grid.length} log-spaced values), chosen two ways:`);
  L.push(`  - **held out** (\`ssse erase --calibrate-trials ${r.calibration_trials}\`, the product's rule): ${r.calibration_trials} calibration removals S_t of the same kind as S (${r.removals.map((m) => `${m.key === 'class' ? 'whole class' : m.key === 'class-part' ? '10% of a class' : '1% at random'}: ${m.calibration.kind}`).join('; ')}), each retrained once with the same seed and settings; ε_cal is the grid value with the smallest mean over the trials of mean |acc(θ̂_t) − acc(θ*_{−S_t})| (S_t, D \\ S_t, test), the smaller ε on ties. S's own retrained model only measures the result.`);
  L.push('  - **in-sample** (the rule of SSSE.md applied to S itself): the largest γ_S (one-vs-rest AUCs on S), or where γ_S is undefined (S holds one class only) the smallest mean |acc(θ̂) − acc(θ*_{−S})| over S, D \\ S and test. It reads S\'s own retrained model, which a deployment does not have at erasure time; shown for comparison.');
  L.push(`- θ*_{−S}: retrained with the same seed, the same order of samples without S, the same settings. Spread: ${r.retrain_seeds} more retrainings on D \\ S with seeds ${r.sgd.seed + 1}…${r.sgd.seed + r.retrain_seeds} (mean ± sample standard deviation).`);
  L.push('- Accuracies in %, differences |acc(model) − acc(θ*_{−S})| in percentage points; "mean |Δ|" is their mean over the three splits as a fraction (the issue\'s unit).');
  L.push('');

  L.push('## Against the issue\'s targets');
  L.push('');
  const verdicts = (which: Which): string =>
    r.removals
      .filter((m) => m.key !== 'class-part')
      .map((m) => {
        const met = m.configs.filter((c) => targetMet(m, outcome(c, which))).length;
        return `${m.key === 'class' ? 'whole class' : '1% at random'} met in ${met} of ${m.configs.length} settings`;
      })
      .join(', ');
  const overDraws = drawSummary(r);
  if (overDraws.length > 0) {
    L.push(`S is one draw of its kind; a verdict on it can turn on one or two samples. Over S and its ${r.calibration_trials} calibration removals, each judged as a request of its own at every setting (the section "Other draws of S" below; held out means leaving that draw out and calibrating on the other ${r.calibration_trials}):`);
    L.push('');
    for (const line of overDraws) L.push(line);
    const fresh = judgeFresh(r, HELD_OUT_MEAN);
    if (fresh && r.fresh) {
      L.push(`- 1% at random, ${r.fresh.draws.length} fresh draws that chose nothing (section "fresh draws" below; held out calibrated on the ${judgedDraws(r.removals.find((m) => m.key === 'random') as RemovalResult).length} stored draws): held out ${fresh.met} of ${fresh.cases}.`);
    }
    L.push('');
  }
  L.push(`### ε held out (${r.calibration_trials} calibration removals per kind; the product's rule): ${verdicts('calibrated')}`);
  L.push('');
  for (const rem of r.removals) for (const line of targetLines(rem, 'calibrated')) L.push(line);
  L.push('');
  L.push(`### ε in-sample (SSSE.md's rule on S itself, reading S's retrained model): ${verdicts('in-sample')}`);
  L.push('');
  for (const rem of r.removals) for (const line of targetLines(rem, 'in-sample')) L.push(line);
  L.push('');
  const whole = r.removals.find((m) => m.key === 'class');
  if (whole) {
    const metAt = (tau: number) => whole.configs.filter((c) => targetMet(whole, forgetOutcome(c, whole.retrained.accuracy, tau))).length;
    L.push(`### Whole class, ε by the forget threshold τ = ${FORGET_TAU} (\`ssse erase --forget-threshold ${FORGET_TAU}\`, no retraining): met in ${metAt(FORGET_TAU)} of ${whole.configs.length} settings`);
    L.push('');
    L.push(`The rule: ${FORGET_RULE}. It is read here off S's sweep (θ̂'s accuracy on S at each ε of the grid, in results-nn.json), the retrained model only measuring the result. At other thresholds: ${FORGET_TAUS_SHOWN.map((t) => `τ = ${t}: ${metAt(t)} of ${whole.configs.length}`).join('; ')}.`);
    L.push('');
    for (const line of targetLines(whole, 'forget')) L.push(line);
    L.push('');
  }

  for (const line of otherDrawsSection(r)) L.push(line);

  for (const rem of r.removals) {
    L.push(`## ${rem.title[0]?.toUpperCase()}${rem.title.slice(1)} (k = ${rem.k.toLocaleString('en')})`);
    L.push('');
    L.push('| model | ε (rule) | γ_S | norm. dist. | acc S | acc D \\ S | acc test | class 0 on test | Δ S | Δ D \\ S | Δ test | mean \\|Δ\\| |');
    L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    const sd = rem.star.difference;
    L.push(`| θ* | – | – | 1 | ${pct(rem.star.accuracy.removed)} | ${pct(rem.star.accuracy.retained)} | ${pct(rem.star.accuracy.test)} | ${pct(rem.star.removed_class_accuracy.test)} | ${pts(sd.removed)} | ${pts(sd.retained)} | ${pts(sd.test)} | ${f4(sd.mean)} |`);
    for (const c of rem.configs) {
      for (const which of ['calibrated', 'in-sample'] as const) {
        const o = outcome(c, which);
        const d = o.difference;
        const rule = which === 'calibrated' ? `held out; trials' best ${c.calibrated.trials.map((t) => t.best_epsilon).join(', ')}` : c.epsilon_rule === 'max_gamma_S' ? 'in-sample, max γ_S' : 'in-sample, min Δ';
        L.push(`| θ̂ ${which === 'calibrated' ? 'held out' : 'in-sample'}, B = ${c.block_size}, λ_F = ${c.damping} | ${o.epsilon} (${rule}) | ${f3(o.gamma_S)} | ${f3(o.normalized_distance)} | ${pct(o.accuracy.removed)} | ${pct(o.accuracy.retained)} | ${pct(o.accuracy.test)} | ${pct(o.removed_class_accuracy.test)} | ${pts(d.removed)} | ${pts(d.retained)} | ${pts(d.test)} | ${f4(d.mean)} |`);
      }
    }
    L.push(`| θ*_{−S} (same seed) | – | – | 0 | ${pct(rem.retrained.accuracy.removed)} | ${pct(rem.retrained.accuracy.retained)} | ${pct(rem.retrained.accuracy.test)} | ${pct(rem.retrained.removed_class_accuracy.test)} | 0 | 0 | 0 | 0 |`);
    const sp = rem.spread;
    const classSpread = sp.per_class_accuracy.test ? { mean: sp.per_class_accuracy.test.mean[REMOVED_CLASS] ?? null, std: sp.per_class_accuracy.test.std[REMOVED_CLASS] ?? null } : { mean: null, std: null };
    L.push(`| retrained, seeds ${sp.seeds.join(', ')} | – | – | – | ${pm(sp.accuracy.removed)} | ${pm(sp.accuracy.retained)} | ${pm(sp.accuracy.test)} | ${pm(classSpread)} | | | | |`);
    L.push('');
    L.push('Where the models fall in the retraining spread, z = (acc − mean)/std (|z| ≲ 2 is within retraining noise):');
    L.push('');
    L.push('| model | z on S | z on D \\ S | z on test |');
    L.push('|---|---|---|---|');
    L.push(`| θ* | ${f3(sp.z.star.removed)} | ${f3(sp.z.star.retained)} | ${f3(sp.z.star.test)} |`);
    L.push(`| θ̂ in-sample (B = ${rem.configs[0]?.block_size}, λ_F = ${rem.configs[0]?.damping}) | ${f3(sp.z.hat.removed)} | ${f3(sp.z.hat.retained)} | ${f3(sp.z.hat.test)} |`);
    L.push(`| θ*_{−S} (same seed) | ${f3(sp.z.retrained.removed)} | ${f3(sp.z.retrained.retained)} | ${f3(sp.z.retrained.test)} |`);
    L.push('');
    L.push(
      `Calibration removals: ${rem.calibration.kind}: ${rem.calibration.trials.map((t) => `${describeRemoval(t.removal)} (k = ${t.k})`).join(', ')}. ` +
        'Their mean curve near ε_cal (mean over trials of mean |Δ|, per setting): ' +
        rem.configs
          .map((c) => {
            const i = c.calibrated.mean_curve.findIndex((q) => q.epsilon === c.calibrated.epsilon);
            const around = c.calibrated.mean_curve.slice(Math.max(0, i - 2), i + 3);
            return `B = ${c.block_size}, λ_F = ${c.damping}: ${around.map((q) => `${q.epsilon} → ${f4(q.mean_abs_accuracy_difference)}`).join(', ')}`;
          })
          .join('; ') +
        '.',
    );
    L.push('');
    L.push('Smallest mean |Δ| of S anywhere on the ε grid (in hindsight, with S\'s own retrained model; neither rule can know it): ' + rem.configs.map((c) => `B = ${c.block_size}, λ_F = ${c.damping}: ${f4(c.best_mean_difference.mean)} at ε = ${c.best_mean_difference.epsilon}`).join('; ') + '.');
    L.push('');
  }

  L.push('## Times (seconds, wall clock)');
  L.push('');
  L.push(`Training θ*: ${r.timings_s.train}. Fisher rows G (N mini-batch gradients at θ*): ${r.timings_s.fisher_rows}. The whole run: ${r.timings_s.total}.`);
  L.push('');
  L.push('| removal | erasure (Σ∇ℓ_i over S) | retraining θ*_{−S} | spread retrainings | calibration retrainings | calibration sweeps (4 settings) |');
  L.push('|---|---|---|---|---|---|');
  for (const rem of r.removals) {
    L.push(
      `| ${rem.title} | ${rem.removal_gradient_s} | ${rem.retrain_s} | ${rem.retrain_spread_s} (${r.retrain_seeds} runs) | ${rem.calibration.trials.map((t) => t.retrain_s).join(' + ')} | ${rem.calibration.sweeps_s.toFixed(1)} |`,
    );
  }
  L.push('');
  L.push(`F̂⁻¹ applied block by block (Gram matrices, N×N Cholesky factors and the products with the ${r.removals.length} removal gradients and the ${r.removals.length * r.calibration_trials} calibration trials' gradients in one pass, per block size and damping):`);
  L.push('');
  L.push('| block size | λ_F | seconds |');
  L.push('|---|---|---|');
  for (const c of r.removals[0]?.configs ?? []) L.push(`| ${c.block_size} | ${c.damping} | ${c.fisher_solve_s} |`);
  L.push('');
  L.push('The machine is shared by several people; times vary with its load by a factor of up to about 2.');
  L.push('');
  return `${L.join('\n')}\n`;
}

type Which = 'calibrated' | 'in-sample' | 'forget';

/**
 * τ of the forget rule (`ssse erase --forget-threshold`) in the table: 1% of S, half the issue's
 * 2-point tolerance on the removed class. The verdicts at other τ are listed beside it.
 */
const FORGET_TAU = 0.01;
const FORGET_TAUS_SHOWN = [0, 0.005, 0.01, 0.02];

/** S at the ε the forget rule with threshold τ picks from S's own sweep (θ̂'s accuracy on S; no retrained model is read). */
function forgetOutcome(c: ConfigResult, retrained: SplitAccuracy, tau: number): EpsilonOutcome {
  const choice = chooseForgetEpsilon(c.sweep, tau);
  const row = c.sweep.find((x) => x.epsilon === choice.epsilon) as SweepRow;
  return {
    epsilon: row.epsilon,
    gamma_S: row.gamma_S,
    normalized_distance: row.normalized_distance,
    accuracy: row.accuracy,
    difference: accuracyDifference(row.accuracy, retrained),
    removed_class_accuracy: { removed: row.accuracy.removed, test: null },
  };
}

/** S at the ε one rule chose. */
function outcome(c: ConfigResult, which: Which, retrained?: SplitAccuracy): EpsilonOutcome {
  if (which === 'calibrated') return c.calibrated;
  if (which === 'forget') return forgetOutcome(c, retrained as SplitAccuracy, FORGET_TAU);
  return {
    epsilon: c.epsilon,
    gamma_S: c.gamma_S,
    normalized_distance: c.normalized_distance,
    accuracy: c.accuracy,
    difference: c.difference,
    removed_class_accuracy: c.removed_class_accuracy,
  };
}

/** The issue's target for a removal (none is set for part of a class: always false there). */
function targetMet(rem: RemovalResult, o: EpsilonOutcome): boolean {
  return targetMetFor(rem.key, o.difference, rem.star.difference.mean);
}

/**
 * The issue's target for a removal of this kind, from θ̂'s differences to its retrained model and
 * θ*'s mean difference on the same draw: whole class, within 2 points on S and 1.5 on test;
 * 1% at random, at most half of θ*'s mean |Δ|; part of a class has none (false).
 */
function targetMetFor(key: Removal['key'], difference: AccuracyDifference, starMean: number | null): boolean {
  if (key === 'class') {
    const onS = difference.removed;
    const onTest = difference.test;
    return onS !== null && onTest !== null && onS <= 0.02 && onTest <= 0.015;
  }
  if (key === 'random') {
    const m = difference.mean;
    return m !== null && starMean !== null && m <= starMean / 2;
  }
  return false;
}

/** One draw judged as a request: the rule's ε, θ̂'s accuracies and differences there, θ*'s mean |Δ|, the verdict. */
interface DrawVerdict {
  epsilon: number;
  accuracy: SplitAccuracy;
  difference: AccuracyDifference;
  starMean: number | null;
  met: boolean;
}

type DrawRule = 'in-sample' | 'forget' | 'held-out';

/** A draw (S itself or a calibration removal) at one setting under one rule; null when its sweep is not stored or the rule cannot choose. */
function judgeDraw(key: Removal['key'], sweep: readonly SweepRow[], star: SplitAccuracy, retrained: SplitAccuracy, rule: DrawRule, heldOut: number | null = null): DrawVerdict | null {
  let epsilon: number;
  if (rule === 'held-out') {
    if (heldOut === null) return null;
    epsilon = heldOut;
  } else if (rule === 'forget') {
    try {
      epsilon = chooseForgetEpsilon(sweep, FORGET_TAU).epsilon;
    } catch {
      return null; // no ε of the grid reaches τ
    }
  } else {
    epsilon = chooseEpsilon([...sweep]).row.epsilon;
  }
  const row = sweep.find((x) => x.epsilon === epsilon) as SweepRow;
  const difference = accuracyDifference(row.accuracy, retrained);
  const starMean = accuracyDifference(star, retrained).mean;
  return { epsilon, accuracy: row.accuracy, difference, starMean, met: targetMetFor(key, difference, starMean) };
}

interface Draw {
  label: string;
  /** Per setting (rem.configs' order): the sweep and the two models' accuracies, or null when not stored. */
  perSetting: ({ sweep: SweepRow[]; star: SplitAccuracy; retrained: SplitAccuracy } | null)[];
}

/** S and its calibration removals, each with what judging it needs. */
function drawsOf(rem: RemovalResult): Draw[] {
  const own: Draw = { label: `S (${rem.key === 'class' ? `class ${REMOVED_CLASS}` : 'seed 0'})`, perSetting: rem.configs.map((c) => ({ sweep: c.sweep, star: rem.star.accuracy, retrained: rem.retrained.accuracy })) };
  const count = rem.configs[0]?.calibrated.trials.length ?? 0;
  const others: Draw[] = [];
  for (let t = 0; t < count; t++) {
    const first = rem.configs[0]?.calibrated.trials[t];
    others.push({
      label: first ? describeRemoval(first.removal) : `trial ${t + 1}`,
      perSetting: rem.configs.map((c) => {
        const tr = c.calibrated.trials[t];
        return tr?.sweep && tr.star_accuracy && tr.retrained_accuracy ? { sweep: tr.sweep, star: tr.star_accuracy, retrained: tr.retrained_accuracy } : null;
      }),
    });
  }
  return [own, ...others];
}

/** A draw's sweep at one setting as a calibration curve (chooseCalibratedEpsilon's input). */
function curveOf(x: NonNullable<Draw['perSetting'][number]>): CurvePoint[] {
  return x.sweep.map((row) => ({ epsilon: row.epsilon, mean_abs_accuracy_difference: row.mean_abs_accuracy_difference ?? Number.NaN }));
}

/** A removal kind's name at the head of a section. */
function kindTitle(key: Removal['key']): string {
  return key === 'class' ? 'Whole class' : key === 'random' ? '1% at random' : '10% of a class';
}

/** S and those of its calibration removals whose sweeps are stored at every setting. */
function judgedDraws(rem: RemovalResult): Draw[] {
  return drawsOf(rem).filter((d) => d.perSetting.every((x) => x !== null));
}

/** The rules a removal's draws are judged by (the forget threshold only for whole classes). */
function drawRules(rem: RemovalResult): DrawRule[] {
  return rem.key === 'class' ? ['in-sample', 'held-out', 'forget'] : ['in-sample', 'held-out'];
}

/**
 * Every draw at every setting under one rule, as if it were the request ([draw][setting]).
 * Held out, leave one draw out: each draw's ε is the calibration rule (chooseCalibratedEpsilon, as
 * ssse erase --calibrate-trials) over the other draws' curves at the same setting.
 */
function judgeDraws(rem: RemovalResult, draws: Draw[], rule: DrawRule): (DrawVerdict | null)[][] {
  const heldOut = (i: number, j: number): number | null => {
    const others = draws.filter((_, o) => o !== i).map((d) => d.perSetting[j]);
    if (others.length === 0 || others.some((x) => !x)) return null;
    return chooseCalibratedEpsilon(others.map((x) => curveOf(x as NonNullable<typeof x>))).epsilon;
  };
  return draws.map((d, i) => d.perSetting.map((x, j) => (x ? judgeDraw(rem.key, x.sweep, x.star, x.retrained, rule, rule === 'held-out' ? heldOut(i, j) : null) : null)));
}

/**
 * "Other draws of S": each calibration removal judged as a request of its own by the rules S is
 * judged by, against its own retrained model, beside S. Empty for results written before the
 * trials' sweeps were stored.
 */
function otherDrawsSection(r: Report): string[] {
  const L: string[] = [];
  const judged = r.removals.filter((rem) => drawsOf(rem).slice(1).some((d) => d.perSetting.every((x) => x !== null)));
  if (judged.length === 0) return L;
  L.push('## Other draws of S: the calibration removals judged as requests of their own');
  L.push('');
  const randomK = r.removals.find((m) => m.key === 'random')?.k;
  L.push(
    `One S is one draw.${randomK ? ` At k = ${randomK} one sample of S is ${(100 / randomK).toFixed(randomK > 100 ? 2 : 0)} point${randomK === 100 ? '' : 's'} of accuracy on S, so a verdict on a single draw can turn on one or two samples.` : ''} ` +
      'The calibration removals S_t above were each retrained (same seed and settings) and swept at every setting; here each is judged as if it were the request, by the same rules and targets as S, against its own retrained model (θ*\'s mean |Δ| is taken on that draw too). ' +
      'Nothing here was computed for this section: it reads the trials\' sweeps in results-nn.json.',
  );
  L.push('');
  const settings = (rem: RemovalResult) => rem.configs.map((c) => `B = ${c.block_size}, λ_F = ${c.damping}`);
  for (const rem of judged) {
    const draws = judgedDraws(rem);
    const rules = drawRules(rem);
    let heldOutMet: number | null = null;
    const metBy = new Map<DrawRule, number>();
    for (const rule of rules) {
      const verdicts = judgeDraws(rem, draws, rule);
      const all = verdicts.flat();
      const met = all.filter((v) => v?.met).length;
      if (rule === 'held-out') heldOutMet = met;
      metBy.set(rule, met);
      const ruleName =
        rule === 'forget'
          ? `forget threshold τ = ${FORGET_TAU}`
          : rule === 'held-out'
            ? `held out, leaving one draw out (ε_cal from the other ${draws.length - 1} draws' curves, as --calibrate-trials ${draws.length - 1})`
            : rem.key === 'random'
              ? "SSSE.md's rule (largest γ_S)"
              : "SSSE.md's rule (γ_S undefined: smallest mean |Δ|)";
      const title = kindTitle(rem.key);
      L.push(
        rem.key === 'class-part'
          ? `### ${title}, ${ruleName}: mean |Δ| at the rule's ε against θ*'s (no target)`
          : `### ${title}, ${ruleName}: met in ${met} of ${all.length} (draw, setting) pairs`,
      );
      L.push('');
      L.push(`| draw | ${settings(rem).join(' | ')} |`);
      L.push(`|---|${settings(rem).map(() => '---').join('|')}|`);
      draws.forEach((d, i) => {
        const cells = (verdicts[i] ?? []).map((v) => {
          if (!v) return 'no ε reaches τ';
          const mark = rem.key === 'class-part' ? '' : v.met ? ' ✓' : ' ✗';
          if (rem.key === 'class') return `ε ${v.epsilon}: S ${pct(v.accuracy.removed)}%, test Δ ${pts(v.difference.test)}${mark}`;
          return `ε ${v.epsilon}: ${f4(v.difference.mean)} (θ* ${f4(v.starMean)})${mark}`;
        });
        L.push(`| ${d.label} | ${cells.join(' | ')} |`);
      });
      L.push('');
      if (rem.key !== 'class-part') {
        const bySetting = rem.configs.map((_, j) => verdicts.filter((row) => row[j]?.met).length);
        L.push(`Met per setting (of ${draws.length} draws): ${settings(rem).map((name, j) => `${name}: ${bySetting[j]}`).join('; ')}.`);
        if (rem.key === 'random') {
          L.push('');
          const ratios = all.filter((v): v is DrawVerdict => v !== null && v.difference.mean !== null && v.starMean !== null && v.starMean > 0).map((v) => (v.difference.mean as number) / (v.starMean as number));
          const mean = ratios.reduce((a, b) => a + b, 0) / Math.max(1, ratios.length);
          L.push(`mean |Δ| at the rule's ε over θ*'s, per pair: median ${f3(ratios.length > 0 ? median(ratios) : null)}, mean ${f3(mean)}, largest ${f3(Math.max(...ratios))} (target: ≤ 0.5 on each).`);
        }
        L.push('');
      }
    }
    for (const line of trialCountLines(rem, draws, settings(rem), heldOutMet)) L.push(line);
    if (rem.key !== 'class-part') for (const line of ruleComparisonLines(rem, draws, settings(rem), metBy)) L.push(line);
    if (rem.key === 'random') for (const line of freshLines(r)) L.push(line);
  }
  return L;
}

/** Every subset of {0…n−1} with `size` members, in lexicographic order. */
function subsets(n: number, size: number): number[][] {
  const out: number[][] = [];
  const pick: number[] = [];
  const walk = (from: number): void => {
    if (pick.length === size) {
      out.push([...pick]);
      return;
    }
    for (let i = from; i <= n - (size - pick.length); i++) {
      pick.push(i);
      walk(i + 1);
      pick.pop();
    }
  };
  walk(0);
  return out;
}

/**
 * The held-out rule with fewer calibration removals, from the stored sweeps: each draw judged at
 * the ε that every choice of T of the other draws calibrates (chooseCalibratedEpsilon over their
 * curves), for T = 1 … (draws − 1). It estimates how the rule's success depends on T without one
 * more retraining; the cases of one T share draws, so they are not independent. At T = draws − 1
 * there is one subset per draw, the leave-one-out table's: its count must equal `leaveOneOutMet`.
 */
function trialCountLines(rem: RemovalResult, draws: Draw[], settingNames: string[], leaveOneOutMet: number | null): string[] {
  const L: string[] = [];
  if (draws.length < 3) return L;
  const title = kindTitle(rem.key);
  L.push(`### ${title}, held out with T calibration removals: every draw against every choice of T of the other ${draws.length - 1}`);
  L.push('');
  L.push(
    rem.key === 'class-part'
      ? "For each T, each draw's ε is calibrated on every subset of T of the other draws, and θ̂'s mean |Δ| there is divided by θ*'s on that draw (no target; median over the cases, per setting)."
      : `For each T, each draw's ε is calibrated on every subset of T of the other draws, and the issue's target is judged there: the share of cases met, per setting and over all. The cases of one T overlap (they share draws), so these are estimates of the rule's success rate, not independent trials.`,
  );
  L.push('');
  const ratioHead = rem.key === 'random' ? " | median mean \\|Δ\\| / θ*'s" : '';
  L.push(`| T | subsets per draw | ${settingNames.join(' | ')} | all${ratioHead} |`);
  L.push(`|---|---|${settingNames.map(() => '---').join('|')}|---|${rem.key === 'random' ? '---|' : ''}`);
  const n = draws.length;
  for (let T = 1; T <= n - 1; T++) {
    const metPer = settingNames.map(() => 0);
    const ratiosPer: number[][] = settingNames.map(() => []);
    const allRatios: number[] = [];
    let casesPer = 0;
    for (let i = 0; i < n; i++) {
      const others = draws.filter((_, o) => o !== i);
      const choices = subsets(others.length, T);
      if (i === 0) casesPer = choices.length;
      for (let j = 0; j < settingNames.length; j++) {
        const own = draws[i]?.perSetting[j];
        if (!own) continue;
        for (const choice of choices) {
          const curves = choice.map((o) => others[o]?.perSetting[j]).filter((x): x is NonNullable<typeof x> => x !== null && x !== undefined).map(curveOf);
          if (curves.length !== T) continue;
          const eps = chooseCalibratedEpsilon(curves).epsilon;
          const v = judgeDraw(rem.key, own.sweep, own.star, own.retrained, 'held-out', eps);
          if (!v) continue;
          if (v.met) metPer[j] = (metPer[j] as number) + 1;
          if (v.difference.mean !== null && v.starMean !== null && v.starMean > 0) {
            const ratio = v.difference.mean / v.starMean;
            ratiosPer[j]?.push(ratio);
            allRatios.push(ratio);
          }
        }
      }
    }
    const total = n * casesPer;
    const metAll = metPer.reduce((a, b) => a + b, 0);
    if (T === n - 1 && rem.key !== 'class-part' && leaveOneOutMet !== null && metAll !== leaveOneOutMet) {
      throw new Error(`${title}: T = ${T} of ${n - 1} met ${metAll} cases, the leave-one-out table ${leaveOneOutMet}: the two computations disagree`);
    }
    const share = (m: number, of: number) => `${((100 * m) / of).toFixed(0)}%`;
    const cells =
      rem.key === 'class-part'
        ? ratiosPer.map((r) => f3(r.length > 0 ? median(r) : null))
        : metPer.map((m) => share(m, total));
    const all = rem.key === 'class-part' ? f3(allRatios.length > 0 ? median(allRatios) : null) : share(metAll, total * settingNames.length);
    const ratioCell = rem.key === 'random' ? ` | ${f3(allRatios.length > 0 ? median(allRatios) : null)}` : '';
    L.push(`| ${T} | ${casesPer} | ${cells.join(' | ')} | ${all}${ratioCell} |`);
  }
  L.push('');
  return L;
}

/** A draw at one setting in the form the ε rules of scripts/epsilonRules.ts read. */
function ruleDrawOf(x: NonNullable<Draw['perSetting'][number]>): RuleDraw {
  return {
    curve: x.sweep.map((row) => row.mean_abs_accuracy_difference ?? Number.NaN),
    gamma: x.sweep.map((row) => row.gamma_S),
    accS: x.sweep.map((row) => row.accuracy.removed ?? Number.NaN),
    starAccS: x.star.removed ?? Number.NaN,
    retrainedAccS: x.retrained.removed ?? Number.NaN,
  };
}

/**
 * Whole class and 1% at random: every rule of EPSILON_RULES judged on every draw at every setting (held-out rules
 * leaving the draw out), from the stored sweeps. The product's rule and SSSE.md's must reproduce
 * the counts of the tables above (`metBy`), or the render fails.
 */
function ruleComparisonLines(rem: RemovalResult, draws: Draw[], settingNames: string[], metBy: Map<DrawRule, number>): string[] {
  const L: string[] = [];
  if (draws.length < 3) return L;
  const title = kindTitle(rem.key);
  const random = rem.key === 'random';
  L.push(`### ${title}, other ways to choose ε: each draw judged as the request (held-out rules leaving it out)`);
  L.push('');
  L.push(
    `Each cell: how many of the ${draws.length} draws meet the issue's target at that setting, and in brackets S's own outcome ` +
      (random ? "(its mean |Δ| over θ*'s; the target is ≤ 0.5). " : '(✓ met, ✗ not met). ') +
      "\"none\": the rule finds no ε on the grid (counted as not met). Rules marked † read the judged draw's own retrained model, which an erasure does not have. " +
      "The last two columns are θ̂'s mean |Δ| over θ*'s across all (draw, setting) pairs. Computed from the stored sweeps, like the tables above.",
  );
  L.push('');
  L.push(`| rule | ${settingNames.join(' | ')} | all | median ratio | largest ratio |`);
  L.push(`|---|${settingNames.map(() => '---').join('|')}|---|---|---|`);
  const grid = draws[0]?.perSetting[0]?.sweep.map((row) => row.epsilon) ?? [];
  for (const rule of EPSILON_RULES) {
    const metPer = settingNames.map(() => 0);
    const sCell: string[] = settingNames.map(() => 'n/a');
    const ratios: number[] = [];
    let cases = 0;
    for (let j = 0; j < settingNames.length; j++) {
      const at = draws.map((d) => d.perSetting[j]);
      if (at.some((x) => !x)) continue;
      const ruleDraws = at.map((x) => ruleDrawOf(x as NonNullable<typeof x>));
      for (let i = 0; i < draws.length; i++) {
        const x = at[i] as NonNullable<(typeof at)[number]>;
        const index = rule.choose(ruleDraws, i, grid);
        cases++;
        const v = index === null ? null : judgeDraw(rem.key, x.sweep, x.star, x.retrained, 'held-out', grid[index] as number);
        const ratio = v && v.difference.mean !== null && v.starMean !== null && v.starMean > 0 ? v.difference.mean / v.starMean : null;
        if (v?.met) metPer[j] = (metPer[j] as number) + 1;
        if (ratio !== null) ratios.push(ratio);
        if (i === 0) sCell[j] = v === null ? 'none' : random ? f2(ratio) : v.met ? '✓' : '✗';
      }
    }
    const metAll = metPer.reduce((a, b) => a + b, 0);
    const expected = rule === HELD_OUT_MEAN ? metBy.get('held-out') : rule === IN_SAMPLE_GAMMA ? metBy.get('in-sample') : undefined;
    if (expected !== undefined && expected !== metAll) {
      throw new Error(`${title}: the comparison's ${rule.key} rule met ${metAll} cases, its table above ${expected}: the two computations disagree`);
    }
    const cells = metPer.map((m, j) => `${m} (${sCell[j]})`);
    const name = `${rule.key}${rule.readsOwnRetrained ? ' †' : ''}: ${rule.description}`.replaceAll('|', '\\|');
    L.push(`| ${name} | ${cells.join(' | ')} | ${metAll} of ${cases} | ${f3(ratios.length > 0 ? median(ratios) : null)} | ${f2(ratios.length > 0 ? Math.max(...ratios) : null)} |`);
  }
  L.push('');
  return L;
}

// ---------------------------------------------------------------------------------------------
// Fresh draws: the product's rule tested on removals that chose nothing

/**
 * One fresh 1%-at-random draw: retrained once (same seed and settings) and swept at every
 * setting (configs' order), as a calibration trial is, but never used to choose any ε.
 */
interface FreshDraw {
  removal: RemovalDescription;
  k: number;
  retrain_s: number;
  star_accuracy: SplitAccuracy;
  retrained_accuracy: SplitAccuracy;
  sweeps: SweepRow[][];
}

interface FreshResult {
  /** What the draws are, for the reader. */
  kind: string;
  draws: FreshDraw[];
  seconds: number;
}

/** What computing fresh draws needs from a run: the network at θ*, the data and the Fisher rows. */
interface FreshContext {
  net: Network;
  dataset: Dataset;
  data: ClassData;
  starTheta: Float32Array;
  G: FisherRows;
  order: Int32Array | null;
}

/**
 * Retrains and sweeps `count` random draws of S's size with the removal seeds after the random
 * request's last calibration trial, so that none of them is S or a trial. Their directions come
 * from their own F̂⁻¹ pass per setting (the same G, blocks, dampings and order as the report's).
 */
async function computeFresh(ctx: FreshContext, random: Pick<RemovalResult, 'k' | 'calibration'>, count: number): Promise<FreshResult> {
  const t0 = performance.now();
  const { net, dataset, data, starTheta, G, order } = ctx;
  const n = data.n;
  const lastSeed = Math.max(0, ...random.calibration.trials.map((t) => (t.removal.kind === 'random' ? t.removal.seed : 0)));
  const fraction = random.k / n;
  const draws = Array.from({ length: count }, (_, i) => ({ seed: lastSeed + 1 + i, rows: randomRemoval(n, random.k, lastSeed + 1 + i).sort((a, b) => a - b) }));
  setParams(net, starTheta);
  const gradients: Float64Array[] = [];
  for (const d of draws) gradients.push(await removalGradient(net, data, d.rows, SGD.l2, starTheta));
  const directions: Float64Array[][] = []; // [setting][draw], configs' order
  for (const blockSize of BLOCK_SIZES) {
    for (const damping of DAMPINGS) {
      const [solved] = await solveBlockFisher(G, gradients, { blockSize, dampings: [damping], method: 'auto', ...(order ? { order } : {}) });
      directions.push((solved as Float64Array[]).map((u) => u.map((v) => v / (n - random.k))));
    }
  }
  log(`fresh draws: ${count} directions at ${directions.length} settings`);
  const out: FreshDraw[] = [];
  for (const [i, d] of draws.entries()) {
    const excluded = Int32Array.from(d.rows);
    const t1 = performance.now();
    const trained = await trainNetwork(net, data, SGD, { exclude: excluded, phase: 'fresh-retrain' });
    const retrainSeconds = seconds(t1);
    const splits = evaluationSplits(dataset, excluded, complementRows(n, excluded));
    const swept = directions.map((dirs) => trialSweep(net, starTheta, dirs[i] as Float64Array, trained.theta, splits, networkEpsilonGrid()));
    const first = swept[0] as TrialSweep;
    out.push({
      removal: { kind: 'random', fraction, seed: d.seed },
      k: d.rows.length,
      retrain_s: retrainSeconds,
      star_accuracy: first.star.accuracy,
      retrained_accuracy: first.retrained.accuracy,
      sweeps: swept.map((s) => s.rows),
    });
    log(`fresh draw ${i + 1} of ${count} (seed ${d.seed}): retrained in ${retrainSeconds} s, swept`);
  }
  return { kind: `random draws of ${random.k} with removal seeds ${lastSeed + 1}…${lastSeed + count}`, draws: out, seconds: seconds(t0) };
}

/** One rule on the fresh draws: per setting, the draws that meet the target and the ε chosen; the ratios of all pairs. */
interface FreshVerdicts {
  perSetting: { met: number; chosen: string[] }[];
  ratios: number[];
  met: number;
  cases: number;
}

/**
 * The fresh draws judged under one rule: a held-out rule calibrated on all the stored draws of the
 * random kind (S and its trials), a rule that reads a draw's own S (drop matching) on that draw's
 * sweep. Null when the report has no fresh draws.
 */
function judgeFresh(r: Report, rule: EpsilonRule): FreshVerdicts | null {
  const rem = r.removals.find((m) => m.key === 'random');
  if (!rem || !r.fresh || r.fresh.draws.length === 0) return null;
  const stored = judgedDraws(rem);
  const out: FreshVerdicts = { perSetting: [], ratios: [], met: 0, cases: 0 };
  rem.configs.forEach((_, j) => {
    const base = stored.map((d) => ruleDrawOf(d.perSetting[j] as NonNullable<Draw['perSetting'][number]>));
    let met = 0;
    const chosen = new Set<string>();
    for (const fd of r.fresh?.draws ?? []) {
      const sweep = fd.sweeps[j];
      if (!sweep) continue;
      const list = [...base, ruleDrawOf({ sweep, star: fd.star_accuracy, retrained: fd.retrained_accuracy })];
      const index = rule.choose(list, list.length - 1, r.epsilon_grid);
      out.cases++;
      chosen.add(index === null ? 'none' : String(r.epsilon_grid[index]));
      if (index === null) continue;
      const v = judgeDraw('random', sweep, fd.star_accuracy, fd.retrained_accuracy, 'held-out', r.epsilon_grid[index] as number);
      if (v?.met) met++;
      if (v && v.difference.mean !== null && v.starMean !== null && v.starMean > 0) out.ratios.push(v.difference.mean / v.starMean);
    }
    out.met += met;
    out.perSetting.push({ met, chosen: [...chosen] });
  });
  return out;
}

/** The section on the fresh draws: every rule an erasure can apply, and hindsight (the floor). */
function freshLines(r: Report): string[] {
  const L: string[] = [];
  const rem = r.removals.find((m) => m.key === 'random');
  const fresh = r.fresh;
  if (!rem || !fresh || fresh.draws.length === 0) return L;
  const storedCount = judgedDraws(rem).length;
  const settingNames = rem.configs.map((c) => `B = ${c.block_size}, λ_F = ${c.damping}`);
  L.push(`### 1% at random, ${fresh.draws.length} fresh draws: the rules tested on removals that chose nothing`);
  L.push('');
  L.push(
    `Every draw above helped to choose an ε for the others, and the rules were compared on them. The ${fresh.draws.length} draws here (${fresh.kind}) were retrained and swept apart and chose nothing: ` +
      `each held-out rule calibrates on all ${storedCount} stored draws (S and its ${storedCount - 1} trials, as \`--calibrate-trials ${storedCount}\` would) and is judged on every fresh draw against that draw's own retrained model. ` +
      `Each cell: the fresh draws (of ${fresh.draws.length}) that meet the issue's target, and the ε a held-out rule chose. The last columns are θ̂'s mean |Δ| over θ*'s across all (draw, setting) pairs.`,
  );
  L.push('');
  L.push(`| rule | ${settingNames.join(' | ')} | all | median ratio | largest ratio |`);
  L.push(`|---|${settingNames.map(() => '---').join('|')}|---|---|---|`);
  for (const rule of EPSILON_RULES) {
    if (rule.readsOwnRetrained && rule !== HINDSIGHT) continue;
    const v = judgeFresh(r, rule);
    if (!v) continue;
    const heldOut = !rule.readsOwnRetrained && rule !== DROP_MATCH;
    const cells = v.perSetting.map((s) => (heldOut ? `${s.met} at ε ${s.chosen.join(', ')}` : `${s.met}`));
    L.push(`| ${rule.key}${rule.readsOwnRetrained ? ' †' : ''} | ${cells.join(' | ')} | ${v.met} of ${v.cases} | ${f3(v.ratios.length > 0 ? median(v.ratios) : null)} | ${f2(v.ratios.length > 0 ? Math.max(...v.ratios) : null)} |`);
  }
  L.push('');
  L.push(`Retraining the ${fresh.draws.length} fresh draws and sweeping them at every setting took ${fresh.seconds} s (with their own F̂⁻¹ passes).`);
  L.push('');
  return L;
}

/** One line per removal kind with a target: how many (draw, setting) pairs each rule meets. */
function drawSummary(r: Report): string[] {
  const out: string[] = [];
  const names: Record<DrawRule, string> = { 'held-out': 'held out', 'in-sample': "SSSE.md's rule in-sample", forget: `forget threshold (τ = ${FORGET_TAU})` };
  for (const rem of r.removals) {
    if (rem.key === 'class-part') continue;
    const draws = judgedDraws(rem);
    if (draws.length < 2) continue;
    const parts = drawRules(rem).map((rule) => {
      const all = judgeDraws(rem, draws, rule).flat();
      return `${names[rule]} ${all.filter((v) => v?.met).length} of ${all.length}`;
    });
    out.push(`- ${kindTitle(rem.key)} (${draws.length} draws × ${rem.configs.length} settings): ${parts.join('; ')}.`);
  }
  return out;
}

function describeRemoval(d: RemovalDescription): string {
  if (d.kind === 'class') return d.fraction === 1 ? `class ${d.class}` : `${d.fraction} of class ${d.class}, seed ${d.seed}`;
  if (d.kind === 'random') return `seed ${d.seed}`;
  return d.file;
}

/** Statements about the issue's targets for one rule, computed from the numbers. */
function targetLines(rem: RemovalResult, which: Which): string[] {
  const out: string[] = [];
  const how = (c: ConfigResult, o: EpsilonOutcome) =>
    which === 'calibrated' ? `ε_cal = ${o.epsilon} (trials' best ${c.calibrated.trials.map((t) => t.best_epsilon).join(', ')})` : `ε = ${o.epsilon}${o.gamma_S !== null ? ` (γ_S = ${f3(o.gamma_S)})` : ''}`;
  for (const c of rem.configs) {
    const o = outcome(c, which, rem.retrained.accuracy);
    const ok = targetMet(rem, o);
    const head = `B = ${c.block_size}, λ_F = ${c.damping}, ${how(c, o)}`;
    if (rem.key === 'class') {
      out.push(
        `- Whole class, ${head}: θ̂ has ${pct(o.accuracy.removed)}% on the removed class (retrained ${pct(rem.retrained.accuracy.removed)}%, target within 2 points) and ${pct(o.accuracy.test)}% on test (retrained ${pct(rem.retrained.accuracy.test)}%, target within 1.5 points): ${ok ? '**met**' : '**not met**'}.`,
      );
    } else if (rem.key === 'random') {
      const starMean = rem.star.difference.mean;
      const best = c.best_mean_difference;
      out.push(
        `- 1% at random, ${head}: mean |Δ| ${f4(o.difference.mean)} against θ*'s ${f4(starMean)} (target: at most half, ${f4(starMean === null ? null : starMean / 2)}): ${ok ? '**met**' : '**not met**'}. ` +
          `S's own best on the grid (hindsight) is ${f4(best.mean)} at ε = ${best.epsilon}.`,
      );
    } else {
      const sp = rem.spread.accuracy.removed;
      const hatS = o.accuracy.removed;
      const retS = rem.retrained.accuracy.removed;
      const over = hatS !== null && retS !== null && sp.mean !== null && sp.std !== null && hatS < Math.min(retS, sp.mean) - 2 * sp.std;
      out.push(
        `- 10% of a class, ${head}: mean |Δ| ${f4(o.difference.mean)} against θ*'s ${f4(rem.star.difference.mean)}; on S θ̂ ${pct(hatS)}%, same-seed retrained ${pct(retS)}%, retrainings ${pm(sp)}%: ` +
          (over ? 'θ̂ forgets S more than retraining does by over two standard deviations (the paper\'s over-forgetting).' : 'no over-forgetting beyond two standard deviations of the retrainings.'),
      );
    }
  }
  return out;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});

/**
 * Regenerates docs/results-nn.md and docs/results-nn.json: SSSE on a network, the paper's
 * class-removal experiments on Fashion-MNIST (issue 4).
 *
 *   npm run results:nn                       (about half an hour on 2 shared cores, wasm backend)
 *   npm run results:nn -- --quick --out-dir /tmp/x   (a smoke run on a small subset)
 *   npm run results:nn -- --render-only      (rewrite the .md from the .json, no computing)
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
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../main/engine/backend.js';
import { loadDataset } from '../main/engine/data/dataset.js';
import { classRemoval, randomRemoval } from '../main/engine/data/removal.js';
import { chooseEpsilon, type SplitAccuracy, type SweepRow } from '../main/engine/linear/sweep.js';
import { solveBlockFisher } from '../main/engine/nn/blockFisher.js';
import { complementRows, evaluationSplits } from '../main/engine/nn/erase.js';
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
import { setParams } from '../main/engine/nn/network.js';
import { buildNetwork } from '../main/engine/nn/spec.js';
import { trainNetwork, type SgdConfig } from '../main/engine/nn/train.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    'render-only': { type: 'boolean' },
    'out-dir': { type: 'string' },
    data: { type: 'string' },
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
/** Fashion-MNIST's class names (Zalando's README), for the prose only. */
const CLASS_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

interface Removal {
  key: 'class' | 'class-part' | 'random';
  title: string;
  rows: number[];
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
  sweep: SweepRow[];
}

interface RemovalResult {
  key: Removal['key'];
  title: string;
  k: number;
  removal_gradient_s: number;
  retrain_s: number;
  retrain_spread_s: number;
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

async function main(): Promise<void> {
  if (values['render-only']) {
    const report = JSON.parse(fs.readFileSync(path.join(OUT, 'results-nn.json'), 'utf8')) as Report;
    fs.writeFileSync(path.join(OUT, 'results-nn.md'), markdown(report));
    log(`rewrote ${path.join(OUT, 'results-nn.md')} from results-nn.json`);
    return;
  }
  const backend = await initBackend('wasm');
  const cpu = os.cpus();
  const machine = `${cpu[0]?.model ?? 'unknown CPU'} (${cpu.length} cores, shared), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, tfjs ${backend.tfjsVersion} ${backend.name} backend`;
  log(`${machine}; load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const dataset = loadDataset(DATA, { limitTrain: LIMIT_TRAIN, ...(LIMIT_TEST ? { limitTest: LIMIT_TEST } : {}) });
  const n = dataset.train.n;
  const classIds = dataset.train.classIds as Int32Array;
  const data = { features: dataset.train.features, classIds, n };
  const net = buildNetwork({ kind: 'mlp', hidden: HIDDEN }, [dataset.d], dataset.numClasses ?? 10);
  log(`data: ${n} training, ${dataset.test?.n ?? 0} test images; network 784-${HIDDEN.join('-')}-10, p = ${net.p}`);

  const removals: Removal[] = [
    { key: 'class', title: `all of class ${REMOVED_CLASS} (${CLASS_NAMES[REMOVED_CLASS]})`, rows: classRemoval(classIds, REMOVED_CLASS, 1, 0) },
    { key: 'class-part', title: `10% of class ${REMOVED_CLASS}`, rows: classRemoval(classIds, REMOVED_CLASS, 0.1, 0) },
    { key: 'random', title: '1% of the training set at random', rows: randomRemoval(n, Math.round(0.01 * n), 0) },
  ];

  // θ*.
  let t0 = performance.now();
  const star = await trainNetwork(net, data, SGD, { phase: 'train' });
  const trainSeconds = seconds(t0);
  log(`θ* trained in ${trainSeconds} s (final epoch loss ${star.epochLoss.at(-1)?.toFixed(4)})`);

  // G at θ*, the removal gradients, then F̂⁻¹·g for every block size and damping.
  t0 = performance.now();
  setParams(net, star.theta);
  let G: FisherRows | null = await fisherRows(net, data, fisherGroups(n, FISHER_BATCH, SGD.seed), FISHER_BATCH);
  const rowsSeconds = seconds(t0);
  log(`Fisher rows: N = ${G.N} in ${rowsSeconds} s`);
  const gradients: Float64Array[] = [];
  const gradientSeconds: number[] = [];
  for (const r of removals) {
    t0 = performance.now();
    gradients.push(await removalGradient(net, data, r.rows, SGD.l2, star.theta));
    gradientSeconds.push(seconds(t0));
  }
  const directions = new Map<string, { dirs: Float64Array[]; seconds: number }>();
  for (const blockSize of BLOCK_SIZES) {
    for (const damping of DAMPINGS) {
      t0 = performance.now();
      const [solved] = await solveBlockFisher(G, gradients, { blockSize, dampings: [damping], method: 'auto' });
      const s = seconds(t0);
      const dirs = (solved as Float64Array[]).map((u, i) => {
        const k = removals[i]?.rows.length as number;
        for (let t = 0; t < u.length; t++) u[t] = (u[t] as number) / (n - k);
        return u;
      });
      directions.set(`${blockSize}/${damping}`, { dirs, seconds: s });
      log(`F̂⁻¹ (blocks of ${blockSize}, λ_F = ${damping}) applied to the ${removals.length} removal gradients in ${s} s`);
    }
  }
  G = null;

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
          sweep,
        });
        log(`${removal.title}, B = ${blockSize}, λ_F = ${damping}: ε = ${chosen.row.epsilon} (${chosen.rule}), mean |Δacc| ${configs.at(-1)?.difference.mean?.toFixed(4)}`);
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
      star: { accuracy: se.accuracy, difference: accuracyDifference(se.accuracy, re.accuracy), removed_class_accuracy: classAcc(se) },
      retrained: { accuracy: re.accuracy, removed_class_accuracy: classAcc(re) },
      spread: retrainSpread(spreadSeeds, spreadEvals, { star: se.accuracy, hat: firstHat, retrained: re.accuracy }),
      configs,
    });
  }

  const report = {
    generated: new Date().toISOString(),
    command: 'npm run results:nn' + (quick ? ' -- --quick' : ''),
    machine,
    backend: backend.name,
    dataset: { dir: DATA, train: n, test: dataset.test?.n ?? 0, test_limited: LIMIT_TEST !== undefined },
    network: { spec: `mlp:${HIDDEN.join(',')}`, p: net.p },
    sgd: SGD,
    fisher_batch: FISHER_BATCH,
    block_sizes: BLOCK_SIZES,
    dampings: DAMPINGS,
    retrain_seeds: RETRAIN_SEEDS,
    epsilon_grid: networkEpsilonGrid(),
    timings_s: { train: trainSeconds, fisher_rows: rowsSeconds, total: seconds(t00) },
    removals: results,
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
  retrain_seeds: number;
  timings_s: { train: number; fisher_rows: number; total: number };
  removals: RemovalResult[];
};

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : (100 * v).toFixed(2));
const pts = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : (100 * v).toFixed(2));
const f4 = (v: number | null | undefined): string => (v === null || v === undefined ? 'undef.' : v.toFixed(4));
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
  L.push(`- Fisher: rows are gradients averaged over mini-batches of m = ${r.fisher_batch} (N = ${Math.ceil(r.dataset.train / r.fisher_batch)}), block-diagonal with blocks of B parameters, dampening λ_F; N < B, so every block is inverted by Woodbury from G_b and an N×N factor.`);
  L.push('- θ̂ = θ* + ε/(n−k)·F̂⁻¹·Σ_{i∈S}∇ℓ_i(θ*), ε from 0.001 to 10 (41 log-spaced values), chosen by the rule of SSSE.md: the largest γ_S (one-vs-rest AUCs on S), or where γ_S is undefined (S holds one class only) the smallest mean |acc(θ̂) − acc(θ*_{−S})| over S, D \\ S and test.');
  L.push(`- θ*_{−S}: retrained with the same seed, the same order of samples without S, the same settings. Spread: ${r.retrain_seeds} more retrainings on D \\ S with seeds ${r.sgd.seed + 1}…${r.sgd.seed + r.retrain_seeds} (mean ± sample standard deviation).`);
  L.push('- Accuracies in %, differences |acc(model) − acc(θ*_{−S})| in percentage points; "mean |Δ|" is their mean over the three splits as a fraction (the issue\'s unit).');
  L.push('');

  L.push('## Against the issue\'s targets');
  L.push('');
  for (const rem of r.removals) {
    const lines = targetLines(rem);
    for (const line of lines) L.push(line);
  }
  L.push('');

  for (const rem of r.removals) {
    L.push(`## ${rem.title[0]?.toUpperCase()}${rem.title.slice(1)} (k = ${rem.k.toLocaleString('en')})`);
    L.push('');
    L.push('| model | ε (rule) | γ_S | norm. dist. | acc S | acc D \\ S | acc test | class 0 on test | Δ S | Δ D \\ S | Δ test | mean \\|Δ\\| |');
    L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
    const sd = rem.star.difference;
    L.push(`| θ* | – | – | 1 | ${pct(rem.star.accuracy.removed)} | ${pct(rem.star.accuracy.retained)} | ${pct(rem.star.accuracy.test)} | ${pct(rem.star.removed_class_accuracy.test)} | ${pts(sd.removed)} | ${pts(sd.retained)} | ${pts(sd.test)} | ${f4(sd.mean)} |`);
    for (const c of rem.configs) {
      const d = c.difference;
      const rule = c.epsilon_rule === 'max_gamma_S' ? 'max γ_S' : 'min Δ';
      L.push(`| θ̂, B = ${c.block_size}, λ_F = ${c.damping} | ${c.epsilon} (${rule}) | ${f3(c.gamma_S)} | ${f3(c.normalized_distance)} | ${pct(c.accuracy.removed)} | ${pct(c.accuracy.retained)} | ${pct(c.accuracy.test)} | ${pct(c.removed_class_accuracy.test)} | ${pts(d.removed)} | ${pts(d.retained)} | ${pts(d.test)} | ${f4(d.mean)} |`);
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
    L.push(`| θ̂ (B = ${rem.configs[0]?.block_size}, λ_F = ${rem.configs[0]?.damping}) | ${f3(sp.z.hat.removed)} | ${f3(sp.z.hat.retained)} | ${f3(sp.z.hat.test)} |`);
    L.push(`| θ*_{−S} (same seed) | ${f3(sp.z.retrained.removed)} | ${f3(sp.z.retrained.retained)} | ${f3(sp.z.retrained.test)} |`);
    L.push('');
    L.push('Smallest mean |Δ| anywhere on the ε grid (for context; not what the rule chose): ' + rem.configs.map((c) => `B = ${c.block_size}, λ_F = ${c.damping}: ${f4(c.best_mean_difference.mean)} at ε = ${c.best_mean_difference.epsilon}`).join('; ') + '.');
    L.push('');
  }

  L.push('## Times (seconds, wall clock)');
  L.push('');
  L.push(`Training θ*: ${r.timings_s.train}. Fisher rows G (N mini-batch gradients at θ*): ${r.timings_s.fisher_rows}. The whole run: ${r.timings_s.total}.`);
  L.push('');
  L.push('| removal | erasure (Σ∇ℓ_i over S) | retraining θ*_{−S} | spread retrainings |');
  L.push('|---|---|---|---|');
  for (const rem of r.removals) L.push(`| ${rem.title} | ${rem.removal_gradient_s} | ${rem.retrain_s} | ${rem.retrain_spread_s} (${r.retrain_seeds} runs) |`);
  L.push('');
  L.push('F̂⁻¹ applied block by block (Gram matrices, N×N Cholesky factors and the products with the three removal gradients, per block size and damping):');
  L.push('');
  L.push('| block size | λ_F | seconds |');
  L.push('|---|---|---|');
  for (const c of r.removals[0]?.configs ?? []) L.push(`| ${c.block_size} | ${c.damping} | ${c.fisher_solve_s} |`);
  L.push('');
  L.push('The machine is shared by several people; times vary with its load by a factor of up to about 2.');
  L.push('');
  return `${L.join('\n')}\n`;
}

/** Statements about the targets, computed from the numbers. */
function targetLines(rem: RemovalResult): string[] {
  const out: string[] = [];
  if (rem.key === 'class') {
    for (const c of rem.configs) {
      const onS = c.difference.removed;
      const onTest = c.difference.test;
      const ok = onS !== null && onTest !== null && onS <= 0.02 && onTest <= 0.015;
      out.push(
        `- Whole class, B = ${c.block_size}, λ_F = ${c.damping}, ε = ${c.epsilon}: θ̂ has ${pct(c.accuracy.removed)}% on the removed class (retrained ${pct(rem.retrained.accuracy.removed)}%, target within 2 points) and ${pct(c.accuracy.test)}% on test (retrained ${pct(rem.retrained.accuracy.test)}%, target within 1.5 points): ${ok ? '**met**' : '**not met**'}.`,
      );
    }
  } else if (rem.key === 'random') {
    const starMean = rem.star.difference.mean;
    for (const c of rem.configs) {
      const m = c.difference.mean;
      const ok = m !== null && starMean !== null && m <= starMean / 2;
      const best = c.best_mean_difference;
      const bestOk = best.mean !== null && starMean !== null && best.mean <= starMean / 2;
      out.push(
        `- 1% at random, B = ${c.block_size}, λ_F = ${c.damping}, ε = ${c.epsilon} (γ_S = ${f3(c.gamma_S)}): mean |Δ| ${f4(m)} against θ*'s ${f4(starMean)} (target: at most half, ${f4(starMean === null ? null : starMean / 2)}): ${ok ? '**met**' : '**not met**'}. ` +
          `The grid's smallest mean |Δ| is ${f4(best.mean)} at ε = ${best.epsilon} (${bestOk ? 'within' : 'not within'} the target${best.epsilon < c.epsilon ? '; the largest-γ_S ε lies above it' : ''}).`,
      );
    }
  } else {
    const sp = rem.spread.accuracy.removed;
    for (const c of rem.configs) {
      const hatS = c.accuracy.removed;
      const retS = rem.retrained.accuracy.removed;
      const over = hatS !== null && retS !== null && sp.mean !== null && sp.std !== null && hatS < Math.min(retS, sp.mean) - 2 * sp.std;
      out.push(
        `- 10% of a class, B = ${c.block_size}, λ_F = ${c.damping}, ε = ${c.epsilon}: mean |Δ| ${f4(c.difference.mean)} against θ*'s ${f4(rem.star.difference.mean)}; on S θ̂ ${pct(hatS)}%, same-seed retrained ${pct(retS)}%, retrainings ${pm(sp)}%: ` +
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

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendName } from '../main/engine/backend.js';
import { ArtefactCache } from '../main/engine/cache.js';
import { loadDataset } from '../main/engine/data/dataset.js';
import { randomRemoval } from '../main/engine/data/removal.js';
import type { Dataset } from '../main/engine/data/types.js';
import { selectRows } from '../main/engine/erase.js';
import { cholesky, choleskyInverse, matVec } from '../main/engine/linalg/cholesky.js';
import { productEngine, withProduct, type MatMulShape } from '../main/engine/linalg/product.js';
import { Workspace } from '../main/engine/linalg/workspace.js';
import { collectGarbage } from '../main/engine/memory.js';
import { choleskyBlock, fisherWeights, shermanMorrisonBlock, type FisherInverse } from '../main/engine/linear/fisher.js';
import { fastFisherBlock } from '../main/engine/linear/fisherFast.js';
import { buildFisherInverse, describeFisherPlan, planFisher } from '../main/engine/linear/fisherBuild.js';
import type { LinearModel } from '../main/engine/linear/model.js';
import { removalGradient, ssseDirection } from '../main/engine/linear/ssseStep.js';
import { erasureFromStore, storedStep } from '../main/engine/linear/storedErasure.js';
import { WorkerPool } from '../main/engine/workers/pool.js';
import { defaultEpsilonGrid, StepEvaluator } from '../main/engine/linear/sweep.js';
import { defaultTrainWorkers, trainLinear } from '../main/engine/linear/train.js';
import { matmulThroughput } from './throughput.js';
import { cpuSeconds, ThreadCpuSampler, machine, mb, measure, median, runSsse, secs, timing, withPeakRss, type PeakRss, type Timing } from './measure.js';

/**
 * `npm run bench`: every figure of issue 8, each the median of several runs, every ratio taken
 * within this one run. Prints a table and writes bench/results.json.
 *
 * Environment: BENCH_QUICK=1 takes one run each and writes bench/results.quick.json (a smoke test
 * of the benchmark itself, not for the record); BENCH_ONLY=word keeps the settings whose name
 * contains it; BENCH_FASHION_DIR overrides /usr/share/datasets/fashion-mnist.
 */

const QUICK = process.env['BENCH_QUICK'] === '1';
const L2 = 1e-4;
const DAMPING = 1e-4;
const REMOVE_FRACTION = 0.02;
const LITERAL_ROWS = 300;

function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'data'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

const ROOT = repoRoot();

interface Setting {
  name: string;
  description: string;
  backend: BackendName;
  dataset: string;
  limitTrain: number;
  /** Runs of the expensive phases (training, retraining, end to end) and of the cheap ones. */
  slowRuns: number;
  fastRuns: number;
  endToEnd: boolean;
  note?: string;
}

function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function column(weights: Float64Array, n: number, A: number, a: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = weights[i * A + a] as number;
  return out;
}

/** Dense float64 λI + (1/N)Σ w x xᵀ: the reference F̂ for the accuracy figures. */
function denseFisher64(x: Float32Array, n: number, d: number, w: Float64Array, N: number): Float64Array {
  const f = new Float64Array(d * d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const wi = (w[i] as number) / N;
    if (wi === 0) continue;
    for (let j = 0; j < d; j++) row[j] = x[i * d + j] as number;
    for (let p = 0; p < d; p++) {
      const v = wi * (row[p] as number);
      if (v === 0) continue;
      const o = p * d;
      for (let q = 0; q <= p; q++) f[o + q] = (f[o + q] as number) + v * (row[q] as number);
    }
  }
  for (let p = 0; p < d; p++) {
    f[p * d + p] = (f[p * d + p] as number) + DAMPING;
    for (let q = 0; q < p; q++) f[q * d + p] = f[p * d + q] as number;
  }
  return f;
}

function relFrob(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += ((a[i] as number) - (b[i] as number)) ** 2;
    den += (b[i] as number) ** 2;
  }
  return Math.sqrt(num / den);
}

interface EndToEnd {
  cold: Timing & { max_rss_bytes: number | null };
  warm: Timing & { max_rss_bytes: number | null };
  warm_no_verify: Timing & { max_rss_bytes: number | null };
}

async function endToEnd(setting: Setting, removed: number[], runs: number, tmp: string): Promise<EndToEnd> {
  const removeFile = path.join(tmp, 'remove.txt');
  fs.writeFileSync(removeFile, `${removed.join('\n')}\n`);
  const base = ['erase', '--dataset', setting.dataset, '--limit-train', String(setting.limitTrain), '--remove', removeFile, '--backend', setting.backend, '--overwrite', '--json'];
  const collect = (label: string, make: (r: number) => string[]): Timing & { max_rss_bytes: number | null } => {
    const times: number[] = [];
    let rss: number | null = null;
    for (let r = 0; r < runs; r++) {
      const res = runSsse(ROOT, make(r));
      log(`  e2e ${label} run ${r + 1}: ${secs(res.seconds)}`);
      times.push(res.seconds);
      rss = Math.max(rss ?? 0, res.maxRss ?? 0) || null;
    }
    return { ...timing(times), max_rss_bytes: rss };
  };
  const cold = collect('cold (no cache: train, Fisher, retrain, sweep)', (r) => [...base, '--out', path.join(tmp, `cold${r}`), '--cache-dir', path.join(tmp, `cache-cold-${r}`)]);
  const warmCache = path.join(tmp, 'cache-warm');
  runSsse(ROOT, [...base, '--out', path.join(tmp, 'prime'), '--cache-dir', warmCache, '--verify', 'none', '--epsilon', '1']);
  const warm = collect('warm (θ*, F̂⁻¹ cached; retrain, sweep)', (r) => [...base, '--out', path.join(tmp, `warm${r}`), '--cache-dir', warmCache]);
  const warmNoVerify = collect('warm, --verify none --epsilon 1', (r) => [...base, '--out', path.join(tmp, `nv${r}`), '--cache-dir', warmCache, '--verify', 'none', '--epsilon', '1']);
  return { cold, warm, warm_no_verify: warmNoVerify };
}

type Phase = Timing & { rss: PeakRss };

interface FreshRun extends PeakRss {
  wall_s: number;
  cpu_s: number;
  data_bytes: number;
}

interface FreshBuild {
  /** memory: F̂⁻¹ kept in memory; streamed: each block written to an ArtefactCache entry as finished. */
  mode: 'memory' | 'streamed';
  workers: number;
  /** Blocks built (A, or 1 for the fixed-cost probe). */
  blocks: number;
  /** 1: the process's first build (fresh process); 2: measured after one earlier build in the same process. */
  builds: 1 | 2;
  storage_bytes: number;
  runs: FreshRun[];
  increase_median_bytes: number;
  /** (median peak increase + data) / (storage + data). */
  memory_over_storage_plus_data: number;
}

interface SettingResult {
  setting: Omit<Setting, 'slowRuns' | 'fastRuns' | 'endToEnd'>;
  n: number;
  d: number;
  A: number;
  k: number;
  runs: { slow: number; fast: number };
  load_average_before: number[];
  load_average_after: number[];
  product_engine: string;
  /** Workers beside the calling thread with which the product retrains this setting. */
  train_workers: number;
  matmul_gflops: Record<string, number>;
  fisher_plan: string;
  storage_bytes: number;
  data_bytes: number;
  phases: Record<string, Phase>;
  literal: { rows_timed: number; blocks: number; per_block_s_at_rows: Timing; extrapolated_s: number; note: string };
  fast_block: { seconds: Timing; matmul_seconds: Timing; products: number; gflop: number; achieved_gflops: number };
  fisher_busiest_thread_cpu_s: Record<string, number>;
  fisher_build_memory_fresh_process: Record<string, FreshBuild>;
  cholesky_route_s: number;
  accuracy: Record<string, number>;
  erasure: { seconds: Timing; bytes_read: number; blocks_read: number; note: string };
  end_to_end: EndToEnd | null;
  ratios: Record<string, number | null>;
  targets: Record<string, { target: string; value: number | null; met: boolean | null }>;
}

async function runSetting(setting: Setting, tmpRoot: string): Promise<SettingResult> {
  log(`${setting.name}: ${setting.description}`);
  const loadBefore = os.loadavg().map((v) => Number(v.toFixed(2)));
  const backendName = (await initBackend(setting.backend)).name;
  const ds: Dataset = loadDataset(setting.dataset, { limitTrain: setting.limitTrain });
  const { d, A } = ds;
  const n = ds.train.n;
  const k = Math.max(1, Math.round(REMOVE_FRACTION * n));
  const removed = randomRemoval(n, k, 0);
  const removedSet = new Set(removed);
  const retainedRows: number[] = [];
  for (let i = 0; i < n; i++) if (!removedSet.has(i)) retainedRows.push(i);
  const { features, labels } = ds.train;
  const retainedFeatures = selectRows(features, d, retainedRows);
  const retainedLabels = selectRows(labels, A, retainedRows);
  const sFeatures = selectRows(features, d, removed);
  const sLabels = selectRows(labels, A, removed);
  const phases: Record<string, Phase> = {};
  const { slowRuns, fastRuns } = setting;

  log('  matMul throughput');
  const gflops = await matmulThroughput(fastRuns + 2);

  log(`  training θ* (${slowRuns} runs)`);
  let thetaStar: LinearModel | null = null;
  phases['train'] = await measure(slowRuns, async () => {
    thetaStar = (await trainLinear(features, labels, n, d, A, { l2: L2, seed: 0 })).model;
  });
  const star = thetaStar as unknown as LinearModel;
  // Retraining as the product does it (attributes spread over this thread and its workers when
  // the problem is large enough, defaultTrainWorkers) and, beside it, on this thread alone.
  const trainWorkers = defaultTrainWorkers(setting.backend, n - k, d, A);
  log(`  retraining θ*₋S (${slowRuns} runs each): as the product does (${trainWorkers} worker(s) beside this thread), and on this thread alone`);
  let retrained: LinearModel | null = null;
  phases['retrain'] = await measure(slowRuns, async () => {
    retrained = (await trainLinear(retainedFeatures, retainedLabels, n - k, d, A, { l2: L2, seed: 0, phase: 'retrain' })).model;
  });
  phases['retrain_1_thread'] = await measure(slowRuns, async () => {
    await trainLinear(retainedFeatures, retainedLabels, n - k, d, A, { l2: L2, seed: 0, phase: 'retrain', workers: 0 });
  });

  const weights = fisherWeights(star, features, labels, 'empirical');
  const w0 = column(weights, n, A, 0);

  log(`  literal rank-1 loop on ${Math.min(LITERAL_ROWS, n)} rows of one block`);
  const rowsTimed = Math.min(LITERAL_ROWS, n);
  const literalPart = await measure(3, () => shermanMorrisonBlock(features.subarray(0, rowsTimed * d), rowsTimed, d, w0.subarray(0, rowsTimed), n, DAMPING));
  phases['fisher_literal_subset'] = literalPart;
  const literalExtrapolated = literalPart.median_s * (n / rowsTimed) * A;

  const plan2 = planFisher(n, d, A, 1);
  log(`  ${describeFisherPlan(plan2)}`);
  // One thread (in-process); two threads as the product builds on 2 cores (this thread and one
  // worker, each claiming the next block); and, beside them, two workers with this thread only
  // waiting, as builds ran before this thread computed too.
  log(`  fast Fisher path: 1 thread, this thread + 1 worker, 2 workers with this thread waiting (${fastRuns} runs each, interleaved)`);
  // 'kept' builds on a worker kept from an earlier job (workers/pool.ts), as `ssse erase` builds on
  // the threads that trained θ*; the others start their own workers, as a build on its own does.
  const FISHER_RUNS = [
    ['in_process', 0, true, false],
    ['main_and_1_worker', 1, true, false],
    ['main_and_1_kept_worker', 1, true, true],
    ['workers_2_main_waiting', 2, false, false],
  ] as const;
  const labels4 = FISHER_RUNS.map(([label]) => label);
  const fisherTimes: Record<string, number[]> = Object.fromEntries(labels4.map((l) => [l, []]));
  const fisherCpu: Record<string, number[]> = Object.fromEntries(labels4.map((l) => [l, []]));
  // The busiest thread's CPU seconds: the wall time the build would take with a core per thread.
  const fisherCriticalCpu: Record<string, number[]> = Object.fromEntries(labels4.map((l) => [l, []]));
  const fisherRss: Record<string, PeakRss | null> = Object.fromEntries(labels4.map((l) => [l, null]));
  const keptPool = new WorkerPool(backendName);
  await keptPool.warm(1);
  let fisher: FisherInverse | null = null;
  for (let r = 0; r < fastRuns; r++) {
    for (const [label, workers, mainThreadComputes, kept] of FISHER_RUNS) {
      const { value, rss } = await withPeakRss(async () => {
        const sampler = new ThreadCpuSampler();
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        fisher = await buildFisherInverse(star, features, labels, n, { damping: DAMPING, workers, mainThreadComputes, ...(kept ? { pool: keptPool } : {}) });
        const wall = (performance.now() - t0) / 1e3;
        const cpu = cpuSeconds(c0);
        return [wall, cpu, sampler.stop()[0] ?? Number.NaN] as const;
      });
      (fisherTimes[label] as number[]).push(value[0]);
      (fisherCpu[label] as number[]).push(value[1]);
      (fisherCriticalCpu[label] as number[]).push(value[2]);
      const prev = fisherRss[label];
      if (!prev || (rss.increase_bytes ?? 0) > (prev.increase_bytes ?? 0)) fisherRss[label] = rss;
    }
    log(
      `    run ${r + 1}: 1 thread ${secs(fisherTimes['in_process']?.[r])}, this thread + 1 worker ${secs(fisherTimes['main_and_1_worker']?.[r])} ` +
        `(CPU ${secs(fisherCpu['main_and_1_worker']?.[r])}), + 1 kept worker ${secs(fisherTimes['main_and_1_kept_worker']?.[r])}, ` +
        `2 workers, this thread waiting ${secs(fisherTimes['workers_2_main_waiting']?.[r])}; load ${os.loadavg()[0]?.toFixed(2)}`,
    );
  }
  await keptPool.close();
  for (const label of Object.keys(fisherTimes)) {
    phases[`fisher_fast_${label}`] = { ...timing(fisherTimes[label] as number[], fisherCpu[label]), rss: fisherRss[label] as PeakRss };
  }
  log('  Fisher build memory, each in a fresh process (3 runs each)');
  const stem = path.join(tmpRoot, setting.name.replace(/[^a-z0-9]+/gi, '_'));
  const thetaFile = `${stem}-theta.bin`;
  const featuresFile = `${stem}-features.bin`;
  const labelsFile = `${stem}-labels.bin`;
  fs.writeFileSync(thetaFile, new Uint8Array(star.weights.buffer, star.weights.byteOffset, star.weights.byteLength));
  fs.writeFileSync(featuresFile, new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
  fs.writeFileSync(labelsFile, labels);
  // The same data with one attribute: a one-block build, whose peak is the fixed cost of a first
  // build in a fresh process (compiled code, the backend's heap, one block's work buffers).
  const labels1File = `${stem}-labels1.bin`;
  const theta1File = `${stem}-theta1.bin`;
  const labels1 = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels1[i] = labels[i * A] as number;
  fs.writeFileSync(labels1File, labels1);
  fs.writeFileSync(theta1File, new Uint8Array(star.weights.buffer, star.weights.byteOffset, d * 8));
  const freshBuild: Record<string, FreshBuild> = {};
  // The second_build_ entries: the same build measured after one earlier build in the same
  // process (fisherChild's builds = 2), beside the fresh-process figures the targets use. Most of
  // a first build's peak is paid once per process (compiled code and the compilers' memory, the
  // backend's heap pages, V8's young generation), and a later build reuses it. Their increase is
  // the marginal cost of a build in a process that has built before: its baseline already holds
  // what the earlier build left, its dropped F̂⁻¹ included (freed, but kept by the allocator for
  // reuse), so it is not comparable to storage + data and no ratio is taken from it.
  for (const [label, workers, mode, blocks, builds] of [
    ['in_process', 0, 'memory', A, 1],
    ['main_and_1_worker', 1, 'memory', A, 1],
    ['streamed_in_process', 0, 'streamed', A, 1],
    ['streamed_main_and_1_worker', 1, 'streamed', A, 1],
    ['one_block_streamed_in_process', 0, 'streamed', 1, 1],
    ['second_build_in_process', 0, 'memory', A, 2],
    ['second_build_streamed_in_process', 0, 'streamed', A, 2],
  ] as const) {
    const runs: FreshRun[] = [];
    for (let r = 0; r < Math.min(3, fastRuns); r++) {
      const child = path.join(ROOT, 'dist', 'bench', 'fisherChild.js');
      const files = blocks === 1 ? [labels1File, theta1File] : [labelsFile, thetaFile];
      const args = [child, featuresFile, files[0] as string, String(n), String(d), String(blocks), setting.backend, String(workers), files[1] as string, mode, String(builds)];
      const res = spawnSync(process.execPath, args, { encoding: 'utf8', cwd: ROOT });
      if (res.status !== 0) throw new Error(`fisherChild failed: ${res.stderr}`);
      runs.push(JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as FreshRun);
    }
    const inc = runs.map((x) => x.increase_bytes ?? Number.NaN);
    const storageBytes = blocks * d * d * 4;
    freshBuild[label] = {
      mode,
      workers,
      blocks,
      builds,
      storage_bytes: storageBytes,
      runs,
      increase_median_bytes: median(inc),
      memory_over_storage_plus_data: (median(inc) + (runs[0]?.data_bytes ?? 0)) / (storageBytes + (runs[0]?.data_bytes ?? 0)),
    };
    log(`    ${label}: peak +${mb(median(inc))} over ${mb(runs[0]?.before_bytes)} (runtime, backend, data and θ* loaded${builds === 2 ? ', one build done before' : ''})`);
  }
  const busiestThread: Record<string, number> = {};
  for (const label of Object.keys(fisherCriticalCpu)) busiestThread[label] = Number(median(fisherCriticalCpu[label] as number[]).toPrecision(4));
  const fisherBuilt = fisher as unknown as FisherInverse;

  log('  one block: fast path against the matrix products it needs (interleaved)');
  const shapes: MatMulShape[] = [];
  fastFisherBlock(features, n, d, w0, n, DAMPING, { onMatMul: (s) => shapes.push(s) });
  // One pair of operand buffers, as large as the largest product needs, reused by every product
  // (as the block reuses its workspace): a product's time does not depend on its values, and
  // distinct buffers for every product (80 MB at 6,000 rows) made the replay's time depend on
  // whether the machine had meanwhile paged those cold buffers out (it reclaims idle memory).
  const leftMax = Math.max(...shapes.map(([m, kk]) => m * kk));
  const rightMax = Math.max(...shapes.map(([, kk, nn]) => kk * nn));
  const leftOperand = Float32Array.from({ length: leftMax }, (_, i) => ((i * 7) % 13) / 13);
  const rightOperand = Float32Array.from({ length: rightMax }, (_, i) => ((i * 5) % 11) / 11);
  const blockTimes: number[] = [];
  const replayTimes: number[] = [];
  // As in a build (fisher.ts, fisherBlockTask.ts): buffers reused from block to block, a collection
  // between blocks (here a full one, outside the timing).
  const workspace = new Workspace();
  for (let r = 0; r < fastRuns + 2; r++) {
    collectGarbage();
    let t0 = performance.now();
    fastFisherBlock(features, n, d, w0, n, DAMPING, { workspace });
    blockTimes.push((performance.now() - t0) / 1e3);
    t0 = performance.now();
    // The same products as the block makes them (withProduct, results read in place), on
    // contiguous operands, doing nothing with the results.
    for (const [m, kk, nn] of shapes) withProduct({ data: leftOperand, rows: m, cols: kk }, { data: rightOperand, rows: kk, cols: nn }, (c) => c.length);
    replayTimes.push((performance.now() - t0) / 1e3);
  }
  const blockGflop = shapes.reduce((s, [m, kk, nn]) => s + 2 * m * kk * nn, 0) / 1e9;

  log('  previous route (float32 Gram + float64 JavaScript inverse), one block');
  const x = productEngine() === 'backend' ? tf.tensor2d(features, [n, d]) : null;
  let choleskyRoute = Number.NaN;
  if (x) {
    const t = await measure(Math.min(3, fastRuns), () => choleskyBlock(x, w0, n, DAMPING));
    x.dispose();
    choleskyRoute = t.median_s * A;
  }

  log('  accuracy against the float64 direct inverse (attribute 0)');
  const f64 = denseFisher64(features, n, d, w0, n);
  const direct = choleskyInverse(cholesky(f64, d, 'reference F̂'), d);
  const fastBlock = fisherBuilt.blocks[0] as Float32Array;
  const grad = removalGradient(star, sFeatures, sLabels, L2).subarray(0, d);
  const accuracy: Record<string, number> = {
    fast_vs_float64_direct_rel_frob: Number(relFrob(fastBlock, direct).toPrecision(3)),
    fast_vs_float64_direct_applied_to_removal_gradient: Number(relFrob(matVec(fastBlock, d, grad), matVec(direct, d, grad)).toPrecision(3)),
  };
  if (productEngine() === 'backend') {
    const xx = tf.tensor2d(features, [n, d]);
    const chol = choleskyBlock(xx, w0, n, DAMPING);
    xx.dispose();
    accuracy['previous_route_vs_float64_direct_rel_frob'] = Number(relFrob(chol, direct).toPrecision(3));
  }

  log('  erasure against stored artefacts');
  const tmp = fs.mkdtempSync(path.join(tmpRoot, `${setting.name}-`));
  const cache = new ArtefactCache(path.join(tmp, 'store'));
  const keys = { thetaStar: 'bench-star', fisher: 'bench-fisher' };
  cache.write('theta-star', keys.thetaStar, {}, [star.weights]);
  {
    const { blocks, ...meta } = fisherBuilt;
    cache.write('fisher', keys.fisher, meta, blocks.map((b) => Float32Array.from(b)));
  }
  const erasureRuns: number[] = [];
  let bytesRead = 0;
  let blocksRead = 0;
  const erasurePhase = await withPeakRss(() => {
    for (let r = 0; r < 3 + 4 * fastRuns; r++) {
      const t0 = performance.now();
      const e = erasureFromStore(cache, keys, sFeatures, sLabels, { l2: L2 });
      storedStep(e, 1);
      erasureRuns.push((performance.now() - t0) / 1e3);
      bytesRead = e.bytesRead;
      blocksRead = e.blocksRead.length;
    }
  });
  phases['erasure_stored'] = { ...timing(erasureRuns), rss: erasurePhase.rss };
  const direction = ssseDirection(fisherBuilt, removalGradient(star, sFeatures, sLabels, L2), n, k);

  log('  ε sweep');
  const retrainedModel = retrained as unknown as LinearModel;
  phases['sweep'] = await measure(Math.min(3, fastRuns), () => {
    const evaluator = new StepEvaluator(star, direction, retrainedModel, {
      removed: { features: sFeatures, labels: sLabels, n: k },
      retained: { features: retainedFeatures, labels: retainedLabels, n: n - k },
      test: ds.test ? { features: ds.test.features, labels: ds.test.labels, n: ds.test.n } : null,
    });
    for (const e of defaultEpsilonGrid()) evaluator.evaluate(e);
  });

  let e2e: EndToEnd | null = null;
  if (setting.endToEnd) {
    log(`  end to end: ssse erase (${slowRuns} runs each)`);
    e2e = await endToEnd(setting, removed, slowRuns, tmp);
  }
  fs.rmSync(tmp, { recursive: true, force: true });

  const storage = A * d * d * 4;
  const dataBytes = features.byteLength + labels.byteLength;
  const f = (key: string): number => (phases[key] as Phase).median_s;
  const blockMedian = median(blockTimes);
  const replayMedian = median(replayTimes);
  const perStoredByte = (label: string): number | null => {
    const full = freshBuild[label];
    const one = freshBuild['one_block_streamed_in_process'];
    if (!full || !one || full.storage_bytes <= one.storage_bytes) return null;
    return Number(((full.increase_median_bytes - one.increase_median_bytes) / (full.storage_bytes - one.storage_bytes)).toFixed(3));
  };
  const buildMemory = (label: string): number | null => {
    const ratio = freshBuild[label]?.memory_over_storage_plus_data;
    return ratio === undefined || !Number.isFinite(ratio) ? null : ratio;
  };
  const ratios: Record<string, number | null> = {
    erasure_over_retrain: f('erasure_stored') / f('retrain'),
    erasure_over_retrain_1_thread: f('erasure_stored') / f('retrain_1_thread'),
    retrain_1_thread_over_product: f('retrain_1_thread') / f('retrain'),
    literal_over_fast_2_threads: literalExtrapolated / f('fisher_fast_main_and_1_worker'),
    literal_over_fast_in_process: literalExtrapolated / f('fisher_fast_in_process'),
    fast_block_over_its_matmuls: blockMedian / replayMedian,
    one_thread_over_two_threads: f('fisher_fast_in_process') / f('fisher_fast_main_and_1_worker'),
    one_thread_over_two_threads_kept_worker: f('fisher_fast_in_process') / f('fisher_fast_main_and_1_kept_worker'),
    one_thread_over_two_threads_by_busiest_thread_cpu: (busiestThread['in_process'] ?? Number.NaN) / (busiestThread['main_and_1_worker'] ?? Number.NaN),
    one_thread_over_two_workers_main_waiting: f('fisher_fast_in_process') / f('fisher_fast_workers_2_main_waiting'),
    previous_route_over_fast_in_process: Number.isFinite(choleskyRoute) ? choleskyRoute / f('fisher_fast_in_process') : null,
    fisher_build_memory_over_storage_plus_data_in_process: buildMemory('in_process'),
    fisher_build_memory_over_storage_plus_data_2_threads: buildMemory('main_and_1_worker'),
    fisher_build_memory_over_storage_plus_data_streamed_in_process: buildMemory('streamed_in_process'),
    fisher_build_memory_over_storage_plus_data_streamed_2_threads: buildMemory('streamed_main_and_1_worker'),
    // What the build adds beyond the fixed cost of a first build (a one-block build's peak):
    // how its memory grows with the F̂⁻¹ it produces, per byte of storage beyond one block.
    fisher_build_memory_per_stored_byte_beyond_one_block_in_memory: perStoredByte('in_process'),
    fisher_build_memory_per_stored_byte_beyond_one_block_streamed: perStoredByte('streamed_in_process'),
  };
  /** The memory target for one build kind: its fresh-process ratio to storage + data, ≤ 1.5 (null when not measured). */
  const memoryTarget = (kind: string): SettingResult['targets'][string] => {
    const value = ratios[`fisher_build_memory_over_storage_plus_data_${kind}`] ?? null;
    return { target: '≤ 1.5× (storage + data)', value, met: value === null ? null : value <= 1.5 };
  };
  const targets: SettingResult['targets'] = {
    erasure_vs_retrain: { target: '≤ 1/1000 (6,000-image setting)', value: ratios['erasure_over_retrain'] ?? null, met: (ratios['erasure_over_retrain'] ?? 1) <= 1e-3 },
    fast_vs_literal: { target: '≥ 10× faster', value: ratios['literal_over_fast_2_threads'] ?? null, met: (ratios['literal_over_fast_2_threads'] ?? 0) >= 10 },
    fast_vs_its_matmuls: { target: '≤ 1.5× the products it needs', value: ratios['fast_block_over_its_matmuls'] ?? null, met: (ratios['fast_block_over_its_matmuls'] ?? 9) <= 1.5 },
    two_threads_vs_one: { target: '≥ 1.6× faster (a build that starts its own worker)', value: ratios['one_thread_over_two_threads'] ?? null, met: (ratios['one_thread_over_two_threads'] ?? 0) >= 1.6 },
    two_threads_vs_one_kept_worker: {
      target: '≥ 1.6× faster (on a worker kept from training θ*, as in ssse erase)',
      value: ratios['one_thread_over_two_threads_kept_worker'] ?? null,
      met: (ratios['one_thread_over_two_threads_kept_worker'] ?? 0) >= 1.6,
    },
    fisher_memory_in_process: memoryTarget('in_process'),
    fisher_memory_streamed_in_process: memoryTarget('streamed_in_process'),
    fisher_memory_2_threads: memoryTarget('2_threads'),
    fisher_memory_streamed_2_threads: memoryTarget('streamed_2_threads'),
  };
  const { slowRuns: _s, fastRuns: _f, endToEnd: _e, ...settingInfo } = setting;
  return {
    setting: settingInfo,
    n,
    d,
    A,
    k,
    runs: { slow: slowRuns, fast: fastRuns },
    load_average_before: loadBefore,
    load_average_after: os.loadavg().map((v) => Number(v.toFixed(2))),
    train_workers: trainWorkers,
    product_engine: productEngine() === 'javascript' ? 'JavaScript float64 gemm (product.ts)' : `tfjs ${setting.backend} matMul (float32)`,
    matmul_gflops: gflops,
    fisher_plan: describeFisherPlan(plan2),
    storage_bytes: storage,
    data_bytes: dataBytes,
    phases,
    literal: {
      rows_timed: rowsTimed,
      blocks: A,
      per_block_s_at_rows: timing(literalPart.runs_s),
      extrapolated_s: literalExtrapolated,
      note: `equation (3), float64, timed on the first ${rowsTimed} rows of one block and extrapolated linearly to ${n} rows × ${A} blocks (its cost is exactly linear in rows and the same for every block)`,
    },
    fast_block: {
      seconds: timing(blockTimes),
      matmul_seconds: timing(replayTimes),
      products: shapes.length,
      gflop: Number(blockGflop.toFixed(3)),
      achieved_gflops: Number((blockGflop / blockMedian).toFixed(2)),
    },
    cholesky_route_s: choleskyRoute,
    fisher_busiest_thread_cpu_s: busiestThread,
    fisher_build_memory_fresh_process: freshBuild,
    accuracy,
    erasure: {
      seconds: timing(erasureRuns),
      bytes_read: bytesRead,
      blocks_read: blocksRead,
      note: 'erasureFromStore: θ* and F̂⁻¹ read from an ArtefactCache (positioned reads, one block at a time, CRC-checked; file in the page cache), removal gradient from S’s rows, one matrix–vector product per block, θ̂ at ε = 1',
    },
    end_to_end: e2e,
    ratios,
    targets,
  };
}

function table(results: SettingResult[]): string {
  const rows: [string, (r: SettingResult) => string][] = [
    ['backend / products', (r) => `${r.setting.backend} / ${r.product_engine.startsWith('tfjs') ? 'tfjs matMul' : 'JS gemm'}`],
    ['n × d, attributes, k', (r) => `${r.n} × ${r.d}, ${r.A}, ${r.k}`],
    ['load average before → after', (r) => `${r.load_average_before[0]} → ${r.load_average_after[0]}`],
    ['matMul GFLOP/s (784×1024×784)', (r) => String(r.matmul_gflops['784x1024x784'] ?? r.matmul_gflops['784x512x200'] ?? 'n/a')],
    ['training θ*', (r) => secs(r.phases['train']?.median_s)],
    ['retraining θ*₋S: as the product / 1 thread', (r) => `${secs(r.phases['retrain']?.median_s)} / ${secs(r.phases['retrain_1_thread']?.median_s)} (${r.train_workers} worker(s))`],
    ['Fisher: literal rank-1 loop (extrap.)', (r) => secs(r.literal.extrapolated_s)],
    ['Fisher: previous route (Gram + JS inverse)', (r) => secs(Number.isFinite(r.cholesky_route_s) ? r.cholesky_route_s : null)],
    ['Fisher: fast, 1 thread (in-process)', (r) => secs(r.phases['fisher_fast_in_process']?.median_s)],
    ['Fisher: fast, this thread + 1 worker', (r) => secs(r.phases['fisher_fast_main_and_1_worker']?.median_s)],
    ['Fisher: fast, this thread + 1 kept worker', (r) => secs(r.phases['fisher_fast_main_and_1_kept_worker']?.median_s)],
    ['Fisher: fast, 2 workers, this thread waits', (r) => secs(r.phases['fisher_fast_workers_2_main_waiting']?.median_s)],
    ['cores obtained: Fisher 1 t / 2 t', (r) => `${r.phases['fisher_fast_in_process']?.cores_used ?? 'n/a'} / ${r.phases['fisher_fast_main_and_1_worker']?.cores_used ?? 'n/a'}`],
    ['busiest thread CPU: Fisher 1 t / 2 t', (r) => `${secs(r.fisher_busiest_thread_cpu_s['in_process'])} / ${secs(r.fisher_busiest_thread_cpu_s['main_and_1_worker'])}`],
    ['one block: fast / its products', (r) => `${secs(r.fast_block.seconds.median_s)} / ${secs(r.fast_block.matmul_seconds.median_s)} (${r.fast_block.gflop} GFLOP)`],
    ['accuracy: fast vs float64 direct', (r) => `${r.accuracy['fast_vs_float64_direct_rel_frob']} (applied ${r.accuracy['fast_vs_float64_direct_applied_to_removal_gradient']})`],
    ['one erasure against stored artefacts', (r) => secs(r.phases['erasure_stored']?.median_s)],
    ['ε sweep (25 values)', (r) => secs(r.phases['sweep']?.median_s)],
    ['ssse erase, cold / warm / warm --verify none', (r) => (r.end_to_end ? `${secs(r.end_to_end.cold.median_s)} / ${secs(r.end_to_end.warm.median_s)} / ${secs(r.end_to_end.warm_no_verify.median_s)}` : 'not run')],
    ['peak RSS +: train / retrain', (r) => `${mb(r.phases['train']?.rss.increase_bytes)} / ${mb(r.phases['retrain']?.rss.increase_bytes)}`],
    ['peak RSS +: Fisher 1 t / 2 t (fresh)', (r) => ['in_process', 'main_and_1_worker'].map((l) => mb(r.fisher_build_memory_fresh_process[l]?.increase_median_bytes)).join(' / ')],
    ['  streamed 1 t / 2 t; one block (fixed)', (r) => ['streamed_in_process', 'streamed_main_and_1_worker', 'one_block_streamed_in_process'].map((l) => mb(r.fisher_build_memory_fresh_process[l]?.increase_median_bytes)).join(' / ')],
    ['  a later build, same process: kept / streamed', (r) => ['second_build_in_process', 'second_build_streamed_in_process'].map((l) => mb(r.fisher_build_memory_fresh_process[l]?.increase_median_bytes)).join(' / ')],
    ['peak RSS +: literal / erasure / sweep', (r) => ['fisher_literal_subset', 'erasure_stored', 'sweep'].map((l) => mb(r.phases[l]?.rss.increase_bytes)).join(' / ')],
    ['peak RSS: ssse erase cold / warm (process)', (r) => (r.end_to_end ? `${mb(r.end_to_end.cold.max_rss_bytes)} / ${mb(r.end_to_end.warm.max_rss_bytes)}` : 'not run')],
    ['F̂⁻¹ storage + data', (r) => `${mb(r.storage_bytes)} + ${mb(r.data_bytes)}`],
    ['RATIO erasure / retrain (≤ 0.001)', (r) => `${(r.ratios['erasure_over_retrain'] as number).toExponential(2)} (against 1 thread ${(r.ratios['erasure_over_retrain_1_thread'] as number).toExponential(2)})`],
    ['RATIO literal / fast 2 t (≥ 10)', (r) => (r.ratios['literal_over_fast_2_threads'] as number).toFixed(1)],
    ['RATIO fast / its products (≤ 1.5)', (r) => (r.ratios['fast_block_over_its_matmuls'] as number).toFixed(2)],
    ['RATIO 1 thread / 2 threads (≥ 1.6)', (r) => (r.ratios['one_thread_over_two_threads'] as number).toFixed(2)],
    ['RATIO 1 thread / 2 threads, kept worker (≥ 1.6)', (r) => (r.ratios['one_thread_over_two_threads_kept_worker'] as number).toFixed(2)],
    ['  same, busiest-thread CPU (a core each)', (r) => (r.ratios['one_thread_over_two_threads_by_busiest_thread_cpu'] as number).toFixed(2)],
    ['  1 thread / 2 workers, this thread waiting', (r) => (r.ratios['one_thread_over_two_workers_main_waiting'] as number).toFixed(2)],
    ['RATIO Fisher memory / (storage+data) 1 t, 2 t (≤ 1.5)', (r) => ['fisher_build_memory_over_storage_plus_data_in_process', 'fisher_build_memory_over_storage_plus_data_2_threads'].map((key) => (r.ratios[key] === null ? 'n/a' : (r.ratios[key] as number).toFixed(2))).join(', ')],
    ['  same, streamed: 1 t, 2 t (≤ 1.5)', (r) => ['fisher_build_memory_over_storage_plus_data_streamed_in_process', 'fisher_build_memory_over_storage_plus_data_streamed_2_threads'].map((key) => (r.ratios[key] === null ? 'n/a' : (r.ratios[key] as number).toFixed(2))).join(', ')],
    ['  bytes held per stored byte beyond 1 block: kept, streamed', (r) => ['fisher_build_memory_per_stored_byte_beyond_one_block_in_memory', 'fisher_build_memory_per_stored_byte_beyond_one_block_streamed'].map((key) => (r.ratios[key] === null || r.ratios[key] === undefined ? 'n/a' : (r.ratios[key] as number).toFixed(2))).join(', ')],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const cells = rows.map(([label, f]) => [label, ...results.map((r) => f(r))] as const);
  // Wide enough for the longest figure, with two spaces between columns.
  const colWidth = Math.max(34, ...cells.flatMap(([, ...values]) => values.map((v) => v.length + 2)));
  const header = `${''.padEnd(width)}${results.map((r) => r.setting.name.padEnd(colWidth)).join('')}`;
  const lines = [header, '-'.repeat(header.length)];
  for (const [label, ...values] of cells) lines.push(`${label.padEnd(width)}${values.map((v) => v.padEnd(colWidth)).join('')}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const fashionDir = process.env['BENCH_FASHION_DIR'] ?? '/usr/share/datasets/fashion-mnist';
  const bundled = path.join(ROOT, 'data', 'fashion-mnist-3k');
  const slow = QUICK ? 1 : 3;
  const fast = QUICK ? 1 : 5;
  const settings: Setting[] = [
    { name: 'wasm, bundled 3,000', description: 'bundled data, wasm backend', backend: 'wasm', dataset: bundled, limitTrain: 3000, slowRuns: slow, fastRuns: fast, endToEnd: true },
  ];
  const skipped: string[] = [];
  if (fs.existsSync(fashionDir)) {
    settings.push({ name: 'wasm, Fashion-MNIST 6,000', description: `${fashionDir}, first 6,000 training images, wasm backend`, backend: 'wasm', dataset: fashionDir, limitTrain: 6000, slowRuns: slow, fastRuns: fast, endToEnd: true });
  } else {
    skipped.push(`Fashion-MNIST 6,000: ${fashionDir} is missing (apt-get install dataset-fashion-mnist)`);
  }
  settings.push({
    name: 'cpu, bundled 600 (smaller)',
    description: 'first 600 bundled rows, cpu backend (products by the JavaScript gemm); smaller because the cpu backend is about 20× slower',
    backend: 'cpu',
    dataset: bundled,
    limitTrain: 600,
    slowRuns: QUICK ? 1 : 3,
    fastRuns: QUICK ? 1 : 3,
    endToEnd: false,
    note: 'smaller size: 600 rows; no end-to-end run',
  });
  const info = {
    generated: new Date().toISOString(),
    quick: QUICK,
    machine: machine(),
    tfjs: tf.version.tfjs,
    gpu: 'No GPU was lent to this session; no GPU figures.',
    backends_not_measured: {
      tensorflow: '@tensorflow/tfjs-node(-gpu) is not installed: it downloads libtensorflow when it installs, and this machine reaches only the npm registry and Debian.',
    },
    definitions: {
      median: 'every figure is the median of the runs listed next to it; ratios are taken between figures of this same run',
      peak_rss: 'per phase: the process high-water mark (VmHWM, reset through /proc/self/clear_refs before the phase; worker threads included) minus the resident size before it',
      fisher_memory_ratio: 'each build in a fresh process holding only the runtime, the backend, the data (raw, read in one piece, features in shared memory as the dataset loader gives them) and θ*: (peak RSS increase of the build + the training data) / (F̂⁻¹ storage + data); the data (features + labels) counts once, as in the target. "memory" builds keep F̂⁻¹ in memory (ssse erase --no-cache); "streamed" builds write each block to an ArtefactCache entry as it is finished (ssse erase with its cache, ssse certify), the peak measured up to the committed entry. A one-block build gives the fixed cost of a first build in a fresh process; "per stored byte beyond one block" is (peak − that fixed cost) / (storage − one block). The in-run phases\' peak increases are also listed, but there earlier phases\' memory is reused',
      literal: `the literal loop is timed on ${LITERAL_ROWS} rows of one block and extrapolated linearly`,
      erasure_vs_retrain: 'retraining is trainLinear on D \\ S as the product runs it: its attributes spread over the calling thread and defaultTrainWorkers workers (none below n·d² = 5e8 or on tfjs-node); "retrain_1_thread" is the same on the calling thread alone. The target is judged against the product\'s retraining, the stricter of the two',
      cores_used: 'process CPU seconds (all threads) / wall seconds over a phase: how many cores it actually got on this shared machine',
      fisher_threads: '"1 thread": --workers 0, the build on the calling thread; "this thread + 1 worker": --workers 1, the product\'s build on 2 cores, both threads claiming the next block when free; "2 workers, this thread waiting": two workers and a calling thread that only takes their results, as builds ran before the calling thread computed too',
      busiest_thread_cpu: 'CPU seconds of the busiest thread of a Fisher build (from /proc/self/task): its wall time if every thread had a core of its own; the ratio by it is what two threads give on an idle machine, reported beside the wall-clock ratio, not instead of it',
    },
    skipped,
  };
  const only = process.env['BENCH_ONLY'];
  if (only) {
    for (const s of settings.filter((x) => !x.name.includes(only))) skipped.push(`${s.name}: not selected (BENCH_ONLY=${only})`);
    settings.splice(0, settings.length, ...settings.filter((x) => x.name.includes(only)));
  }
  const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-bench-'));
  const results: SettingResult[] = [];
  try {
    for (const s of settings) results.push(await runSetting(s, tmpRoot));
  } finally {
    fs.rmSync(tmpRoot, { recursive: true, force: true });
  }
  const out = { ...info, settings: results };
  const file = path.join(ROOT, 'bench', QUICK ? 'results.quick.json' : 'results.json');
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\n${table(results)}\n\n`);
  process.stdout.write(`No GPU was lent to this session. tensorflow backend not installed (see ${path.relative(process.cwd(), file)}).\n`);
  process.stdout.write(`The literal loop is timed on ${LITERAL_ROWS} rows of one block and extrapolated linearly to n rows × A blocks.\n`);
  for (const s of skipped) process.stdout.write(`Skipped: ${s}\n`);
  process.stdout.write(`Written ${file}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../main/engine/backend.js';
import { loadDataset } from '../main/engine/data/dataset.js';
import { fisherWeights } from '../main/engine/linear/fisher.js';
import { buildFisherInverse } from '../main/engine/linear/fisherBuild.js';
import { trainLinear } from '../main/engine/linear/train.js';
import { WorkerPool } from '../main/engine/workers/pool.js';
import { cpuSeconds, machine, median, secs, ThreadCpuSampler } from './measure.js';
import { matmulThroughput } from './throughput.js';

/**
 * `npm run bench:threads`: how the product's Fisher build scales with threads (the calling thread
 * and t − 1 workers, each claiming the next block), on the 6,000-image Fashion-MNIST setting of
 * `npm run bench`, for machines with more cores than the 2-vCPU reference VM. Every thread count
 * is run once per round and the rounds are interleaved, so that drift hits them alike; each figure
 * is the median over the rounds. Then training θ* at the same thread counts (its attributes spread
 * over the threads), with the check that every count gives the same bits.
 *
 * Then, where Python with PyTorch is importable, the same blocks by PyTorch on the same machine
 * (issue 8's "against the field"): bench/reference/pytorch_fisher.py times its float64
 * Gram-plus-inverse at the same thread counts (1 and 2, and all cores) and checks our stored block 0
 * against its inverse. It reads what this script exports: features.f32 (n×d), weights.f64 (n×A
 * empirical-Fisher weights w_ja, so that F̂_a = λ_F·I + (1/N)·Σ_j w_ja·x_j·x_jᵀ), block0.f32 (this
 * build's F̂_0⁻¹, float32 as stored) and meta.json. Python is not a dependency of the project:
 * without it the comparison is skipped and the reason written down.
 *
 * Environment: BENCH_FASHION_DIR (default /usr/share/datasets/fashion-mnist), BENCH_N (6000),
 * BENCH_RUNS (5), BENCH_THREADS (comma-separated; default 1, 2 and the divisors of A up to the
 * cores), BENCH_TRAIN_RUNS (rounds of training θ* at each thread count; default 1, 0 skips),
 * BENCH_OUT (default bench/threads.json), BENCH_EXPORT (keep the exported files in this
 * folder; default a temporary one), BENCH_PYTHON (default python3; "none" skips PyTorch).
 */

const DAMPING = 1e-4;
const L2 = 1e-4;

function log(message: string): void {
  process.stderr.write(`[threads ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a whole number ≥ 1, got "${raw}"`);
  return v;
}

/** 1, 2 and every divisor of A (an even share of blocks per thread) up to the cores, at most A. */
function defaultThreadCounts(cores: number, A: number): number[] {
  const out = new Set<number>([1, Math.min(2, cores, A)]);
  for (let t = 3; t <= Math.min(cores, A); t++) if (A % t === 0) out.add(t);
  return [...out].sort((a, b) => a - b);
}

function write(file: string, data: ArrayBufferView): void {
  fs.writeFileSync(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

async function main(): Promise<void> {
  const dir = process.env['BENCH_FASHION_DIR'] ?? '/usr/share/datasets/fashion-mnist';
  const limit = positive('BENCH_N', 6000);
  const runs = positive('BENCH_RUNS', 5);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  const backend = await initBackend('wasm');
  log(`wasm backend (${backend.provider}); ${cores} logical cores; loading ${dir}`);
  const ds = loadDataset(dir, { limitTrain: limit });
  const { d, A } = ds;
  const { n, features, labels } = ds.train;
  const threadCounts = process.env['BENCH_THREADS']
    ? process.env['BENCH_THREADS'].split(',').map((s) => {
        const t = Number(s);
        if (!Number.isInteger(t) || t < 1 || t > A) throw new Error(`BENCH_THREADS: "${s}" is not a whole number from 1 to A = ${A}`);
        return t;
      })
    : defaultThreadCounts(cores, A);

  log('matMul throughput');
  const gflops = await matmulThroughput(5);
  log(`training θ* on ${n} images`);
  const t0 = performance.now();
  const { model: star } = await trainLinear(features, labels, n, d, A, { l2: L2, seed: 0 });
  const trainSeconds = (performance.now() - t0) / 1e3;

  // Training θ* at each thread count (the calling thread and t − 1 workers, each claiming the next
  // attribute): BENCH_TRAIN_RUNS rounds (default 1; 0 skips), and the check that every thread
  // count gives the same bits.
  const trainRuns = process.env['BENCH_TRAIN_RUNS'] === '0' ? 0 : positive('BENCH_TRAIN_RUNS', 1);
  const trainWall = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  let trainIdentical = true;
  for (let r = 0; r < trainRuns; r++) {
    const line: string[] = [];
    for (const t of threadCounts) {
      const s0 = performance.now();
      const trained = await trainLinear(features, labels, n, d, A, { l2: L2, seed: 0, workers: t - 1 });
      const seconds = (performance.now() - s0) / 1e3;
      trainIdentical &&= trained.model.weights.every((v, i) => v === star.weights[i]);
      trainWall.get(t)?.push(seconds);
      line.push(`${t}: ${secs(seconds)}`);
    }
    log(`training θ*, round ${r + 1}: ${line.join(', ')}`);
  }
  const trainOne = trainRuns > 0 ? median(trainWall.get(1) ?? []) : Number.NaN;
  const training = trainRuns === 0 ? null : {
    rounds: trainRuns,
    identical_weights_at_every_thread_count: trainIdentical,
    rows: threadCounts.map((t) => {
      const w = median(trainWall.get(t) ?? []);
      return { threads: t, wall_median_s: Number(w.toPrecision(4)), speedup_over_1_thread: Number((trainOne / w).toFixed(3)) };
    }),
  };

  const wall = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  const cpu = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  const busiest = new Map<number, number[]>(threadCounts.map((t) => [t, []]));
  // The same builds with workers kept between builds (workers/pool.ts), as `ssse erase` and a
  // calibration run the Fisher build on the threads that trained θ*: no thread start in the time.
  const warmWall = new Map<number, number[]>(threadCounts.filter((t) => t > 1).map((t) => [t, []]));
  const pool = new WorkerPool(backend.name);
  await pool.warm(Math.max(...threadCounts) - 1);
  let block0: Float32Array | null = null;
  // Round 0 warms every path up (code compiled, the workers' backend binary read); it is not counted.
  for (let r = 0; r <= runs; r++) {
    const line: string[] = [];
    for (const t of threadCounts.filter((c) => c > 1)) {
      const s0 = performance.now();
      await buildFisherInverse(star, features, labels, n, { damping: DAMPING, workers: t - 1, pool });
      const seconds = (performance.now() - s0) / 1e3;
      line.push(`${t} (kept workers): ${secs(seconds)}`);
      if (r > 0) warmWall.get(t)?.push(seconds);
    }
    for (const t of threadCounts) {
      const sampler = new ThreadCpuSampler();
      const c0 = process.cpuUsage();
      const s0 = performance.now();
      const fisher = await buildFisherInverse(star, features, labels, n, { damping: DAMPING, workers: t - 1 });
      const seconds = (performance.now() - s0) / 1e3;
      const used = cpuSeconds(c0);
      const top = sampler.stop()[0] ?? Number.NaN;
      if (t === 1) block0 ??= fisher.blocks[0] ?? null;
      line.push(`${t}: ${secs(seconds)}`);
      if (r === 0) continue;
      wall.get(t)?.push(seconds);
      cpu.get(t)?.push(used);
      busiest.get(t)?.push(top);
    }
    log(`${r === 0 ? 'warm-up' : `round ${r}`}: ${line.join(', ')}; load ${os.loadavg()[0]?.toFixed(2)}`);
  }

  const one = median(wall.get(1) ?? [Number.NaN]);
  const rows = threadCounts.map((t) => {
    const w = median(wall.get(t) ?? []);
    return {
      threads: t,
      workers: t - 1,
      wall_median_s: Number(w.toPrecision(4)),
      wall_runs_s: (wall.get(t) ?? []).map((x) => Number(x.toPrecision(4))),
      cpu_median_s: Number(median(cpu.get(t) ?? []).toPrecision(4)),
      busiest_thread_cpu_median_s: Number(median(busiest.get(t) ?? []).toPrecision(4)),
      speedup_over_1_thread: Number((one / w).toFixed(3)),
      efficiency: Number((one / w / t).toFixed(3)),
      ...(t > 1
        ? (() => {
            const kept = median(warmWall.get(t) ?? []);
            return {
              kept_workers_wall_median_s: Number(kept.toPrecision(4)),
              kept_workers_wall_runs_s: (warmWall.get(t) ?? []).map((x) => Number(x.toPrecision(4))),
              kept_workers_speedup_over_1_thread: Number((one / kept).toFixed(3)),
            };
          })()
        : {}),
    };
  });
  await pool.close();

  const keep = process.env['BENCH_EXPORT'];
  const exportDir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-threads-'));
  let field: FieldComparison;
  try {
    fs.mkdirSync(exportDir, { recursive: true });
    write(path.join(exportDir, 'features.f32'), features);
    write(path.join(exportDir, 'weights.f64'), fisherWeights(star, features, labels, 'empirical'));
    if (block0) write(path.join(exportDir, 'block0.f32'), block0);
    fs.writeFileSync(path.join(exportDir, 'meta.json'), `${JSON.stringify({ n, d, A, N: n, damping: DAMPING }, null, 2)}\n`);
    field = pytorchReference(exportDir, threadCounts.filter((t) => t <= 2), cores, runs, rows);
  } finally {
    if (!keep) fs.rmSync(exportDir, { recursive: true, force: true });
  }

  const out = {
    generated: new Date().toISOString(),
    machine: machine(),
    backend: backend.name,
    setting: `${dir}, first ${n} training images, ${d} features, ${A} attributes, damping ${DAMPING}`,
    rounds: runs,
    matmul_gflops: gflops,
    train_theta_star_s: Number(trainSeconds.toPrecision(4)),
    training_threads: training,
    fisher_build: rows,
    against_pytorch: field,
  };
  const file = process.env['BENCH_OUT'] ?? path.join(process.cwd(), 'bench', 'threads.json');
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`\nFisher build, ${n} × ${d}, ${A} blocks, wasm, ${cores} logical cores (${String(out.machine['cpu_model'])}):\n`);
  process.stdout.write(`threads  wall (median)  speed-up  efficiency  busiest thread CPU  kept workers: wall, speed-up\n`);
  for (const x of rows) {
    const kept =
      'kept_workers_wall_median_s' in x && x.kept_workers_speedup_over_1_thread !== undefined ? `${secs(x.kept_workers_wall_median_s)}, ${x.kept_workers_speedup_over_1_thread.toFixed(2)}` : '';
    process.stdout.write(
      `${String(x.threads).padStart(7)}  ${secs(x.wall_median_s).padStart(13)}  ${x.speedup_over_1_thread.toFixed(2).padStart(8)}  ${x.efficiency.toFixed(2).padStart(10)}  ${secs(x.busiest_thread_cpu_median_s).padStart(18)}  ${kept.padStart(28)}\n`,
    );
  }
  if (training) {
    process.stdout.write(`\nTraining θ* (Newton per attribute), ${training.rounds} round(s); the same bits at every thread count: ${training.identical_weights_at_every_thread_count ? 'yes' : 'NO'}\n`);
    for (const x of training.rows) process.stdout.write(`${String(x.threads).padStart(7)} thread(s): ${secs(x.wall_median_s)}, speed-up ${x.speedup_over_1_thread.toFixed(2)}\n`);
  }
  if ('skipped' in field) process.stdout.write(`PyTorch reference skipped: ${field.skipped}\n`);
  else {
    process.stdout.write(`\nAgainst PyTorch ${field.torch} (float64 Gram + Cholesky inverse of the same blocks, same machine):\n`);
    for (const x of field.rows) {
      process.stdout.write(`${String(x.threads).padStart(7)} thread(s): ours ${x.ours_s === null ? 'n/a' : secs(x.ours_s)}, PyTorch ${secs(x.pytorch_s)}, ours / PyTorch ${x.ours_over_pytorch?.toFixed(2) ?? 'n/a'}\n`);
    }
    process.stdout.write(`our stored block 0 against PyTorch's float64 inverse: ${field.block0_relative_frobenius_error.toExponential(2)} (relative Frobenius)\n`);
  }
  process.stdout.write(`Written ${file}\n`);
}

interface PytorchRow {
  threads: number;
  gram_plus_cholesky_s: number;
  gram_plus_inv_s: number;
  literal_extrapolated_s: number;
}

type FieldComparison =
  | { skipped: string }
  | {
      torch: string;
      block0_relative_frobenius_error: number;
      rows: { threads: number; ours_s: number | null; pytorch_s: number; ours_over_pytorch: number | null; pytorch_literal_extrapolated_s: number }[];
      pytorch: unknown;
    };

/**
 * Runs bench/reference/pytorch_fisher.py on the exported blocks, at our thread counts up to 2 and
 * at PyTorch's default (all cores), and sets its figures beside ours (the faster of its two
 * inverses, Cholesky or LU, per thread count).
 */
function pytorchReference(folder: string, threads: number[], cores: number, runs: number, ours: { threads: number; wall_median_s: number }[]): FieldComparison {
  const python = process.env['BENCH_PYTHON'] ?? 'python3';
  if (python === 'none') return { skipped: 'BENCH_PYTHON=none' };
  const probe = spawnSync(python, ['-c', 'import torch, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `${python} cannot import torch and numpy (${(probe.error?.message ?? probe.stderr.trim().split('\n').pop() ?? '').slice(0, 200)})` };
  const script = path.resolve(process.env['BENCH_PYTORCH_SCRIPT'] ?? path.join('bench', 'reference', 'pytorch_fisher.py'));
  const out = path.join(folder, 'pytorch.json');
  const counts = [...new Set([...threads, cores])];
  log(`PyTorch reference: ${python} ${path.relative(process.cwd(), script)} at ${counts.join(', ')} thread(s)`);
  const res = spawnSync(python, [script, folder, '--threads', counts.join(','), '--runs', String(runs), '--out', out], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (res.status !== 0) return { skipped: `${path.basename(script)} failed: ${res.stderr.trim().slice(-500)}` };
  const ref = JSON.parse(fs.readFileSync(out, 'utf8')) as { torch: string; block0_relative_frobenius_error: number; cpu: PytorchRow[] };
  return {
    torch: ref.torch,
    block0_relative_frobenius_error: ref.block0_relative_frobenius_error,
    rows: ref.cpu.map((r) => {
      const mine = ours.find((x) => x.threads === r.threads)?.wall_median_s ?? null;
      const theirs = Math.min(r.gram_plus_cholesky_s, r.gram_plus_inv_s);
      return { threads: r.threads, ours_s: mine, pytorch_s: theirs, ours_over_pytorch: mine === null ? null : Number((mine / theirs).toFixed(3)), pytorch_literal_extrapolated_s: r.literal_extrapolated_s };
    }),
    pytorch: ref,
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

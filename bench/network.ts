import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { machine, mb, runSsse, secs, timing, type Timing } from './measure.js';

/**
 * `npm run bench` (second part), or alone `node dist/bench/network.js` after `npm run build`: a
 * network erasure request (`ssse erase --model mlp:128`, 1% at random, a given ε, no retraining)
 * when θ* is stored but F̂⁻¹ is not (the first request on a model: G at θ*, every block's Gram
 * matrix and factor, all written to the cache) against when both are stored (every later request:
 * each block's columns and factor read back and applied), and the first request with its block
 * factors on the main thread alone (--workers 0) against the default (worker threads beside it,
 * one per further core). The kinds of run alternate, so that the machine's load hits them alike;
 * θ̂ must come out with the same bits from all, or the benchmark fails. Then a calibrated request
 * (--calibrate-trials 4 --retrain-seeds 2, θ* and F̂⁻¹ stored: the time is the retrainings and the
 * trials' sweeps) with worker threads against the main thread alone, one run each, back to back;
 * its summary.json must be the same from both. Writes bench/results-network.json.
 *
 * Environment: BENCH_QUICK=1 one run each (a smoke test), to bench/results-network.quick.json;
 * BENCH_FASHION_DIR overrides /usr/share/datasets/fashion-mnist (absent: the bundled 3,000 images).
 */

const QUICK = process.env['BENCH_QUICK'] === '1';
const RUNS = QUICK ? 1 : 3;
const ROOT = path.resolve(__dirname, '..', '..');
const EPSILON = 0.05;

function log(message: string): void {
  process.stderr.write(`[bench:network] ${message}\n`);
}

/** A calibrated request's figures (summary.json timings_s). */
interface CalibratedRun {
  wall_s: number;
  calibrate_s: number;
  retrain_s: number;
  spread_s: number;
  max_rss_bytes: number | null;
  /** summary.json without its timings and run-specific fields: must match between thread counts. */
  result: string;
}

function calibrated(args: string[], out: string, cacheDir: string): CalibratedRun {
  const run = runSsse(ROOT, ['erase', ...args, '--out', out, '--cache-dir', cacheDir]);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as {
    timings_s: { calibrate: number; retrain: number; retrain_spread: number };
    epsilon_calibration: unknown;
    retrain_spread: unknown;
    sweep: unknown;
    parameter_sha256: unknown;
  };
  return {
    wall_s: run.seconds,
    calibrate_s: summary.timings_s.calibrate,
    retrain_s: summary.timings_s.retrain,
    spread_s: summary.timings_s.retrain_spread,
    max_rss_bytes: run.maxRss,
    result: JSON.stringify([summary.epsilon_calibration, summary.retrain_spread, summary.sweep, summary.parameter_sha256]),
  };
}

interface Run {
  wall_s: number;
  fisher_s: number;
  max_rss_bytes: number | null;
  fisher_cache: string;
  /** Threads that factored F̂⁻¹ (summary.json fisher.threads). */
  fisher_threads: number;
  theta_hat_sha256: string;
}

function erase(args: string[], out: string, cacheDir: string): Run {
  const run = runSsse(ROOT, ['erase', ...args, '--out', out, '--cache-dir', cacheDir]);
  const summary = JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8')) as {
    timings_s: { fisher: number };
    cache: { fisher: string };
    fisher: { threads: number };
    parameter_sha256: { hat: string };
  };
  return {
    wall_s: run.seconds,
    fisher_s: summary.timings_s.fisher,
    max_rss_bytes: run.maxRss,
    fisher_cache: summary.cache.fisher,
    fisher_threads: summary.fisher.threads,
    theta_hat_sha256: summary.parameter_sha256.hat,
  };
}

function summarize(runs: Run[]): { wall: Timing; fisher: Timing; max_rss_bytes: number | null } {
  return {
    wall: timing(runs.map((r) => r.wall_s)),
    fisher: timing(runs.map((r) => r.fisher_s)),
    max_rss_bytes: Math.max(...runs.map((r) => r.max_rss_bytes ?? 0)) || null,
  };
}

function main(): void {
  const fashion = process.env['BENCH_FASHION_DIR'] ?? '/usr/share/datasets/fashion-mnist';
  const [dataset, limit, what] = fs.existsSync(fashion)
    ? [fashion, 10_000, `${fashion}, first 10,000 training images`]
    : [path.join(ROOT, 'data', 'fashion-mnist-3k'), 3000, 'bundled 3,000 images'];
  const args = ['--model', 'mlp:128', '--dataset', dataset, '--limit-train', String(limit), '--remove-fraction', '0.01', '--epsilon', String(EPSILON), '--verify', 'none', '--overwrite'];
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-bench-network-'));
  try {
    log(`${what}: training θ* and storing F̂⁻¹ once`);
    const primed = path.join(tmp, 'cache');
    const prime = erase(args, path.join(tmp, 'prime'), primed);
    const starEntries = fs.readdirSync(primed).filter((f) => f.startsWith('nn-theta-star-'));
    if (starEntries.length !== 1) throw new Error(`expected one stored θ*, found ${starEntries.length}`);
    const first: Run[] = [];
    const single: Run[] = [];
    const later: Run[] = [];
    const firstRequest = (name: string, extra: string[]): Run => {
      // The first request on a model: θ* stored, F̂⁻¹ not (a cache holding θ* alone).
      const fresh = path.join(tmp, name);
      fs.mkdirSync(fresh);
      fs.copyFileSync(path.join(primed, starEntries[0] as string), path.join(fresh, starEntries[0] as string));
      try {
        return erase([...args, ...extra], path.join(tmp, `out-${name}`), fresh);
      } finally {
        fs.rmSync(fresh, { recursive: true, force: true });
      }
    };
    for (let r = 0; r < RUNS; r++) {
      first.push(firstRequest(`first${r}`, []));
      log(`run ${r + 1}: first request ${secs(first.at(-1)?.wall_s)} (Fisher ${secs(first.at(-1)?.fisher_s)}, ${first.at(-1)?.fisher_threads} threads)`);
      single.push(firstRequest(`single${r}`, ['--workers', '0']));
      log(`run ${r + 1}: first request, main thread alone ${secs(single.at(-1)?.wall_s)} (Fisher ${secs(single.at(-1)?.fisher_s)})`);
      later.push(erase(args, path.join(tmp, `later${r}`), primed));
      log(`run ${r + 1}: later request ${secs(later.at(-1)?.wall_s)} (Fisher ${secs(later.at(-1)?.fisher_s)})`);
    }
    for (const run of [...first, ...single, ...later]) {
      if (run.theta_hat_sha256 !== prime.theta_hat_sha256) throw new Error('θ̂ differs between a stored and a freshly built F̂⁻¹');
    }
    if ([...first, ...single].some((r) => r.fisher_cache !== 'miss') || later.some((r) => r.fisher_cache !== 'hit')) throw new Error('the cache did not miss and hit as arranged');
    if (single.some((r) => r.fisher_threads !== 1)) throw new Error('--workers 0 used more than one thread');
    const a = summarize(first);
    const b = summarize(later);
    const c = summarize(single);

    // A calibrated request: the retrainings of its trials and of the spread, and the trials' sweeps.
    const calArgs = [...args.filter((x, i) => !['--epsilon', '--verify'].includes(x) && !['--epsilon', '--verify'].includes(args[i - 1] ?? '')), '--calibrate-trials', '4', '--retrain-seeds', '2'];
    const calThreads = calibrated(calArgs, path.join(tmp, 'cal-threads'), primed);
    log(`calibrated request with worker threads: ${secs(calThreads.wall_s)} (calibration ${secs(calThreads.calibrate_s)}, spread ${secs(calThreads.spread_s)})`);
    const calAlone = calibrated([...calArgs, '--workers', '0'], path.join(tmp, 'cal-alone'), primed);
    log(`calibrated request, main thread alone: ${secs(calAlone.wall_s)} (calibration ${secs(calAlone.calibrate_s)}, spread ${secs(calAlone.spread_s)})`);
    if (calThreads.result !== calAlone.result) throw new Error('the calibrated request differs between worker threads and the main thread alone');
    const entryBytes = fs.readdirSync(primed).reduce((s, f) => s + (f.startsWith('nn-fisher-') ? fs.statSync(path.join(primed, f)).size : 0), 0);
    const result = {
      generated: new Date().toISOString(),
      quick: QUICK,
      machine: machine(),
      request: `ssse erase ${args.join(' ')}`.replace(dataset, what),
      definitions: {
        first: 'θ* stored, F̂⁻¹ not: G at θ*, every block factored, the cache entries written (default --workers: one per further core)',
        first_main_thread_alone: 'first, with --workers 0: every block factored on the main thread',
        later: 'θ* and F̂⁻¹ stored: each block read back (CRC-32 checked) and applied',
        wall: 'the whole ssse process, start to exit, median of the runs',
        fisher: "summary.json's timings_s.fisher, median of the runs",
      },
      stored_fisher_bytes: entryBytes,
      first: { ...a, fisher_threads: first[0]?.fisher_threads ?? null, runs: first },
      first_main_thread_alone: { ...c, runs: single },
      later: { ...b, runs: later },
      ratios: {
        wall_first_over_later: a.wall.median_s / b.wall.median_s,
        fisher_first_over_later: a.fisher.median_s / b.fisher.median_s,
        fisher_main_thread_alone_over_first: c.fisher.median_s / a.fisher.median_s,
        wall_main_thread_alone_over_first: c.wall.median_s / a.wall.median_s,
      },
      theta_hat_identical: true,
      calibrated: {
        request: `ssse erase ${calArgs.join(' ')}`.replace(dataset, what),
        definition: 'θ* and F̂⁻¹ stored; one run each, worker threads first, then --workers 0; summary.json (calibration, spread, sweep, parameters) identical',
        threads: calThreads,
        main_thread_alone: calAlone,
        ratios: {
          calibrate_alone_over_threads: calAlone.calibrate_s / calThreads.calibrate_s,
          spread_alone_over_threads: calAlone.spread_s / calThreads.spread_s,
          wall_alone_over_threads: calAlone.wall_s / calThreads.wall_s,
        },
      },
    };
    const file = path.join(ROOT, 'bench', QUICK ? 'results-network.quick.json' : 'results-network.json');
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      [
        '',
        `network erasure request (${what}, mlp:128, 1% at random, ε = ${EPSILON}, --verify none), ${RUNS} run(s) each, alternating:`,
        `  first request (builds and stores F̂⁻¹):  wall ${secs(a.wall.median_s)}, Fisher ${secs(a.fisher.median_s)} on ${first[0]?.fisher_threads ?? '?'} threads, peak RSS ${mb(a.max_rss_bytes)}`,
        `  the same, main thread alone (--workers 0): wall ${secs(c.wall.median_s)}, Fisher ${secs(c.fisher.median_s)}, peak RSS ${mb(c.max_rss_bytes)}`,
        `  later request (reads F̂⁻¹):              wall ${secs(b.wall.median_s)}, Fisher ${secs(b.fisher.median_s)}, peak RSS ${mb(b.max_rss_bytes)}`,
        `  ratio first / later: wall ${result.ratios.wall_first_over_later.toFixed(1)}×, Fisher ${result.ratios.fisher_first_over_later.toFixed(1)}×; stored F̂⁻¹ ${mb(entryBytes)}; θ̂ identical`,
        `  ratio main thread alone / threads: Fisher ${result.ratios.fisher_main_thread_alone_over_first.toFixed(2)}×, wall ${result.ratios.wall_main_thread_alone_over_first.toFixed(2)}×`,
        `calibrated request (--calibrate-trials 4 --retrain-seeds 2, θ* and F̂⁻¹ stored), one run each:`,
        `  worker threads:      wall ${secs(calThreads.wall_s)}, calibration ${secs(calThreads.calibrate_s)}, retrain ${secs(calThreads.retrain_s)}, spread ${secs(calThreads.spread_s)}, peak RSS ${mb(calThreads.max_rss_bytes)}`,
        `  main thread alone:   wall ${secs(calAlone.wall_s)}, calibration ${secs(calAlone.calibrate_s)}, retrain ${secs(calAlone.retrain_s)}, spread ${secs(calAlone.spread_s)}, peak RSS ${mb(calAlone.max_rss_bytes)}`,
        `  ratio alone / threads: calibration ${result.calibrated.ratios.calibrate_alone_over_threads.toFixed(2)}×, spread ${result.calibrated.ratios.spread_alone_over_threads.toFixed(2)}×, wall ${result.calibrated.ratios.wall_alone_over_threads.toFixed(2)}×; summary.json identical`,
        `Written ${file}`,
        '',
      ].join('\n'),
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();

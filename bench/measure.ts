import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Timing and memory helpers for the benchmark (bench/run.ts). */

export interface Timing {
  /** Median of the runs, seconds. */
  median_s: number;
  runs_s: number[];
  /**
   * CPU seconds the process used (all threads, user + system), median over the runs, and that
   * divided by the wall time: the cores this phase actually got. On a shared machine a phase
   * that could use two cores may get fewer; this shows it.
   */
  cpu_median_s?: number;
  cores_used?: number;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function timing(runs: number[], cpu?: number[]): Timing {
  const t: Timing = { median_s: median(runs), runs_s: runs.map((r) => Number(r.toPrecision(4))) };
  if (cpu && cpu.length === runs.length) {
    t.cpu_median_s = Number(median(cpu).toPrecision(4));
    t.cores_used = Number((cpu.reduce((a, b) => a + b, 0) / runs.reduce((a, b) => a + b, 0)).toFixed(2));
  }
  return t;
}

/** CPU seconds used by this process (all threads) since `since` (a process.cpuUsage() value). */
export function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

export function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Peak resident memory of a phase, Linux: writing 5 to /proc/self/clear_refs resets the
 * process's high-water mark (VmHWM) to its current RSS, so VmHWM read afterwards is the phase's
 * peak. Worker threads live in this process, so their memory is included. Null where the files
 * are missing (not Linux) or not writable.
 */
export interface PeakRss {
  before_bytes: number;
  peak_bytes: number | null;
  /** peak − before: what the phase added at its worst. */
  increase_bytes: number | null;
}

function vmHwmBytes(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function resetPeak(): boolean {
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

export async function withPeakRss<T>(f: () => Promise<T> | T): Promise<{ value: T; rss: PeakRss }> {
  gc();
  const before = process.memoryUsage().rss;
  const reset = resetPeak();
  const value = await f();
  const peak = reset ? vmHwmBytes() : null;
  return { value, rss: { before_bytes: before, peak_bytes: peak, increase_bytes: peak === null ? null : Math.max(0, peak - before) } };
}

/** Runs f `runs` times; returns the timing and the worst peak increase over the runs. */
export async function measure(runs: number, f: (run: number) => Promise<unknown> | unknown): Promise<Timing & { rss: PeakRss }> {
  const times: number[] = [];
  const cpu: number[] = [];
  let worst: PeakRss | null = null;
  for (let r = 0; r < runs; r++) {
    const { rss, value } = await withPeakRss(async () => {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await f(r);
      return [(performance.now() - t0) / 1e3, cpuSeconds(c0)] as const;
    });
    times.push(value[0]);
    cpu.push(value[1]);
    if (!worst || (rss.increase_bytes ?? 0) > (worst.increase_bytes ?? 0)) worst = rss;
  }
  return { ...timing(times, cpu), rss: worst as PeakRss };
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    logical_cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    total_memory_bytes: os.totalmem(),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    load_average_at_start: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

export function mb(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? 'n/a' : `${(bytes / 1e6).toFixed(1)} MB`;
}

export function secs(s: number | null | undefined): string {
  if (s === null || s === undefined) return 'n/a';
  if (s < 0.01) return `${(s * 1e3).toFixed(2)} ms`;
  if (s < 1) return `${(s * 1e3).toFixed(0)} ms`;
  return `${s.toFixed(2)} s`;
}

/**
 * CPU seconds per thread of this process (Linux: /proc/self/task/<tid>/stat, utime + stime in
 * clock ticks of 1/100 s). Worker threads end when a build ends, so a sampler keeps the last value
 * seen for every thread while the phase runs (it fires while the main thread awaits the workers).
 */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

export class ThreadCpuSampler {
  private readonly start = threadTicks();
  private readonly last = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(intervalMs = 50) {
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    for (const [tid, ticks] of threadTicks()) this.last.set(tid, ticks);
  }

  /** Stops; returns CPU seconds per thread that ran during the phase, largest first. */
  stop(): number[] {
    clearInterval(this.timer);
    this.sample();
    const out: number[] = [];
    for (const [tid, ticks] of this.last) {
      const used = (ticks - (this.start.get(tid) ?? 0)) / 100;
      if (used > 0) out.push(used);
    }
    return out.sort((a, b) => b - a);
  }
}

/**
 * Runs the ssse command line with `args` in a fresh process (dist/bench/e2eChild.js under `root`):
 * its wall time and peak resident memory, which the child prints on stderr because the parent
 * cannot read it once the child has exited. Throws with the child's stderr when it fails.
 */
export function runSsse(root: string, args: string[]): { seconds: number; maxRss: number | null } {
  const child = path.join(root, 'dist', 'bench', 'e2eChild.js');
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [child, ...args], { encoding: 'utf8', cwd: root, maxBuffer: 64e6 });
  const seconds = (performance.now() - t0) / 1e3;
  if (r.status !== 0) throw new Error(`ssse ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const m = /BENCH_MAXRSS_KB=(\d+)/.exec(r.stderr);
  return { seconds, maxRss: m ? Number(m[1]) * 1024 : null };
}

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { median } from '../bench/measure.js';
import { initBackend } from '../main/engine/backend.js';
import { loadDataset } from '../main/engine/data/dataset.js';
import { trainLinear } from '../main/engine/linear/train.js';

/**
 * The Fisher build's fresh-process peak memory, without the whole benchmark: runs
 * dist/bench/fisherChild.js (the benchmark's own child, same arguments as bench/run.ts gives it)
 * or dist/bench/probeFisherMemory.js, several times per configuration, and prints the medians.
 *
 *   npx tsx scripts/fisher-memory.ts prepare DIR [DATASET] [ROWS]   θ*, features and labels files (as bench/run.ts writes them)
 *   npx tsx scripts/fisher-memory.ts runs DIR [RUNS] [CONFIG…]      CONFIG: blocks:workers:mode[:builds], e.g. 1:0:streamed 10:2:memory 10:0:streamed:2
 *   npx tsx scripts/fisher-memory.ts probe DIR [BLOCKS]             one probe run (bench/probeFisherMemory.ts)
 *
 * Each line gives the median peak increase and the benchmark's memory ratio, (increase + data) /
 * (F̂⁻¹ storage + data). `prepare DIR DATASET 60000` gives the full Fashion-MNIST training set,
 * where a worker's fixed cost (its isolate, modules and backend, about 26 MB idle) weighs less.
 *
 * Build first (npm run build): the children run from dist/, as in the benchmark, or from the tree
 * FISHER_DIST names (a copy of an earlier build, to compare before and after).
 */

const ROOT = path.resolve(__dirname, '..');
/** The compiled tree to run (FISHER_DIST, default dist/): another build can be compared side by side. */
const DIST = process.env['FISHER_DIST'] ?? path.join(ROOT, 'dist');
const DAMPING_NOTE = 'fisherChild uses damping 1e-4, as the benchmark';

interface Meta {
  n: number;
  d: number;
  A: number;
}

async function prepare(dir: string, dataset: string, rows: number): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await initBackend('wasm');
  const ds = loadDataset(dataset, { limitTrain: rows });
  const { d, A } = ds;
  const n = ds.train.n;
  const { features, labels } = ds.train;
  const star = (await trainLinear(features, labels, n, d, A, { l2: 1e-4, seed: 0 })).model;
  const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  fs.writeFileSync(path.join(dir, 'theta.bin'), bytes(star.weights));
  fs.writeFileSync(path.join(dir, 'features.bin'), bytes(features));
  fs.writeFileSync(path.join(dir, 'labels.bin'), labels);
  const labels1 = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels1[i] = labels[i * A] as number;
  fs.writeFileSync(path.join(dir, 'labels1.bin'), labels1);
  fs.writeFileSync(path.join(dir, 'theta1.bin'), bytes(star.weights.subarray(0, d)));
  fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ n, d, A } satisfies Meta));
  process.stdout.write(`wrote ${dir}: n=${n} d=${d} A=${A}\n`);
}

function childArgs(dir: string, meta: Meta, blocks: number, workers: number, mode: string, builds = 1): string[] {
  const one = blocks === 1;
  return [
    path.join(dir, 'features.bin'),
    path.join(dir, one ? 'labels1.bin' : 'labels.bin'),
    String(meta.n),
    String(meta.d),
    String(one ? 1 : meta.A),
    'wasm',
    String(workers),
    path.join(dir, one ? 'theta1.bin' : 'theta.bin'),
    mode,
    String(builds),
  ];
}

function runs(dir: string, count: number, configs: string[]): void {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
  const child = path.join(DIST, 'bench', 'fisherChild.js');
  const list = configs.length > 0 ? configs : ['1:0:streamed', '1:0:memory', '10:0:memory', '10:0:streamed', '10:2:memory', '10:2:streamed'];
  const results = new Map<string, { inc: number[]; wall: number[]; cpu: number[]; before: number[]; ratio: number[] }>();
  // Interleaved: one run of every configuration per round, so that a changing load affects all alike.
  for (let r = 0; r < count; r++) {
    for (const config of list) {
      const [blocks, workers, mode, builds] = config.split(':');
      const res = spawnSync(process.execPath, [child, ...childArgs(dir, meta, Number(blocks), Number(workers), mode ?? 'memory', Number(builds ?? 1))], { encoding: 'utf8', cwd: ROOT });
      if (res.status !== 0) throw new Error(`fisherChild ${config} failed: ${res.stderr}`);
      const out = JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as { increase_bytes: number; wall_s: number; cpu_s: number; before_bytes: number; data_bytes: number };
      const entry = results.get(config) ?? { inc: [], wall: [], cpu: [], before: [], ratio: [] };
      // The benchmark's ratio (bench/run.ts): (the build's peak increase + the data) / (F̂⁻¹ storage + the data).
      const storage = (Number(blocks) === 1 ? 1 : meta.A) * meta.d * meta.d * 4;
      entry.ratio.push((out.increase_bytes + out.data_bytes) / (storage + out.data_bytes));
      entry.inc.push(out.increase_bytes / 1e6);
      entry.wall.push(out.wall_s);
      entry.cpu.push(out.cpu_s);
      entry.before.push(out.before_bytes / 1e6);
      results.set(config, entry);
    }
  }
  process.stdout.write(`${DAMPING_NOTE}; MB = 1e6 bytes\n`);
  for (const [config, e] of results) {
    process.stdout.write(
      `${config.padEnd(14)} increase median ${median(e.inc).toFixed(1)} MB [${e.inc.map((x) => x.toFixed(1)).join(', ')}]` +
        `  (increase + data) / (storage + data) ${median(e.ratio).toFixed(2)}  before ${median(e.before).toFixed(1)} MB  wall ${median(e.wall).toFixed(2)} s [${e.wall.map((x) => x.toFixed(2)).join(', ')}]  CPU ${median(e.cpu).toFixed(2)} s\n`,
    );
  }
}

function probe(dir: string, blocks: number, extra: string[]): void {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
  const child = path.join(DIST, 'bench', 'probeFisherMemory.js');
  const [features, labels, n, d, A, , , theta] = childArgs(dir, meta, blocks, 0, 'memory');
  // PROBE_NODE_FLAGS: V8 or node flags for the probe only (diagnostics such as --max-semi-space-size=1).
  const flags = (process.env['PROBE_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
  const res = spawnSync(process.execPath, [...flags, child, features as string, labels as string, n as string, d as string, A as string, theta as string, ...extra], {
    encoding: 'utf8',
    cwd: ROOT,
  });
  process.stdout.write(res.stdout);
  process.stderr.write(res.stderr);
  if (res.status !== 0) process.exitCode = 1;
}

async function main(): Promise<void> {
  const [command, dir, ...rest] = process.argv.slice(2);
  if (!dir) throw new Error('usage: fisher-memory.ts prepare|runs|probe DIR …');
  if (command === 'prepare') await prepare(dir, rest[0] ?? '/usr/share/datasets/fashion-mnist', Number(rest[1] ?? 6000));
  else if (command === 'runs') runs(dir, Number(rest[0] ?? 3), rest.slice(1));
  else if (command === 'probe') probe(dir, Number(rest[0] ?? 1), rest.slice(1));
  else throw new Error(`unknown command ${command}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../main/engine/backend.js';
import { Workspace } from '../main/engine/linalg/workspace.js';
import { collectGarbage, collectYoungGarbage } from '../main/engine/memory.js';
import { fisherWeights } from '../main/engine/linear/fisher.js';
import { fastFisherBlock } from '../main/engine/linear/fisherFast.js';

/**
 * What a Fisher build's peak memory is made of (issue 8). Not part of `npm run bench`: a
 * diagnostic, run through scripts/fisher-memory.ts (`probe`), which gives it the benchmark's input
 * files. It sets up exactly as bench/fisherChild.ts does (fresh process, wasm backend initialised,
 * features in shared memory, θ* loaded, a full collection), then builds the blocks in-process as
 * fisher.ts does (one Workspace, one reused output block, a young-generation collection after each block), and
 * samples before every backend product and after every block:
 * - resident memory (process.memoryUsage().rss) and, at each new high, /proc/self/smaps split
 *   into the wasm backend's linear memory (the one anonymous mapping of several GB V8 reserves
 *   for it), the malloc heap ([heap]), other anonymous mappings (V8's heap spaces, large
 *   ArrayBuffers that malloc placed in their own mappings, thread stacks) and files (code);
 * - V8's heap spaces (committed sizes), external and ArrayBuffer bytes;
 * - the wasm heap's size (its memory.grow high-water, which tfjs never gives back).
 * At the end it prints the state at the highest sample against the baseline, and VmHWM (the true
 * peak, which falls between samples) against the baseline, as fisherChild measures it.
 *
 * Arguments: FEATURES LABELS n d A THETA [--pregrow-wasm MB] [--blocks-twice] [--markers] [--wasm-trace]
 * --pregrow-wasm grows the wasm heap (and touches it) before the baseline, to show how much of
 * the increase is the heap's first growth; --wasm-trace prints the wasm heap's resident size
 * wherever a sample finds it grown (slow: it reads smaps at every product).
 */

interface Smaps {
  /** The wasm backend's linear memory: the accessible part of the reservation V8 makes for it (guard regions around it). */
  wasm: number;
  /** malloc's main heap ([heap], brk). */
  mallocHeap: number;
  /** malloc's per-thread arenas (64 MiB reservations, used by V8's background compile and GC threads). */
  arenas: number;
  /** Executable anonymous mappings: JIT code (JavaScript and wasm). */
  code: number;
  /** Other anonymous mappings: V8's heap pages, ArrayBuffers large enough for malloc to map them on their own, stacks. */
  otherAnon: number;
  files: number;
  total: number;
  /** Every anonymous mapping with its class, size and resident bytes, by start address. */
  maps: Map<string, { kind: string; size: number; rss: number }>;
}

function smaps(wasmBytes = wasmHeapBytes()): Smaps {
  const out: Smaps = { wasm: 0, mallocHeap: 0, arenas: 0, code: 0, otherAnon: 0, files: 0, total: 0, maps: new Map() };
  const text = fs.readFileSync('/proc/self/smaps', 'utf8');
  const list: { start: bigint; end: bigint; perms: string; name: string; rss: number }[] = [];
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (header) {
      list.push({ start: BigInt(`0x${header[1]}`), end: BigInt(`0x${header[2]}`), perms: header[3] as string, name: header[4] ?? '', rss: 0 });
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    const last = list[list.length - 1];
    if (m && last) last.rss = Number(m[1]) * 1024;
  }
  const GiB = 2n ** 30n;
  const ARENA = 2n ** 26n;
  list.forEach((e, i) => {
    const prev = list[i - 1];
    const next = list[i + 1];
    const size = e.end - e.start;
    const guard = (x: typeof e | undefined): x is typeof e => x !== undefined && x.name === '' && x.perms.startsWith('---');
    let kind: string;
    if (e.name === '[heap]') kind = 'mallocHeap';
    else if (e.name !== '' && !e.name.startsWith('[')) kind = 'files';
    else if (e.name !== '') kind = 'otherAnon';
    else if (e.perms.includes('x')) kind = 'code';
    else if (e.perms.startsWith('rw') && size === BigInt(wasmBytes) && ((guard(prev) && prev.end === e.start && prev.end - prev.start >= GiB) || (guard(next) && next.start === e.end && next.end - next.start >= GiB)))
      kind = 'wasm';
    else if (e.perms.startsWith('rw') && e.start % ARENA === 0n && (size === ARENA || (guard(next) && next.start === e.end && next.end - e.start === ARENA))) kind = 'arenas';
    else kind = 'otherAnon';
    out.total += e.rss;
    const totals = out as unknown as Record<string, number>;
    totals[kind] = (totals[kind] ?? 0) + e.rss;
    if (kind !== 'files') out.maps.set(e.start.toString(16), { kind, size: Number(size), rss: e.rss });
  });
  return out;
}

function vmHwm(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

function wasmHeapBytes(): number {
  const backend = tf.backend();
  if (!(backend instanceof BackendWasm)) return 0;
  const heap = (backend.wasm as unknown as { HEAPU8?: Uint8Array }).HEAPU8;
  return heap ? heap.buffer.byteLength : 0;
}

interface Sample {
  where: string;
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  spaces: Record<string, number>;
  wasmHeap: number;
  smaps?: Smaps;
}

function sample(where: string, withSmaps: boolean): Sample {
  const mu = process.memoryUsage();
  const spaces: Record<string, number> = {};
  for (const s of v8.getHeapSpaceStatistics()) if (s.space_size > 0) spaces[s.space_name] = s.space_size;
  return {
    where,
    rss: mu.rss,
    heapTotal: mu.heapTotal,
    heapUsed: mu.heapUsed,
    external: mu.external,
    arrayBuffers: mu.arrayBuffers,
    spaces,
    wasmHeap: wasmHeapBytes(),
    ...(withSmaps ? { smaps: smaps() } : {}),
  };
}

const MB = (b: number): string => `${(b / 1e6).toFixed(1)}`;

function diff(label: string, s: Sample, base: Sample): void {
  const lines = [
    `${label} (${s.where}): rss ${MB(s.rss)} MB, +${MB(s.rss - base.rss)} over the baseline`,
    `  V8 heap committed (heapTotal) +${MB(s.heapTotal - base.heapTotal)} (used +${MB(s.heapUsed - base.heapUsed)}); spaces: ` +
      Object.keys({ ...s.spaces, ...base.spaces })
        .map((k) => `${k} ${MB(s.spaces[k] ?? 0)} (${(s.spaces[k] ?? 0) - (base.spaces[k] ?? 0) >= 0 ? '+' : ''}${MB((s.spaces[k] ?? 0) - (base.spaces[k] ?? 0))})`)
        .join(', '),
    `  external +${MB(s.external - base.external)}, arrayBuffers +${MB(s.arrayBuffers - base.arrayBuffers)} (live ArrayBuffer backing stores, malloc'd)`,
    `  wasm heap size ${MB(s.wasmHeap)} MB (+${MB(s.wasmHeap - base.wasmHeap)})`,
  ];
  if (s.smaps && base.smaps) {
    const a = s.smaps;
    const b = base.smaps;
    const kinds = ['wasm', 'mallocHeap', 'arenas', 'code', 'otherAnon', 'files'] as const;
    lines.push(`  smaps resident, change (now): ${kinds.map((k) => `${k} +${MB(a[k] - b[k])} (${MB(a[k])})`).join(', ')}; total +${MB(a.total - b.total)}`);
    const grown: string[] = [];
    let small = 0;
    for (const [start, m] of a.maps) {
      const g = m.rss - (b.maps.get(start)?.rss ?? 0);
      if (g >= 1 << 20) grown.push(`${m.kind} ${MB(m.size)}${b.maps.has(start) ? '' : ' new'}:+${MB(g)}`);
      else if (g > 0 && m.kind === 'otherAnon') small += g;
    }
    lines.push(`  mappings that grew ≥ 1 MiB (kind size:+rss MB): ${grown.join(', ') || 'none'}; other anonymous growth below 1 MiB each: +${MB(small)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function read(file: string): ArrayBuffer {
  const raw = fs.readFileSync(file);
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const [featuresFile, labelsFile, nArg, dArg, aArg, thetaFile] = args;
  if (!featuresFile || !labelsFile || !nArg || !dArg || !aArg || !thetaFile) throw new Error('usage: probeFisherMemory FEATURES LABELS n d A THETA [--pregrow-wasm MB] [--blocks-twice]');
  const n = Number(nArg);
  const d = Number(dArg);
  const A = Number(aArg);
  const pregrow = args.includes('--pregrow-wasm') ? Number(args[args.indexOf('--pregrow-wasm') + 1]) * 1e6 : 0;
  const passes = args.includes('--blocks-twice') ? 2 : 1;
  // --markers: a line on stdout at each block's start and end, to place --trace-gc's lines.
  const marker = args.includes('--markers') ? (text: string): void => void fs.writeSync(1, `-- ${text}\n`) : (): void => undefined;
  await initBackend('wasm');
  const raw = new Float32Array(read(featuresFile));
  const features = new Float32Array(new SharedArrayBuffer(raw.byteLength));
  features.set(raw);
  const labels = new Uint8Array(read(labelsFile));
  const model = { d, A, weights: new Float64Array(read(thetaFile)) };
  if (pregrow > 0) {
    // One tensor as large as asked, filled (so its pages are touched), then freed: the wasm heap
    // keeps the size and the pages.
    const t = tf.fill([Math.ceil(pregrow / 4)], 1);
    t.dispose();
  }
  collectGarbage();
  const base = sample('baseline', true);
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const hwmBase = vmHwm();
  let best = base;
  let smapsAt = base.rss;
  // --wasm-trace: the wasm heap's resident size at every sample, printed where it grew.
  const wasmTrace = args.includes('--wasm-trace');
  let wasmResident = base.smaps?.wasm ?? 0;
  const take = (where: string): void => {
    if (wasmTrace) {
      const now = smaps().wasm;
      if (now > wasmResident) process.stdout.write(`wasm heap resident ${MB(now)} MB (+${MB(now - wasmResident)}) at ${where}\n`);
      wasmResident = Math.max(wasmResident, now);
    }
    const rss = process.memoryUsage().rss;
    if (rss <= best.rss) return;
    const withSmaps = rss > smapsAt + (2 << 20);
    best = sample(where, withSmaps);
    if (withSmaps) smapsAt = rss;
  };
  const t0 = performance.now();
  const weights = fisherWeights(model, features, labels, 'empirical');
  take('weights');
  const workspace = new Workspace();
  const out = new Float32Array(d * d);
  const column = new Float64Array(n);
  const afterBlock: Sample[] = [];
  let products = 0;
  const secondPass: string[] = [];
  for (let pass = 0; pass < passes; pass++) {
    if (pass === 1) {
      // The second build's own peak, over what the first one left: as fisherChild measures the
      // first (a full collection, then the high-water mark reset).
      collectGarbage();
      const start = process.memoryUsage().rss;
      fs.writeFileSync('/proc/self/clear_refs', '5');
      secondPass.push(`${MB(start)}`);
    }
    for (let a = 0; a < A; a++) {
      for (let i = 0; i < n; i++) column[i] = weights[i * A + a] as number;
      let inBlock = 0;
      marker(`pass ${pass} block ${a} starts`);
      fastFisherBlock(features, n, d, column, n, 1e-4, {
        workspace,
        out,
        onMatMul: () => {
          products++;
          take(`pass ${pass} block ${a} product ${inBlock++}`);
        },
      });
      take(`pass ${pass} block ${a} end`);
      marker(`pass ${pass} block ${a} ends`);
      collectYoungGarbage(); // as every block of a build ends (fisherBlockTask.ts, fisher.ts)
      afterBlock.push(sample(`after pass ${pass} block ${a} and its collection`, true));
    }
  }
  const wall = (performance.now() - t0) / 1e3;
  const hwm = vmHwm();
  if (secondPass.length > 0) {
    process.stdout.write(`second pass (the same blocks again, same process): peak +${MB(hwm - Number(secondPass[0]) * 1e6)} MB over its start (${secondPass[0]} MB)\n`);
  }
  if (!best.smaps) best = { ...best, smaps: smaps() };
  process.stdout.write(`n=${n} d=${d} A=${A} passes=${passes} products=${products} wall ${wall.toFixed(2)} s; pregrown wasm ${MB(pregrow)} MB\n`);
  process.stdout.write(`workspace holds ${MB(workspace.bytes)} MB; out ${MB(out.byteLength)} MB; weights ${MB(weights.byteLength)} MB\n`);
  diff('baseline', base, base);
  diff('highest sample', best, base);
  for (const s of afterBlock.slice(0, 2)) diff('after block', s, base);
  if (afterBlock.length > 2) diff('after last block', afterBlock[afterBlock.length - 1] as Sample, base);
  if (passes === 1) process.stdout.write(`VmHWM − baseline rss (what fisherChild reports): +${MB(hwm - base.rss)} MB (clear_refs reset at ${MB(hwmBase)})\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

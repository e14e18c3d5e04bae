import * as fs from 'node:fs';
import { initBackend, type BackendName } from '../main/engine/backend.js';
import * as os from 'node:os';
import * as path from 'node:path';
import { ArtefactCache } from '../main/engine/cache.js';
import { buildFisherInverse, buildFisherIntoCache } from '../main/engine/linear/fisherBuild.js';
import { readFullyAt } from '../main/engine/hash.js';
import { collectGarbage } from '../main/engine/memory.js';
import { cpuSeconds, withPeakRss } from './measure.js';

/**
 * One Fisher build in a fresh process, for its peak memory: in the benchmark's own process the
 * memory left behind by earlier phases (training's buffers, the backend's grown heap, the IDX
 * decompression) would be reused and hide what a build needs. The data come as raw files read
 * in one piece each, so the process holds the runtime, the backend, the data and θ* and nothing
 * else when the build starts. Prints one JSON line: resident size before, the build's peak, wall
 * and CPU seconds.
 * Arguments: features file (n×d float32), labels file (n×A uint8), n, d, A, backend, workers,
 * θ* file (A×d float64), mode: 'memory' (F̂⁻¹ built in memory and kept there) or 'streamed' (each
 * block written to an ArtefactCache entry as it is finished, as `ssse erase` does on a cache miss;
 * the peak is that of the build, before the entry is read back for use); builds (default 1): with 2,
 * one build of the same kind runs first, unmeasured, and its result is dropped, so the figure is
 * that of a later build in a process that has built before (its code compiled, its allocators and
 * the backend's heap already grown), beside the fresh-process figure of builds = 1.
 */
/**
 * A file read straight into a buffer of its size (shared where asked): nothing is left for the
 * collector. A readFileSync Buffer copied out and dropped was freed during the measured build (V8
 * releases array buffers' memory after a collection, in the background), so the resident size
 * fell while the build allocated and hid up to the features' size of its peak (at 60,000 images,
 * all of it: the build measured +0 MB).
 */
function read(file: string, shared = false): ArrayBuffer | SharedArrayBuffer {
  const size = fs.statSync(file).size;
  const buffer = shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
  const fd = fs.openSync(file, 'r');
  try {
    if (!readFullyAt(fd, new Uint8Array(buffer), 0)) throw new Error(`${file}: shorter than its size`);
  } finally {
    fs.closeSync(fd);
  }
  return buffer;
}

async function main(): Promise<void> {
  const [featuresFile, labelsFile, n, d, A, backend, workers, thetaFile, mode = 'memory', buildsArg = '1'] = process.argv.slice(2);
  const builds = Number(buildsArg);
  if (!featuresFile || !labelsFile || !n || !d || !A || !backend || !workers || !thetaFile || (mode !== 'memory' && mode !== 'streamed') || (builds !== 1 && builds !== 2)) {
    throw new Error('usage: fisherChild FEATURES LABELS n d A BACKEND WORKERS THETA [memory|streamed] [1|2]');
  }
  await initBackend(backend as BackendName);
  // In shared memory, as the dataset loader (data/dataset.ts) hands features to the engine.
  const features = new Float32Array(read(featuresFile, true));
  const labels = new Uint8Array(read(labelsFile));
  const model = { d: Number(d), A: Number(A), weights: new Float64Array(read(thetaFile)) };
  const options = { damping: 1e-4, workers: Number(workers) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-fisher-child-'));
  const build = async (key: string): Promise<unknown> =>
    mode === 'memory'
      ? buildFisherInverse(model, features, labels, Number(n), options)
      : // The build's own peak: everything up to the committed entry (reading it back for use is
        // a separate step that holds exactly the storage).
        buildFisherIntoCache(new ArtefactCache(dir), key, model, features, labels, Number(n), { ...options, readBack: false });
  let rss;
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  try {
    if (builds === 2) await build('earlier'); // result dropped; withPeakRss collects it first
    collectGarbage();
    c0 = process.cpuUsage();
    t0 = performance.now();
    ({ rss } = await withPeakRss(() => build('bench')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const wall = (performance.now() - t0) / 1e3;
  process.stdout.write(`${JSON.stringify({ ...rss, wall_s: wall, cpu_s: cpuSeconds(c0), data_bytes: features.byteLength + labels.byteLength })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

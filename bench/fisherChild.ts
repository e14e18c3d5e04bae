import * as fs from 'node:fs';
import { initBackend, type BackendName } from '../main/engine/backend.js';
import { buildFisherInverse } from '../main/engine/linear/fisherBuild.js';
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
 * θ* file (A×d float64).
 */
function read(file: string): ArrayBuffer {
  const raw = fs.readFileSync(file);
  return raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) as ArrayBuffer;
}

async function main(): Promise<void> {
  const [featuresFile, labelsFile, n, d, A, backend, workers, thetaFile] = process.argv.slice(2);
  if (!featuresFile || !labelsFile || !n || !d || !A || !backend || !workers || !thetaFile) {
    throw new Error('usage: fisherChild FEATURES LABELS n d A BACKEND WORKERS THETA');
  }
  await initBackend(backend as BackendName);
  const features = new Float32Array(read(featuresFile));
  const labels = new Uint8Array(read(labelsFile));
  const model = { d: Number(d), A: Number(A), weights: new Float64Array(read(thetaFile)) };
  collectGarbage();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { rss } = await withPeakRss(() => buildFisherInverse(model, features, labels, Number(n), { damping: 1e-4, workers: Number(workers) }));
  const wall = (performance.now() - t0) / 1e3;
  process.stdout.write(`${JSON.stringify({ ...rss, wall_s: wall, cpu_s: cpuSeconds(c0), data_bytes: features.byteLength + labels.byteLength })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

import * as fs from 'node:fs';
import { initBackend, type BackendName } from '../main/engine/backend.js';
import { loadDataset } from '../main/engine/data/dataset.js';
import { buildFisherInverse } from '../main/engine/linear/fisherBuild.js';
import { cpuSeconds, gc, withPeakRss } from './measure.js';

/**
 * One Fisher build in a fresh process, for its peak memory: in the benchmark's own process the
 * memory left behind by earlier phases (training's buffers, the backend's grown heap) would be
 * reused and hide what a build needs. Prints one JSON line: the resident size with data, backend
 * and θ* loaded, the build's peak, wall and CPU seconds.
 * Arguments: dataset dir, rows, backend, workers, θ* file (A×d float64, raw).
 */
async function main(): Promise<void> {
  const [dir, rows, backend, workers, thetaFile] = process.argv.slice(2);
  if (!dir || !rows || !backend || !workers || !thetaFile) throw new Error('usage: fisherChild DIR ROWS BACKEND WORKERS THETA_FILE');
  await initBackend(backend as BackendName);
  const ds = loadDataset(dir, { limitTrain: Number(rows) });
  const raw = fs.readFileSync(thetaFile);
  const weights = new Float64Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const model = { d: ds.d, A: ds.A, weights };
  gc();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { rss } = await withPeakRss(() => buildFisherInverse(model, ds.train.features, ds.train.labels, ds.train.n, { damping: 1e-4, workers: Number(workers) }));
  const wall = (performance.now() - t0) / 1e3;
  process.stdout.write(`${JSON.stringify({ ...rss, wall_s: wall, cpu_s: cpuSeconds(c0), data_bytes: ds.train.features.byteLength + ds.train.labels.byteLength })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});

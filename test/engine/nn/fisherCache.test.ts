import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { ArtefactCache } from '../../../main/engine/cache.js';
import { applyBlockFactor, factorBlock, solveBlock, solveBlockFisher } from '../../../main/engine/nn/blockFisher.js';
import { fisherCacheKeys, solveBlockFisherCached, SPARE_DISK_BYTES, type CachedSolveOptions, type FisherColumnsIdentity } from '../../../main/engine/nn/fisherCache.js';
import type { FisherRows } from '../../../main/engine/nn/gradients.js';
import type { ProgressEvent } from '../../../main/engine/progress.js';
import { gaussian } from '../../helpers/reference.js';

before(async () => {
  await initBackend('wasm');
});

// N = 7 rows over p = 23 parameters in blocks of 10: two Woodbury blocks (7 < 10) and a last
// block of 3, where N ≥ b and 'auto' takes Cholesky; a permuted block order.
const N = 7;
const P = 23;
const B = 10;

function rows(seed: number): FisherRows {
  const g = gaussian(seed);
  return { N, p: P, m: 1, rows: Float32Array.from({ length: N * P }, () => 0.3 * g()) };
}

function vectors(seed: number): Float64Array[] {
  const g = gaussian(seed);
  return [0, 1].map(() => Float64Array.from({ length: P }, () => g()));
}

const ORDER = Int32Array.from({ length: P }, (_, i) => (i * 5) % P); // 5 and 23 are coprime: a permutation

const IDENTITY: FisherColumnsIdentity = {
  engineVersion: 'test',
  thetaStarSha256: 'a'.repeat(64),
  fingerprint: 'f',
  source: { spec: 'mlp:1' },
  fisherBatch: 1,
  seed: 0,
  N,
  p: P,
  blockSize: B,
  blockOrder: 'unit-major',
  backend: 'wasm',
};

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-fisher-cache-'));
}

function options(cache: ArtefactCache | null, G: FisherRows, damping: number, extra: Partial<CachedSolveOptions> = {}): CachedSolveOptions & { rowsCalls: () => number } {
  let calls = 0;
  return {
    cache,
    keys: fisherCacheKeys(IDENTITY, damping, 'auto'),
    N,
    p: P,
    blockSize: B,
    damping,
    method: 'auto',
    order: ORDER,
    rows: () => {
      calls++;
      return Promise.resolve(G);
    },
    rowsCalls: () => calls,
    ...extra,
  };
}

function bitsEqual(a: Float64Array[], b: Float64Array[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((x, i) => assert.deepEqual(Buffer.from(x.buffer, x.byteOffset, x.byteLength), Buffer.from((b[i] as Float64Array).buffer, (b[i] as Float64Array).byteOffset, (b[i] as Float64Array).byteLength), `${what}: vector ${i}`));
}

test('a block factored then applied gives solveBlock’s bits; a factor of the wrong size is refused by name', () => {
  const g = rows(1);
  const gb = g.rows.subarray(0, N * 3); // N×3 taken as a block of 3 (Cholesky) …
  const v = [Float64Array.from([1, -2, 0.5])];
  const [factor] = factorBlock(Float32Array.from(gb), N, 3, [1e-3], 'cholesky');
  assert.ok(factor);
  const [solved] = solveBlock(Float32Array.from(gb), N, 3, [1e-3], v, 'cholesky');
  assert.deepEqual(applyBlockFactor(Float32Array.from(gb), N, 3, factor, v), solved);
  assert.throws(() => applyBlockFactor(Float32Array.from(gb), N, 3, { ...factor, dim: N, matrix: new Float64Array(N * N) }, v), /Fisher block's cholesky factor is 49 values, expected 3²/);
  const wide = Float32Array.from(g.rows.subarray(0, N * 10)); // … and N×10 as a Woodbury block
  const [w] = factorBlock(wide, N, 10, [1e-3], 'woodbury');
  assert.equal(w?.dim, N);
  assert.equal(w?.matrix.length, N * N);
});

test('no cache: the cached path computes what solveBlockFisher does, to the bit', async () => {
  const G = rows(2);
  const v = vectors(3);
  for (const damping of [1e-4, 1e-2]) {
    const [reference] = await solveBlockFisher(G, v, { blockSize: B, dampings: [damping], method: 'auto', order: ORDER });
    const o = options(null, G, damping);
    const out = await solveBlockFisherCached(v, o);
    bitsEqual(out.solved, reference as Float64Array[], `λ_F = ${damping}`);
    assert.equal(out.columns, 'off');
    assert.equal(out.factors, 'off');
    assert.equal(o.rowsCalls(), 1);
  }
});

test('stored once, then read: G is not recomputed and F̂⁻¹·v has the same bits; another damping reuses the columns only', async () => {
  const dir = tempDir();
  try {
    const cache = new ArtefactCache(dir);
    const G = rows(4);
    const v = vectors(5);
    const logs: string[] = [];
    const first = options(cache, G, 1e-3, { log: (l) => logs.push(l) });
    const a = await solveBlockFisherCached(v, first);
    assert.deepEqual([a.columns, a.factors, first.rowsCalls()], ['miss', 'miss', 1]);
    // Columns 7×(10+10+3) float32, factors 7² + 7² + 3² float64.
    assert.equal(a.bytes, 4 * N * P + 8 * (N * N * 2 + 9));
    assert.match(logs.join('\n'), /F̂⁻¹ \(blocks of 10, λ_F = 0\.001\) stored in .* \(1\.5 KiB with its columns\)/);
    assert.deepEqual(fs.readdirSync(dir).sort(), [`nn-fisher-columns-${first.keys.columns}.bin`, `nn-fisher-factors-${first.keys.factors}.bin`].sort());

    const second = options(cache, G, 1e-3);
    const events: ProgressEvent[] = [];
    const b = await solveBlockFisherCached(v, { ...second, onProgress: (e) => events.push(e) });
    assert.deepEqual([b.columns, b.factors, second.rowsCalls()], ['hit', 'hit', 0]);
    bitsEqual(b.solved, a.solved, 'read back');
    assert.deepEqual(
      events.filter((e) => e.phase === 'fisher').map((e) => e.done),
      [0, 1, 2, 3],
      'progress per block on a hit too',
    );

    const other = options(cache, G, 1e-2);
    const c = await solveBlockFisherCached(v, other);
    assert.deepEqual([c.columns, c.factors, other.rowsCalls()], ['hit', 'miss', 0]);
    const [fresh] = await solveBlockFisher(G, v, { blockSize: B, dampings: [1e-2], method: 'auto', order: ORDER });
    bitsEqual(c.solved, fresh as Float64Array[], 'another damping from stored columns');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a damaged stored factor is never trusted: F̂⁻¹ is rebuilt, stored again, and gives the same bits', async () => {
  const dir = tempDir();
  try {
    const cache = new ArtefactCache(dir);
    const G = rows(6);
    const v = vectors(7);
    const a = await solveBlockFisherCached(v, options(cache, G, 1e-3));
    const file = path.join(dir, `nn-fisher-factors-${fisherCacheKeys(IDENTITY, 1e-3, 'auto').factors}.bin`);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] as number) ^ 0x40; // inside the last block's factor
    fs.writeFileSync(file, bytes);
    const logs: string[] = [];
    const o = options(cache, G, 1e-3, { log: (l) => logs.push(l) });
    const b = await solveBlockFisherCached(v, o);
    assert.match(logs[0] as string, /the stored F̂⁻¹ is damaged \(the factor of block 2 fails its checksum\); rebuilding it/);
    assert.deepEqual([b.columns, b.factors, o.rowsCalls()], ['miss', 'miss', 1]);
    bitsEqual(b.solved, a.solved, 'rebuilt');
    const c = await solveBlockFisherCached(v, options(cache, G, 1e-3));
    assert.deepEqual([c.columns, c.factors], ['hit', 'hit'], 'the rebuilt entry replaced the damaged one');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('cancelled mid-pass: nothing is published and no temporary file is left', async () => {
  const dir = tempDir();
  try {
    const cache = new ArtefactCache(dir);
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    await assert.rejects(
      solveBlockFisherCached(vectors(9), options(cache, rows(8), 1e-3, { signal: controller.signal, onProgress: (e) => e.phase === 'fisher' && e.done === 2 && controller.abort() })),
      { code: 'CANCELLED' },
    );
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.equal(tf.memory().numTensors, before);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a cache that cannot be written costs the stored copy, not the erasure', async () => {
  const dir = tempDir();
  try {
    const blocker = path.join(dir, 'not-a-directory');
    fs.writeFileSync(blocker, 'x');
    const G = rows(10);
    const v = vectors(11);
    const logs: string[] = [];
    const out = await solveBlockFisherCached(v, options(new ArtefactCache(blocker), G, 1e-3, { log: (l) => logs.push(l) }));
    const [reference] = await solveBlockFisher(G, v, { blockSize: B, dampings: [1e-3], method: 'auto', order: ORDER });
    bitsEqual(out.solved, reference as Float64Array[], 'unstored');
    assert.match(logs.join('\n'), /F̂⁻¹ not stored \(.*\); this erasure goes on without it/);
    assert.deepEqual(fs.readdirSync(dir), ['not-a-directory']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no room on the disk (less than 1 GiB would be left): F̂⁻¹ is not stored, nothing is written, the erasure goes on', async () => {
  const dir = tempDir();
  try {
    class NearlyFull extends ArtefactCache {
      override freeBytes(): number {
        return SPARE_DISK_BYTES + 1000; // the entries take 1.5 KiB
      }
    }
    const G = rows(12);
    const v = vectors(13);
    const logs: string[] = [];
    const out = await solveBlockFisherCached(v, options(new NearlyFull(dir), G, 1e-3, { log: (l) => logs.push(l) }));
    const [reference] = await solveBlockFisher(G, v, { blockSize: B, dampings: [1e-3], method: 'auto', order: ORDER });
    bitsEqual(out.solved, reference as Float64Array[], 'unstored');
    assert.deepEqual([out.columns, out.factors], ['miss', 'miss']);
    assert.match(logs.join('\n'), /F̂⁻¹ not stored: it needs 1\.5 KiB and the disk has 1\.00 GiB free \(1\.00 GiB is kept spare\)/);
    assert.deepEqual(fs.readdirSync(dir), []);
    assert.ok((new ArtefactCache(dir).freeBytes() ?? 0) > 0, 'the real figure is read from the disk');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('with worker threads: the same F̂⁻¹·v and the same stored entries, byte for byte, as the main thread alone', async () => {
  const dirs = [tempDir(), tempDir()];
  try {
    const G = rows(21);
    const v = vectors(22);
    const results = [];
    for (const [i, workers] of [0, 2].entries()) {
      const cache = new ArtefactCache(dirs[i] as string);
      const events: ProgressEvent[] = [];
      const o = options(cache, G, 1e-3, { workers, backend: 'wasm', onProgress: (e) => events.push(e) });
      const out = await solveBlockFisherCached(v, o);
      // Three blocks: at most two workers beside this thread have a block to compute.
      assert.equal(out.threads, workers + 1);
      assert.deepEqual([out.columns, out.factors], ['miss', 'miss']);
      assert.deepEqual(
        events.filter((e) => e.phase === 'fisher').map((e) => e.done),
        [0, 1, 2, 3],
        `${workers} workers: progress per block, in order`,
      );
      results.push(out);
    }
    bitsEqual((results[1] as { solved: Float64Array[] }).solved, (results[0] as { solved: Float64Array[] }).solved, 'two workers against none');
    const files = (dir: string) => fs.readdirSync(dir).sort();
    assert.deepEqual(files(dirs[1] as string), files(dirs[0] as string));
    for (const f of files(dirs[0] as string)) {
      assert.ok(fs.readFileSync(path.join(dirs[0] as string, f)).equals(fs.readFileSync(path.join(dirs[1] as string, f))), `${f} is the same file`);
    }
    // Read back, nothing is computed, so no worker is used.
    const hit = await solveBlockFisherCached(v, options(new ArtefactCache(dirs[1] as string), G, 1e-3, { workers: 2, backend: 'wasm' }));
    assert.deepEqual([hit.columns, hit.factors, hit.threads], ['hit', 'hit', 1]);
    bitsEqual(hit.solved, (results[0] as { solved: Float64Array[] }).solved, 'read back');
  } finally {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('with worker threads, cancelled mid-pass: nothing is published and no temporary file is left', async () => {
  const dir = tempDir();
  try {
    const controller = new AbortController();
    const o = options(new ArtefactCache(dir), rows(23), 1e-3, {
      workers: 2,
      backend: 'wasm',
      signal: controller.signal,
      onProgress: (e) => {
        if (e.phase === 'fisher' && e.done === 1) controller.abort();
      },
    });
    await assert.rejects(solveBlockFisherCached(vectors(24), o), /cancel/i);
    assert.deepEqual(fs.readdirSync(dir), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

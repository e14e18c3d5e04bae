import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { SsseError } from '../../../main/engine/errors.js';
import {
  blockInverse,
  blockMethod,
  describePlan,
  planBlockFisher,
  solveBlock,
  solveBlockFisher,
  type BlockMethod,
} from '../../../main/engine/nn/blockFisher.js';
import { RUNTIME_BYTES_PER_WORKER } from '../../../main/engine/linear/fisherBuild.js';
import { fisherGroups, fisherRows, type FisherRows } from '../../../main/engine/nn/gradients.js';
import { disposeNetwork } from '../../../main/engine/nn/network.js';
import { buildNetwork } from '../../../main/engine/nn/spec.js';
import { trainNetwork } from '../../../main/engine/nn/train.js';
import type { ProgressEvent } from '../../../main/engine/progress.js';
import { denseWeightedGram, gaussJordanInverse, gaussian, matVecRef, randomFeatures, relFrob, xorshift32 } from '../../helpers/reference.js';

before(async () => {
  await initBackend('wasm');
});

const METHODS: BlockMethod[] = ['woodbury', 'cholesky', 'sherman-morrison'];

/** N×b float32 rows with entries N(0, 0.3²), about the size of mini-batch gradient entries. */
function randomRows(N: number, b: number, seed: number): Float32Array {
  const g = gaussian(seed);
  return Float32Array.from({ length: N * b }, () => 0.3 * g());
}

/** The float64 reference F̂_b⁻¹ = (λI + GᵀG/N)⁻¹: a dense sum of outer products, Gauss–Jordan. */
function referenceInverse(G: Float32Array, N: number, b: number, damping: number): Float64Array {
  const f = denseWeightedGram(G, N, b, new Float64Array(N).fill(1 / N));
  for (let i = 0; i < b; i++) f[i * b + i] = (f[i * b + i] as number) + damping;
  return gaussJordanInverse(f, b);
}

// Tolerances. Sherman–Morrison runs in float64 on exact float32 rows: it agrees with Gauss–Jordan
// to ~κ·1e-16 (κ ≤ 1e4 here), so 1e-10. The other two form one Gram matrix in float32 on the
// backend; in the regime 'auto' sends them to (Woodbury when N < b, Cholesky when N ≥ b) that
// Gram is well conditioned relative to λ and the result is measured within 4e-7 (relative,
// Frobenius) at λ = 1e-4: 1e-5 leaves room, while any algebraic slip (a missing 1/N, the sign of
// the correction) is an O(1) error. Outside that regime (the B×B Gram of fewer than B rows is
// singular, and its float32 rounding is divided by λ) the error grows to ~1e-4, still far below
// anything an erasure could notice: 1e-3.
const TOL_SM = 1e-10;
const TOL_AUTO = 1e-5;
const TOL_OFF_REGIME = 1e-3;

for (const [N, b] of [
  [12, 40],
  [60, 40],
] as const) {
  for (const damping of [1e-2, 1e-4]) {
    test(`block inverses agree with a float64 direct inverse (N = ${N}, B = ${b}, λ_F = ${damping})`, () => {
      const G = randomRows(N, b, N * 31 + b);
      const ref = referenceInverse(G, N, b, damping);
      const auto = blockMethod('auto', N, b);
      assert.equal(auto, N < b ? 'woodbury' : 'cholesky');
      for (const method of METHODS) {
        const err = relFrob(blockInverse(G, N, b, damping, method), ref);
        const tol = method === 'sherman-morrison' ? TOL_SM : method === auto ? TOL_AUTO : TOL_OFF_REGIME;
        assert.ok(err <= tol, `${method}: relative error ${err.toExponential(2)} > ${tol}`);
      }
    });
  }
}

test('solveBlock applies the same inverse the explicit one is (every method, several dampings and vectors)', () => {
  const [N, b] = [9, 21];
  const G = randomRows(N, b, 4);
  const g = gaussian(5);
  const vectors = [0, 1].map(() => Float64Array.from({ length: b }, () => g()));
  const dampings = [1e-3, 1e-1];
  for (const method of METHODS) {
    const solved = solveBlock(G, N, b, dampings, vectors, method);
    dampings.forEach((damping, di) => {
      const ref = referenceInverse(G, N, b, damping);
      vectors.forEach((v, vi) => {
        const want = matVecRef(ref, b, b, v);
        const err = relFrob(solved[di]?.[vi] as Float64Array, want);
        assert.ok(err <= (method === 'cholesky' ? TOL_OFF_REGIME : TOL_AUTO), `${method} λ=${damping} v${vi}: ${err}`);
      });
    });
  }
});

test('solveBlockFisher works block by block, the last block smaller, and reports progress', async () => {
  const [N, p, B] = [10, 70, 16];
  const G: FisherRows = { N, p, m: 1, rows: randomRows(N, p, 9) };
  const g = gaussian(10);
  const v = Float64Array.from({ length: p }, () => g());
  const events: ProgressEvent[] = [];
  const before = tf.memory().numTensors;
  const [[got]] = (await solveBlockFisher(G, [v], { blockSize: B, dampings: [1e-3], method: 'auto', onProgress: (e) => events.push(e) })) as [[Float64Array]];
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  // Blocks [0,16) [16,32) [32,48) [48,64) use Woodbury (N < 16); [64,70) has 6 < N columns: Cholesky.
  for (let c0 = 0; c0 < p; c0 += B) {
    const c1 = Math.min(p, c0 + B);
    const b = c1 - c0;
    const gb = new Float32Array(N * b);
    for (let j = 0; j < N; j++) gb.set(G.rows.subarray(j * p + c0, j * p + c1), j * b);
    const want = matVecRef(referenceInverse(gb, N, b, 1e-3), b, b, v.subarray(c0, c1));
    const err = relFrob(got.subarray(c0, c1), want);
    assert.ok(err <= TOL_AUTO, `block at ${c0}: ${err}`);
  }
  assert.deepEqual(events.filter((e) => e.phase === 'fisher').map((e) => e.done), [0, 1, 2, 3, 4, 5]);
  const aborted = new AbortController();
  aborted.abort();
  await assert.rejects(solveBlockFisher(G, [v], { blockSize: B, dampings: [1e-3], method: 'auto', signal: aborted.signal }), { code: 'CANCELLED' });
});

test('on a trained network’s blocks, Woodbury (fast path) and Sherman–Morrison agree', async () => {
  const net = buildNetwork({ kind: 'mlp', hidden: [6] }, [10], 3);
  try {
    const u = xorshift32(3);
    const data = { features: randomFeatures(60, 10, 2), classIds: Int32Array.from({ length: 60 }, () => Math.floor(u() * 3)), n: 60 };
    await trainNetwork(net, data, { epochs: 5, batchSize: 8, lr: 0.1, momentum: 0.9, lrSchedule: 'cosine', l2: 1e-4, seed: 1 });
    const G = await fisherRows(net, data, fisherGroups(60, 3, 0), 3);
    assert.equal(G.N, 20);
    const v = Float64Array.from({ length: net.p }, (_, i) => Math.sin(i));
    for (const damping of [1e-4, 1e-3]) {
      const [[fast]] = (await solveBlockFisher(G, [v], { blockSize: 32, dampings: [damping], method: 'auto' })) as [[Float64Array]];
      const [[slow]] = (await solveBlockFisher(G, [v], { blockSize: 32, dampings: [damping], method: 'sherman-morrison' })) as [[Float64Array]];
      const err = relFrob(fast, slow);
      assert.ok(err <= TOL_AUTO, `λ_F = ${damping}: ${err}`);
    }
  } finally {
    disposeNetwork(net);
  }
});

test('the memory plan states the figures and refuses a block size that will not fit, before any work', () => {
  const plan = planBlockFisher(1000, 101_770, 2048, 'auto', 2 ** 30);
  assert.equal(plan.blocks, 50);
  assert.deepEqual(plan.methodCounts, { woodbury: 50, cholesky: 0, 'sherman-morrison': 0 });
  assert.equal(plan.bytes.rows, 4 * 1000 * 101_770);
  assert.match(describePlan(plan), /N = 1000 rows × p = 101770 parameters in 50 blocks of 2048 \(50 woodbury\); memory 4\d\d\.\d MiB/);
  assert.equal(plan.threads, 1);
  // On threads: each works on a block of its own, and up to two blocks per thread are in flight
  // between them (G_b, 4·N·B bytes, and its factor, 8·N²); a budget short of that gets fewer threads, not a refusal.
  const block = plan.bytes.block;
  const three = planBlockFisher(1000, 101_770, 2048, 'auto', 2 ** 31, 1, 3);
  assert.equal(three.threads, 3);
  const inFlight = 4 * 1000 * 2048 + 8 * 1000 * 1000;
  assert.equal(three.bytes.waiting, 6 * inFlight);
  assert.equal(three.bytes.workers, 2 * RUNTIME_BYTES_PER_WORKER);
  assert.equal(three.bytes.total, three.bytes.rows + 3 * block + three.bytes.waiting + three.bytes.workers + three.bytes.vectors);
  assert.match(describePlan(three), /largest block 4\d\.\d MiB on each of 3 threads, 92\.7 MiB of blocks in flight, 76\.3 MiB for the workers' runtimes\)/);
  const short = planBlockFisher(1000, 101_770, 2048, 'auto', plan.bytes.total + block + 4 * inFlight + RUNTIME_BYTES_PER_WORKER + 1, 1, 3);
  assert.equal(short.threads, 2, 'the budget holds two threads, not three');
  assert.equal(planBlockFisher(1000, 101_770, 2048, 'auto', plan.bytes.total, 1, 3).threads, 1, 'one thread where only one fits');
  assert.equal(planBlockFisher(1000, 4000, 2048, 'auto', 2 ** 31, 1, 8).threads, 2, 'no more threads than blocks');
  assert.throws(() => planBlockFisher(1000, 4000, 2048, 'auto', 2 ** 31, 1, 0), /threads must be a whole number ≥ 1, got 0/);
  // A block size of p or more is one block, the full Fisher, and the plan says so.
  const whole = planBlockFisher(1000, 12_730, 100_000_000, 'auto', 2 ** 30);
  assert.equal(whole.blocks, 1);
  assert.match(describePlan(whole), /p = 12730 parameters in one block of all 12730 \(block size 100000000 ≥ p: the full Fisher\) \(1 woodbury\)/);
  // The same blocks as dense B×B matrices (Sherman–Morrison keeps a float64 inverse per block):
  // 8·8192² = 512 MiB for one block, over a 256 MiB budget.
  assert.throws(
    () => planBlockFisher(1000, 101_770, 8192, 'sherman-morrison', 2 ** 28),
    (e: unknown) => e instanceof SsseError && e.code === 'RESOURCE' && /--block-size 8192: the Fisher needs [\d.]+ (GiB|MiB)/.test(e.message) && /budget is 256\.0 MiB/.test(e.message),
  );
  // Woodbury never needs the B×B matrix: one block of all 101,770 parameters takes G_b three
  // times (JS, backend, transposed) and an N×N factor, about 1.2 GiB, not the 77 GiB of B×B.
  assert.equal(planBlockFisher(1000, 101_770, 101_770, 'auto', 2 ** 31).methodCounts.woodbury, 1);
  assert.throws(() => planBlockFisher(10, 100, 0, 'auto', 2 ** 30), /--block-size/);
});

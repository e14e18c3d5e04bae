import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../main/engine/backend.js';
import { CancelledError, isSsseError } from '../../../main/engine/errors.js';
import { blockColumns, blockLabel, blockMethod, blockRange, factorBlock, type BlockFactor, type BlockMethod } from '../../../main/engine/nn/blockFisher.js';
import type { FisherRows } from '../../../main/engine/nn/gradients.js';
import { nnFactorWindow } from '../../../main/engine/workers/nnFactorMessages.js';
import { runNnFactorPool } from '../../../main/engine/workers/nnFactorPool.js';
import { WorkerPool } from '../../../main/engine/workers/pool.js';
import { gaussian } from '../../helpers/reference.js';

before(async () => {
  await initBackend('wasm');
});

// N = 9 rows over p = 61 parameters in blocks of 12: five Woodbury blocks (9 < 12) and a last
// block of 1, where 'auto' takes Cholesky; a permuted block order. Small, so that a test's time is
// the workers' start-up (about 65 ms each), not the arithmetic.
const N = 9;
const P = 61;
const B = 12;
const BLOCKS = Math.ceil(P / B);
const ORDER = Int32Array.from({ length: P }, (_, i) => (i * 7) % P); // 7 and 61 are coprime: a permutation
const METHODS: BlockMethod[] = Array.from({ length: BLOCKS }, (_, bi) => {
  const [c0, c1] = blockRange(bi, B, P);
  return blockMethod('auto', N, c1 - c0);
});

function rows(seed: number): FisherRows {
  const g = gaussian(seed);
  return { N, p: P, m: 1, rows: Float32Array.from({ length: N * P }, () => 0.3 * g()) };
}

/** Block bi's factor on this thread alone: the reference every thread count must give to the bit. */
function alone(G: FisherRows, bi: number, damping: number): Float64Array {
  const [c0, c1] = blockRange(bi, B, P);
  const [f] = factorBlock(blockColumns(G, c0, c1, ORDER), N, c1 - c0, [damping], METHODS[bi] as BlockMethod, blockLabel(bi, c0, c1, ORDER));
  return (f as BlockFactor).matrix;
}

function bytes(x: Float64Array): Buffer {
  assert.equal(nnFactorWindow(1), 4, 'two blocks per computing thread');
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}

test('on 1, 2 and 3 workers every factor reaches consume in block order with the bits of the main thread alone', async () => {
  const G = rows(11);
  const damping = 1e-3;
  const reference = Array.from({ length: BLOCKS }, (_, bi) => alone(G, bi, damping));
  const pool = new WorkerPool('wasm');
  try {
    for (const workers of [1, 2, 3]) {
      const seen: number[] = [];
      const before = tf.memory().numTensors;
      const result = await runNnFactorPool(G, { blockSize: B, damping, methods: METHODS, order: ORDER }, { backend: 'wasm', workers, pool }, (bi, { factor, gb }) => {
        seen.push(bi);
        assert.equal(factor.method, METHODS[bi]);
        assert.equal(factor.damping, damping);
        assert.equal(factor.matrix.length, factor.dim * factor.dim);
        assert.deepEqual(bytes(factor.matrix), bytes(reference[bi] as Float64Array), `${workers} workers: block ${bi}`);
        const [c0, c1] = blockRange(bi, B, P);
        assert.deepEqual(gb, blockColumns(G, c0, c1, ORDER), `${workers} workers: block ${bi}'s columns come back with it`);
      });
      assert.ok(result.maxInFlight >= 1 && result.maxInFlight <= nnFactorWindow(workers), `${workers} workers: ${result.maxInFlight} blocks in flight at most, within the window`);
      assert.deepEqual(seen, [0, 1, 2, 3, 4, 5], `${workers} workers: in block order`);
      assert.equal(result.blocksByThread.length, workers + 1);
      assert.equal(
        result.blocksByThread.reduce((a, b) => a + b, 0),
        BLOCKS,
        'every block computed once',
      );
      // The first blocks are handed to the workers before this thread computes any.
      assert.ok(result.blocksByThread.slice(1).every((c) => c > 0), `${workers} workers: each computed blocks (${result.blocksByThread.join(', ')})`);
      assert.equal(tf.memory().numTensors, before, 'no tensor left behind on this thread');
      assert.equal(pool.idleWorkers, Math.max(workers, 1), 'the workers went back to the pool');
      // A job that ended cleanly keeps the pool's threads: the next count reuses them (and starts more).
      if (workers === 3) assert.equal(pool.idleWorkers, 3);
    }
  } finally {
    await pool.close();
  }
});

test('a block that fails on any thread ends the pass with the error it gives alone, naming the block', async () => {
  const G = rows(12);
  // A NaN in one column of block 3 (positions 36…47 of the block order): its factor fails.
  const q = ORDER[40] as number;
  G.rows[2 * P + q] = Number.NaN;
  let message = '';
  try {
    alone(G, 3, 1e-3);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /Fisher block 3 \(blocked positions 36–47\).*not positive definite/);
  const pool = new WorkerPool('wasm');
  try {
    for (const workers of [1, 2]) {
      const consumed: number[] = [];
      await assert.rejects(
        runNnFactorPool(G, { blockSize: B, damping: 1e-3, methods: METHODS, order: ORDER }, { backend: 'wasm', workers, pool }, (bi) => {
          consumed.push(bi);
        }),
        (e: Error) => isSsseError(e) && e.message.includes(message),
      );
      assert.ok(!consumed.includes(3) && consumed.every((bi) => bi < 3), `${workers} workers: nothing from block 3 on was applied (${consumed.join(', ')})`);
      assert.equal(pool.idleWorkers, 0, 'the workers of a failed pass are terminated, not kept');
    }
  } finally {
    await pool.close();
  }
});

test('cancelled, or consume throws: the pass ends with that error and applies nothing more', async () => {
  const G = rows(13);
  const controller = new AbortController();
  const consumed: number[] = [];
  await assert.rejects(
    runNnFactorPool(G, { blockSize: B, damping: 1e-2, methods: METHODS, order: ORDER }, { backend: 'wasm', workers: 2, signal: controller.signal }, (bi) => {
      consumed.push(bi);
      if (bi === 1) controller.abort();
    }),
    (e: unknown) => e instanceof CancelledError,
  );
  assert.deepEqual(consumed, [0, 1]);
  await assert.rejects(
    runNnFactorPool(G, { blockSize: B, damping: 1e-2, methods: METHODS, order: ORDER }, { backend: 'wasm', workers: 1 }, (bi) => {
      if (bi === 2) throw new Error('the disk is full');
    }),
    /the disk is full/,
  );
  await assert.rejects(
    runNnFactorPool(G, { blockSize: B, damping: 1e-2, methods: METHODS.slice(1), order: ORDER }, { backend: 'wasm', workers: 1 }, () => undefined),
    /runNnFactorPool: 5 block methods for p = 61 in blocks of 12/,
  );
});

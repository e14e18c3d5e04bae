import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../../../main/engine/backend.js';
import { ArtefactCache } from '../../../main/engine/cache.js';
import { selectRows } from '../../../main/engine/erase.js';
import { SsseError } from '../../../main/engine/errors.js';
import { fisherInverse, type FisherInverse } from '../../../main/engine/linear/fisher.js';
import type { LinearModel } from '../../../main/engine/linear/model.js';
import { applyStep, removalGradient, ssseDirection } from '../../../main/engine/linear/ssseStep.js';
import { erasureFromStore, pieceRows, storedStep } from '../../../main/engine/linear/storedErasure.js';
import { gaussian, randomFeatures, randomLabels } from '../../helpers/reference.js';

before(async () => {
  await initBackend('auto');
});

describe('erasureFromStore: an erasure from S and the stored θ*, F̂⁻¹ alone', () => {
  const n = 250;
  const d = 24;
  const A = 3;
  const l2 = 1e-3;
  const features = randomFeatures(n, d, 401);
  const labels = randomLabels(n, A, 402);
  const g = gaussian(403);
  const thetaStar: LinearModel = { d, A, weights: Float64Array.from({ length: d * A }, () => g() / Math.sqrt(d)) };
  const removed = [3, 17, 44, 101, 230];
  const sFeatures = selectRows(features, d, removed);
  const sLabels = selectRows(labels, A, removed);
  let fisher: FisherInverse;
  let cache: ArtefactCache;
  let fisherFile: string;
  const keys = { thetaStar: 'star', fisher: 'fi' };

  before(async () => {
    fisher = await fisherInverse(thetaStar, features, labels, n, { damping: 1e-3, method: 'blocked' });
    cache = new ArtefactCache(fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-stored-')));
    cache.write('theta-star', keys.thetaStar, {}, [thetaStar.weights]);
    const { blocks, ...meta } = fisher;
    fisherFile = cache.write('fisher', keys.fisher, meta, blocks);
  });

  after(() => fs.rmSync(cache.dir, { recursive: true, force: true }));

  test('gives exactly the direction of the in-memory step (same float32 blocks, same products)', () => {
    const stored = erasureFromStore(cache, keys, sFeatures, sLabels, { l2 });
    const gradient = removalGradient(thetaStar, sFeatures, sLabels, l2);
    assert.deepEqual(stored.direction, ssseDirection(fisher, gradient, n, removed.length));
    assert.equal(stored.n, n);
    assert.equal(stored.k, removed.length);
    assert.deepEqual(stored.blocksRead, [0, 1, 2]);
    assert.deepEqual(storedStep(stored, 2.5), applyStep(thetaStar, stored.direction, 2.5));
    assert.deepEqual(stored.thetaStar.weights, thetaStar.weights);
    // Read in bands of 3, 4 or all rows (the default here is all of a block): the same bits.
    for (const rows of [3, 4, d]) {
      assert.deepEqual(erasureFromStore(cache, keys, sFeatures, sLabels, { l2, pieceRows: rows }).direction, stored.direction, `bands of ${rows} rows`);
    }
    assert.equal(pieceRows(784), 80, 'about 256 kB of a 784-wide block');
  });

  test('reads only the blocks it is asked for; the other attributes keep θ*', () => {
    const full = erasureFromStore(cache, keys, sFeatures, sLabels, { l2 });
    const one = erasureFromStore(cache, keys, sFeatures, sLabels, { l2, attributes: [1] });
    assert.deepEqual(one.blocksRead, [1]);
    assert.ok(one.bytesRead < full.bytesRead - 2 * d * d * 4 + 1, `${one.bytesRead} vs ${full.bytesRead}`);
    assert.ok(full.bytesRead < fs.statSync(fisherFile).size + 2000);
    assert.deepEqual(one.direction.subarray(d, 2 * d), full.direction.subarray(d, 2 * d));
    assert.ok(one.direction.subarray(0, d).every((v) => v === 0));
    assert.ok(one.direction.subarray(2 * d).every((v) => v === 0));
  });

  test('a missing or damaged artefact is BAD_INPUT naming the store; a bad request is refused', () => {
    assert.throws(() => erasureFromStore(cache, { ...keys, fisher: 'nope' }, sFeatures, sLabels, { l2 }), (e: unknown) => e instanceof SsseError && e.code === 'BAD_INPUT' && e.message.includes(cache.dir));
    assert.throws(() => erasureFromStore(cache, { ...keys, thetaStar: 'nope' }, sFeatures, sLabels, { l2 }), /θ\*/);
    assert.throws(() => erasureFromStore(cache, keys, sFeatures, sLabels, { l2, attributes: [3] }), /attribute 3/);
    assert.throws(() => erasureFromStore(cache, keys, new Float32Array(0), new Uint8Array(0), { l2 }), (e: unknown) => e instanceof SsseError && e.code === 'BAD_REQUEST');
    const bytes = fs.readFileSync(fisherFile);
    const at = bytes.length - d * d * 4 + 7; // inside the last block
    bytes[at] = (bytes[at] as number) ^ 0x55;
    fs.writeFileSync(fisherFile, bytes);
    // Blocks 0 and 1 are intact and still usable on their own; block 2 is refused.
    assert.deepEqual(erasureFromStore(cache, keys, sFeatures, sLabels, { l2, attributes: [0, 1] }).blocksRead, [0, 1]);
    assert.throws(() => erasureFromStore(cache, keys, sFeatures, sLabels, { l2 }), /block 2 is missing or damaged/);
  });
});

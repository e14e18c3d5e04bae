import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { classCounts, classRemoval, randomRemoval, readRemovalFile, resolveRemoval } from '../../../main/engine/data/removal.js';
import { mulberry32, sampleWithoutReplacement } from '../../../main/engine/data/random.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-removal-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function rowIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => String(i));
}

let counter = 0;
function removalFile(text: string): string {
  const file = path.join(tmp, `remove-${++counter}.txt`);
  fs.writeFileSync(file, text);
  return file;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('readRemovalFile', () => {
  test('resolves ids to sorted row indices; blank lines, comments and whitespace are ignored', () => {
    const ids = ['cat', 'dog', 'eel', 'fox'];
    const file = removalFile('# samples to erase\r\n  fox \n\neel\n   # indented comment\ncat\n');
    assert.deepEqual(readRemovalFile(file, ids, true), [0, 2, 3]);
  });

  test('without ids.txt, entries are row indices', () => {
    assert.deepEqual(readRemovalFile(removalFile('17\n3\n2999\n'), rowIds(3000), false), [3, 17, 2999]);
  });

  test('a missing file is a BAD_REQUEST naming it', () => {
    const file = path.join(tmp, 'absent.txt');
    assert.throws(() => readRemovalFile(file, rowIds(3), false), {
      name: 'SsseError',
      code: 'BAD_REQUEST',
      message: new RegExp(`^${escape(file)}: removal file not found`),
    });
  });

  test('an empty request (only comments and blank lines) says k = 0', () => {
    const file = removalFile('# nothing\n\n   \n');
    assert.throws(() => readRemovalFile(file, rowIds(3), false), {
      code: 'BAD_REQUEST',
      message: new RegExp(`^${escape(file)}: the removal request is empty \\(k = 0\\)`),
    });
  });

  test('unknown ids are listed with their line numbers (up to 10) and counted', () => {
    const ids = ['a', 'b', 'c'];
    const lines = ['a', ...Array.from({ length: 12 }, (_, i) => `x${i}`)];
    const file = removalFile(lines.join('\n'));
    assert.throws(() => readRemovalFile(file, ids, true), (e: Error) => {
      assert.match(e.message, new RegExp(`^${escape(file)}: 12 entries name no training sample: "x0" \\(line 2\\), "x1" \\(line 3\\)`));
      assert.match(e.message, /"x9" \(line 11\) and 2 more \(12 in all\)$/);
      assert.doesNotMatch(e.message, /x10/);
      assert.doesNotMatch(e.message, /plain integers/);
      return true;
    });
  });

  test('non-canonical row indices are unknown, with a hint about how rows are written', () => {
    const file = removalFile('007\n1.0\n2\n');
    assert.throws(() => readRemovalFile(file, rowIds(3000), false), {
      code: 'BAD_REQUEST',
      message: /2 entries name no training sample: "007" \(line 1\), "1\.0" \(line 2\); there is no ids\.txt.*row indices are written as plain integers/,
    });
  });

  test('duplicate entries name both line numbers', () => {
    const file = removalFile('b\na\n# c\nb\n');
    assert.throws(() => readRemovalFile(file, ['a', 'b', 'c'], true), {
      code: 'BAD_REQUEST',
      message: new RegExp(`^${escape(file)}: 1 duplicate entry: "b" \\(lines 1 and 4\\)`),
    });
  });

  test('naming every sample (k = n) is refused', () => {
    const file = removalFile(rowIds(3000).join('\n'));
    assert.throws(() => readRemovalFile(file, rowIds(3000), false), {
      code: 'BAD_REQUEST',
      message: new RegExp(
        `^${escape(file)}: the removal request names all n = 3000 training samples; at least one must remain \\(k < n\\)`,
      ),
    });
  });
});

describe('resolveRemoval', () => {
  test('works on lines without a file, naming the given source', () => {
    assert.deepEqual(resolveRemoval(['2', ' 0 '], rowIds(5), 'request #4'), [0, 2]);
    assert.throws(() => resolveRemoval([], rowIds(5), 'request #4'), { message: /^request #4: the removal request is empty/ });
  });

  test('infers whether ids are row indices for the hint', () => {
    assert.throws(() => resolveRemoval(['05'], rowIds(10), 'req'), { message: /plain integers/ });
    assert.throws(() => resolveRemoval(['05'], ['a', 'b'], 'req'), (e: Error) => !/plain integers/.test(e.message));
  });
});

describe('randomRemoval', () => {
  test('is deterministic for a seed, and sorted, distinct and in range', () => {
    const a = randomRemoval(3000, 60, 42);
    assert.deepEqual(a, randomRemoval(3000, 60, 42));
    assert.equal(a.length, 60);
    assert.equal(new Set(a).size, 60);
    assert.ok(a.every((r, i) => Number.isInteger(r) && r >= 0 && r < 3000 && (i === 0 || r > (a[i - 1] as number))));
    assert.notDeepEqual(a, randomRemoval(3000, 60, 43));
  });

  test('k = n − 1 picks all but one row', () => {
    assert.equal(new Set(randomRemoval(10, 9, 1)).size, 9);
  });

  test('every row is about equally likely', () => {
    const counts = new Array<number>(10).fill(0);
    for (let seed = 0; seed < 2000; seed++) for (const r of randomRemoval(10, 3, seed)) counts[r] = (counts[r] ?? 0) + 1;
    // 600 expected per row; ±100 is more than 4 standard deviations.
    assert.ok(counts.every((c) => Math.abs(c - 600) < 100), counts.join(','));
  });

  test('refuses k = 0, k ≥ n and non-integers', () => {
    assert.throws(() => randomRemoval(10, 0, 1), { code: 'BAD_REQUEST', message: /empty \(k = 0\)/ });
    assert.throws(() => randomRemoval(10, 10, 1), { code: 'BAD_REQUEST', message: /names all n = 10 training samples/ });
    assert.throws(() => randomRemoval(10, 11, 1), { code: 'BAD_REQUEST', message: /k = 11 samples but there are only n = 10/ });
    assert.throws(() => randomRemoval(10, 2.5, 1), { code: 'BAD_ARGUMENT', message: /k must be an integer/ });
    assert.throws(() => randomRemoval(10, 2, NaN), { code: 'BAD_ARGUMENT', message: /seed must be an integer/ });
  });
});

describe('classRemoval', () => {
  const classIds = Int32Array.from({ length: 100 }, (_, i) => i % 4); // 25 rows per class

  test('picks round(fraction · count) rows of the class, deterministically', () => {
    const rows = classRemoval(classIds, 2, 0.2, 7);
    assert.equal(rows.length, 5);
    assert.ok(rows.every((r) => classIds[r] === 2));
    assert.deepEqual(rows, [...rows].sort((a, b) => a - b));
    assert.deepEqual(rows, classRemoval(classIds, 2, 0.2, 7));
    assert.equal(classRemoval(classIds, 1, 1, 0).length, 25);
  });

  test('at least one row, even for a tiny fraction', () => {
    assert.equal(classRemoval(classIds, 3, 0.001, 0).length, 1);
  });

  test('refuses an absent class, a fraction outside (0, 1], and removing everything', () => {
    assert.throws(() => classRemoval(classIds, 7, 0.5, 0), { code: 'BAD_REQUEST', message: /class 7 has no training samples/ });
    assert.throws(() => classRemoval(classIds, 1, 0, 0), { code: 'BAD_ARGUMENT', message: /fraction must be in \(0, 1\]/ });
    assert.throws(() => classRemoval(classIds, 1, 1.5, 0), { code: 'BAD_ARGUMENT' });
    assert.throws(() => classRemoval(new Int32Array([2, 2, 2]), 2, 1, 0), { code: 'BAD_REQUEST', message: /k < n/ });
  });
});

describe('random', () => {
  test('mulberry32 matches the reference implementation', () => {
    // The widely circulated original (Tommy Ettinger), kept verbatim in spirit as an oracle.
    function reference(seed: number): () => number {
      let a = seed;
      return () => {
        let t = (a += 0x6d2b79f5);
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
    }
    for (const seed of [0, 1, 42, 123456789]) {
      const ours = mulberry32(seed);
      const theirs = reference(seed);
      for (let i = 0; i < 1000; i++) assert.equal(ours(), theirs());
    }
  });

  test('mulberry32 values lie in [0, 1)', () => {
    const rng = mulberry32(9);
    for (let i = 0; i < 10000; i++) {
      const v = rng();
      assert.ok(v >= 0 && v < 1);
    }
  });

  test('sampleWithoutReplacement leaves the pool untouched and can take it all', () => {
    const pool = [5, 6, 7, 8];
    const all = sampleWithoutReplacement(pool, 4, mulberry32(3));
    assert.deepEqual([...all].sort(), [5, 6, 7, 8]);
    assert.deepEqual(pool, [5, 6, 7, 8]);
    assert.deepEqual(sampleWithoutReplacement(pool, 0, mulberry32(3)), []);
  });
});

test('classCounts: per-class counts of every row or of the rows named, worked by hand; an id out of range names the sample', () => {
  const ids = Int32Array.from([2, 0, 2, 1, 2]);
  assert.deepEqual(classCounts(ids, 3), [1, 1, 3]);
  assert.deepEqual(classCounts(ids, 4), [1, 1, 3, 0]);
  assert.deepEqual(classCounts(ids, 3, [0, 4, 3]), [0, 1, 2]);
  assert.deepEqual(classCounts(ids, 3, []), [0, 0, 0]);
  assert.throws(() => classCounts(ids, 2), (e: unknown) => e instanceof Error && /training sample 0 has class id 2, outside 0\.\.1/.test(e.message));
  assert.throws(() => classCounts([0, 1.5], 3, [1]), /training sample 1 has class id 1\.5, outside 0\.\.2/);
});

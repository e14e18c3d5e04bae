import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../../main/cli/ssse.js';
import { ArtefactCache, listCache } from '../../../main/engine/cache.js';
import { captureIo, tempDir } from '../../helpers/fixtures.js';

/**
 * A cache as erasures leave it: a linear θ* and F̂⁻¹, a network's θ* and F̂⁻¹ (columns, factors),
 * one entry written three days ago, what a killed writer left, a live writer's file, and a file
 * that is not the cache's.
 */
function populated(): { dir: string; live: string; orphan: string } {
  const dir = tempDir('ssse-cache-cmd-');
  const cache = new ArtefactCache(dir);
  cache.write('theta-star', 'a1', null, [new Float64Array(10)]);
  cache.write('fisher', 'b2', null, [new Float32Array(100)]);
  cache.write('nn-theta-star', 'c3', null, [new Float32Array(1000)]);
  cache.write('nn-fisher-columns', 'd4', null, [new Float32Array(4000)]);
  cache.write('nn-fisher-factors', 'e5', null, [new Float64Array(2000)]);
  const old = new Date(Date.now() - 3 * 86_400_000);
  fs.utimesSync(path.join(dir, 'theta-star-a1.bin'), old, old);
  const gone = spawnSync(process.execPath, ['-e', '0']).pid as number;
  const orphan = `nn-fisher-factors-f6.bin.tmp-${gone}-1700000000000`;
  const live = `nn-fisher-columns-g7.bin.tmp-${process.pid}-1700000000000`;
  fs.writeFileSync(path.join(dir, orphan), Buffer.alloc(500));
  fs.writeFileSync(path.join(dir, live), Buffer.alloc(300));
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  return { dir, live, orphan };
}

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const cap = captureIo();
  const code = await main(args, cap.io);
  return { code, out: cap.out(), err: cap.err() };
}

test('ssse cache lists every entry with its kind, size and status; --json gives the same figures', async () => {
  const { dir, live, orphan } = populated();
  try {
    const files = listCache(dir);
    assert.equal(files.length, 7, 'five entries and two temporary files; notes.txt is not the cache’s');
    assert.deepEqual(files.find((f) => f.name === orphan)?.status, 'orphan');
    assert.deepEqual(files.find((f) => f.name === live)?.status, 'writing');
    assert.equal(files.at(-1)?.name, 'theta-star-a1.bin', 'newest first');

    const listed = await run(['cache', '--cache-dir', dir]);
    assert.equal(listed.code, 0);
    const lines = listed.out.trim().split('\n');
    const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
    assert.equal(lines[0], `${dir}: 7 files, ${(totalBytes / 1024).toFixed(1)} KiB`);
    assert.equal(lines.length, 8);
    assert.ok(lines.some((l) => /nn-fisher-factors\s+a network's F̂⁻¹ block factors \(left by a killed writer\)$/.test(l)));
    assert.ok(lines.some((l) => /nn-fisher-columns\s+a network's Fisher columns G_b \(being written now\)$/.test(l)));
    assert.ok(lines.some((l) => /^\s+1[56]\.\d KiB .* nn-fisher-factors\s+a network's F̂⁻¹ block factors$/.test(l)));

    const json = JSON.parse((await run(['cache', 'list', '--json', '--cache-dir', dir])).out) as { dir: string; bytes: number; files: { name: string; bytes: number; holds: string | null }[] };
    assert.equal(json.bytes, totalBytes);
    assert.equal(json.files.find((f) => f.name === 'fisher-b2.bin')?.holds, 'F̂⁻¹ of a linear model');

    const empty = await run(['cache', '--cache-dir', path.join(dir, 'none')]);
    assert.equal(empty.out, `${path.join(dir, 'none')}: empty\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ssse cache clear: by kind, by age, or all; a dry run removes nothing; a live writer and foreign files are never touched', async () => {
  const { dir, live, orphan } = populated();
  try {
    const dry = await run(['cache', 'clear', '--kind', 'nn-fisher-factors', '--dry-run', '--cache-dir', dir]);
    assert.equal(dry.code, 0);
    assert.match(dry.out, /would remove .*nn-fisher-factors.*block factors$/m);
    assert.match(dry.out, /: would remove 2 files \(.* KiB\), keep 5\n$/, 'the entry of that kind and the killed writer’s file');
    assert.equal(listCache(dir).length, 7);

    const byKind = await run(['cache', 'clear', '--kind', 'nn-fisher-factors', '--cache-dir', dir]);
    assert.match(byKind.out, /: removed 2 files \(.*\), kept 5\n$/);
    assert.ok(!fs.existsSync(path.join(dir, 'nn-fisher-factors-e5.bin')));
    assert.ok(!fs.existsSync(path.join(dir, orphan)));

    const byAge = await run(['cache', 'clear', '--older-than', '2', '--cache-dir', dir]);
    assert.match(byAge.out, /: removed 1 file \(.*\), kept 4\n$/);
    assert.ok(!fs.existsSync(path.join(dir, 'theta-star-a1.bin')), 'written three days ago');

    await run(['cache', 'clear', '--cache-dir', dir]);
    assert.deepEqual(fs.readdirSync(dir).sort(), [live, 'notes.txt'].sort());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('ssse cache refuses what it cannot mean, naming the option', async () => {
  const dir = tempDir('ssse-cache-cmd-');
  try {
    const cases: [string[], RegExp][] = [
      [['cache', 'clear', '--older-than=-1'], /--older-than.*-1/],
      [['cache', 'clear', '--older-than', 'week'], /--older-than.*week/],
      [['cache', 'clear', '--kind', 'thetastar'], /--kind thetastar: no such kind \(known: theta-star, fisher, nn-theta-star, nn-fisher-columns, nn-fisher-factors\)/],
      [['cache', 'clear', '--kind', 'toString'], /--kind toString: no such kind/],
      [['cache', 'list', '--kind', 'fisher'], /cache list: --kind is an option of "ssse cache clear"/],
      [['cache', 'clear', '--json'], /cache clear: --json is an option of "ssse cache list"/],
      [['cache', 'prune'], /cache: unknown subcommand "prune" \(list or clear\)/],
    ];
    for (const [args, message] of cases) {
      const r = await run([...args, '--cache-dir', dir]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, message, args.join(' '));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

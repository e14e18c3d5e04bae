import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * In a quiet child process (a test runner's own allocations would trigger collections of their
 * own): allocates 32 MB of ArrayBuffers, young, below the 64 MB of outside memory at which V8
 * collects by itself, drops them, calls the named collection (or none, the control) and reports
 * how many MB are still held 300 ms later (V8 may release the memory off the thread).
 */
function heldAfter(collection: 'young' | 'full' | 'none', old = false): number {
  const script = `
    const { collectGarbage, collectYoungGarbage } = require('./main/engine/memory.ts');
    const MB = 2 ** 20;
    collectGarbage();
    setTimeout(() => {
      const base = process.memoryUsage().arrayBuffers;
      let kept = Array.from({ length: 8 }, (_, i) => new Float64Array(MB / 2).fill(i));
      if (${old}) { collectYoungGarbage(); collectYoungGarbage(); } // survives two scavenges: now old
      if (process.memoryUsage().arrayBuffers - base < 30 * MB) throw new Error('not allocated');
      kept = null;
      if ('${collection}' === 'young') collectYoungGarbage();
      if ('${collection}' === 'full') collectGarbage();
      setTimeout(() => console.log(JSON.stringify((process.memoryUsage().arrayBuffers - base) / MB)), 300);
    }, 50);`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  return Number(child.stdout.trim());
}

test('collectYoungGarbage frees the outside memory of young ArrayBuffers a block dropped; without it V8 keeps them', () => {
  const control = heldAfter('none');
  assert.ok(control >= 30, `control: with no collection ${control} MB stay held (this test needs that to tell anything)`);
  const young = heldAfter('young');
  assert.ok(young < 4, `after collectYoungGarbage ${young} MB are still held`);
});

test('collectGarbage, a full collection, also frees ArrayBuffers that have grown old, which a scavenge does not', () => {
  const scavenged = heldAfter('young', true);
  assert.ok(scavenged >= 30, `old buffers after a scavenge: ${scavenged} MB held`);
  const full = heldAfter('full', true);
  assert.ok(full < 4, `after collectGarbage ${full} MB are still held`);
});

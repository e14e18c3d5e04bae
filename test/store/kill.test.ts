/**
 * Crash tests: a child process running `ssse erase --model …` is killed with SIGKILL at exact
 * points (the SSSE_TEST_PAUSE_AT hook makes it stop and say so), and the store must hold either
 * the old state plus a request that can be resumed, or the full new state; never a half-written
 * model version, and no artefact file that survives the next writing command unrecorded.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { listArtefactFiles } from '../../db/artefacts.js';
import { counts, listArtefacts, listOperations, listRequests } from '../../db/queries.js';
import { copyStore, populatedStore, removalFile, ssse, type PopulatedStore } from '../helpers/storeFixtures.js';

const REPO = path.resolve(__dirname, '../..');
const CHILD = path.join(REPO, 'test', 'helpers', 'cliChild.ts');

/** Starts `ssse ARGS…` in a child process paused at `point`; resolves once it says it is paused, then kills it. */
function runAndKillAt(point: string, args: string[]): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], {
      cwd: REPO,
      env: { ...process.env, SSSE_TEST_PAUSE_AT: point },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let killed = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the child never paused at ${point}:\n${stderr}`));
    }, 60_000);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!killed && stderr.includes(`ssse-test: paused at ${point}`)) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (!killed) reject(new Error(`the child exited before pausing at ${point}:\n${stderr}`));
      else resolve({ signal, stderr });
    });
  });
}

/** The store as another reader sees it right after the crash (read-only: nothing is repaired). */
function inspect(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    return {
      counts: counts(db),
      requests: listRequests(db).map((r) => ({ id: r.id, status: r.status, result: r.result_model_id })),
      operations: listOperations(db).length,
      recorded: listArtefacts(db).map((a) => a.path),
    };
  } finally {
    db.close();
  }
}

describe('an erasure killed with SIGKILL', () => {
  let base: PopulatedStore;
  const dirs: string[] = [];
  before(async () => {
    base = await populatedStore('kill');
    dirs.push(base.dir);
  });
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const point of ['computing', 'write-staged', 'write-published'] as const) {
    test(`at "${point}" leaves the old state plus a resumable request; the next command cleans up and the request resumes`, async () => {
      const store = copyStore(base, `kill-${point}`);
      dirs.push(store.dir);
      const before = inspect(store.db);
      const filesBefore = listArtefactFiles(`${store.db}.artefacts`);
      const rm = removalFile(store.dir, 'r.txt', ['s0100', 's0101', 's0102', 's0103']);
      const { signal } = await runAndKillAt(point, ['erase', '--model', 'm@1', '--remove', rm, '--epsilon-sweep', '1,2', '--backend', 'cpu', '--db', store.db, '--actor', 'victim']);
      assert.equal(signal, 'SIGKILL');

      // Right after the crash: no new model version, no new artefact row; the request is
      // 'computing' with the lease of a dead process.
      const crashed = inspect(store.db);
      assert.deepEqual({ ...crashed.counts, requests: 0, audit_entries: 0 }, { ...before.counts, requests: 0, audit_entries: 0 });
      assert.deepEqual(crashed.recorded, before.recorded);
      assert.deepEqual(crashed.requests.at(-1), { id: 2, status: 'computing', result: null });
      assert.equal(crashed.operations, 1);
      const files = listArtefactFiles(`${store.db}.artefacts`);
      const extra = files.filter((f) => !filesBefore.includes(f));
      if (point === 'computing') assert.deepEqual(extra, []);
      if (point === 'write-staged') assert.match(extra.join(), /^\.staging\/parameters\.[0-9a-f]{16}\.npy$/);
      if (point === 'write-published') assert.match(extra.join(), /^parameters\/[0-9a-f]{16}\.npy$/);

      // What was committed still verifies: an unrecorded file is only a warning.
      const v = await ssse('audit', 'verify', '--db', store.db);
      assert.equal(v.code, 0, v.out);
      if (extra.length) assert.match(v.out, /warning: .*being written, or left by an interrupted write/);

      // The next writing command removes what the dead process left, marks the request failed…
      const resumed = await ssse('erase', '--resume', '2', '--db', store.db, '--backend', 'cpu');
      assert.equal(resumed.code, 0, resumed.out + resumed.err);
      assert.deepEqual(
        listArtefactFiles(`${store.db}.artefacts`).filter((f) => !filesBefore.includes(f)).length,
        1,
        'only the resumed run\'s own parameters file is new',
      );
      // …and the resumed request finishes: the full new state, verified.
      const after = inspect(store.db);
      assert.equal(after.counts.models, before.counts.models + 1);
      assert.deepEqual(after.requests.at(-1)?.status, 'verified');
      assert.equal(after.operations, 0);
      const log = JSON.parse((await ssse('audit', 'log', '--json', '--db', store.db)).out) as { action: string; actor: string; payload: Record<string, unknown> }[];
      const tail = log.filter((e) => (e.payload['request'] as number | undefined) === 2 || e.action === 'operation.recovered').map((e) => e.action);
      assert.deepEqual(tail, ['request.received', 'request.computing', 'request.failed', 'operation.recovered', 'request.computing', 'erasure.applied', 'verification.done']);
      const failed = log.find((e) => e.action === 'request.failed');
      assert.match(String(failed?.payload['reason']), /^interrupted: the process computing it \(pid \d+ on .*\) stopped before finishing; no model version was written\. Resume it with: ssse erase --resume 2$/);
      const recovered = log.find((e) => e.action === 'operation.recovered');
      assert.equal((recovered?.payload['removed_files'] as string[]).length, extra.length);
      const ok = await ssse('audit', 'verify', '--db', store.db);
      assert.equal(ok.code, 0, ok.out);
      assert.doesNotMatch(ok.out, /warning/);
    });
  }

  test('a request can only be resumed once it has failed', async () => {
    const r = await ssse('erase', '--resume', '1', '--db', base.db);
    assert.equal(r.code, 2);
    assert.match(r.err, /--resume: request #1 is verified; only a failed request can be resumed/);
  });
});

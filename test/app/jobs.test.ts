import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobView } from '../../preload/contract.js';
import { JobManager } from '../../main/app/jobs.js';
import type { EngineChild, FromWorker, ToWorker } from '../../main/worker/protocol.js';

/** An engine process stand-in: records what main sends, lets the test answer. */
class FakeChild implements EngineChild {
  sent: ToWorker[] = [];
  killed = false;
  private messageListeners: ((m: FromWorker) => void)[] = [];
  private exitListeners: ((code: number | null) => void)[] = [];
  send(m: ToWorker): void {
    this.sent.push(m);
  }
  onMessage(l: (m: FromWorker) => void): void {
    this.messageListeners.push(l);
  }
  onExit(l: (code: number | null) => void): void {
    this.exitListeners.push(l);
  }
  kill(): void {
    this.killed = true;
    this.exit(null);
  }
  post(m: FromWorker): void {
    for (const l of this.messageListeners) l(m);
  }
  exit(code: number | null): void {
    for (const l of this.exitListeners) l(code);
  }
}

function setup(options = {}) {
  const children: FakeChild[] = [];
  const events: JobView[] = [];
  const manager = new JobManager(() => {
    const c = new FakeChild();
    children.push(c);
    return c;
  }, (v) => events.push(v), options);
  return { children, events, manager };
}

const job = { kind: 'erase' as const, dbPath: '/tmp/x.db', cacheDir: null, payload: { requestId: 4 } };

test('a job runs in its own engine process; progress and the result flow back as job updates', async () => {
  const { children, events, manager } = setup({ progressIntervalMs: 0 });
  let result: unknown = null;
  const view = manager.start({ kind: 'erase', label: 'request 4', job, requestId: 4, onDone: (r) => (result = r) });
  assert.equal(children.length, 1);
  assert.deepEqual(children[0]?.sent, [{ type: 'run', job }]);
  assert.equal(view.state, 'running');
  assert.equal(view.requestId, 4);
  const c = children[0] as FakeChild;
  c.post({ type: 'progress', phase: 'train', done: 3, total: 10 });
  c.post({ type: 'progress', phase: 'train', done: 10, total: 10 });
  c.post({ type: 'progress', phase: 'sweep', done: 1, total: 25 });
  c.post({ type: 'done', result: { requestId: 4, gammaS: 0.8 } });
  const final = await manager.finished(view.jobId);
  assert.equal(final.state, 'done');
  assert.deepEqual(final.phases, [{ phase: 'train', done: 10, total: 10 }, { phase: 'sweep', done: 1, total: 25 }]);
  assert.deepEqual(result, { requestId: 4, gammaS: 0.8 });
  assert.equal(events.at(-1)?.state, 'done');
  assert.ok(events.some((e) => e.phases[0]?.done === 3));
  // The exit that follows a finished job changes nothing.
  c.exit(0);
  assert.equal(manager.list()[0]?.state, 'done');
});

test('progress is throttled, but a new phase and the end of a phase always go through', async () => {
  const { children, events, manager } = setup({ progressIntervalMs: 10_000 });
  const view = manager.start({ kind: 'erase', label: 'r', job });
  const c = children[0] as FakeChild;
  const before = events.length;
  c.post({ type: 'progress', phase: 'train', done: 1, total: 100 }); // new phase: sent
  for (let i = 2; i < 100; i++) c.post({ type: 'progress', phase: 'train', done: i, total: 100 }); // throttled
  c.post({ type: 'progress', phase: 'train', done: 100, total: 100 }); // end of phase: sent
  assert.equal(events.length - before, 2);
  assert.equal(events.at(-1)?.phases[0]?.done, 100);
  c.post({ type: 'done', result: null });
  await manager.finished(view.jobId);
});

test('cancel asks the engine to stop; a CANCELLED failure ends the job as cancelled', async () => {
  const { children, manager } = setup();
  let failure: unknown = null;
  const view = manager.start({ kind: 'erase', label: 'r', job, onFailed: (e) => (failure = e) });
  const c = children[0] as FakeChild;
  assert.equal(manager.cancel(view.jobId), true);
  assert.deepEqual(c.sent.at(-1), { type: 'cancel' });
  assert.equal(manager.list()[0]?.state, 'cancelling');
  assert.equal(manager.cancel(view.jobId), false); // already cancelling
  c.post({ type: 'failed', error: { code: 'CANCELLED', message: 'sweep was cancelled' } });
  const final = await manager.finished(view.jobId);
  assert.equal(final.state, 'cancelled');
  assert.deepEqual(failure, { code: 'CANCELLED', message: 'sweep was cancelled' });
  assert.equal(manager.cancel('no-such-job'), false);
});

test('an engine that ignores cancel is killed after the grace period', async () => {
  const { children, manager } = setup({ cancelGraceMs: 20 });
  const view = manager.start({ kind: 'erase', label: 'r', job });
  manager.cancel(view.jobId);
  const final = await manager.finished(view.jobId);
  assert.equal(children[0]?.killed, true);
  assert.equal(final.state, 'cancelled');
});

test('an engine process that dies without an answer fails the job with a message', async () => {
  const { children, manager } = setup();
  let failure: { code: string; message: string } | null = null;
  const view = manager.start({ kind: 'certify', label: 'certify v1', job, onFailed: (e) => (failure = e) });
  (children[0] as FakeChild).exit(134);
  const final = await manager.finished(view.jobId);
  assert.equal(final.state, 'failed');
  assert.match(final.error?.message ?? '', /engine process stopped \(exit code 134\) before finishing certify v1/);
  assert.ok(failure);
});

test('an error recording the result fails the job instead of losing it', async () => {
  const { children, manager } = setup();
  const view = manager.start({ kind: 'erase', label: 'r', job, onDone: () => { throw new Error('disk full'); } });
  (children[0] as FakeChild).post({ type: 'done', result: 1 });
  const final = await manager.finished(view.jobId);
  assert.equal(final.state, 'failed');
  assert.equal(final.error?.message, 'disk full');
});

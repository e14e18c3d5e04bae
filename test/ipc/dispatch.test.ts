import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APP_ORIGIN, INVOKE_CHANNELS, type InvokeChannel } from '../../preload/contract.js';
import { createDispatcher, isTrustedSender, originOf, type Handlers, type TrustPolicy } from '../../main/ipc/dispatch.js';
import { HandlerError } from '../../main/ipc/errors.js';
import { SsseError } from '../../main/engine/errors.js';

const policy: TrustPolicy = { origin: APP_ORIGIN, isOurWindow: (id) => id === 1 };
const ours = { webContentsId: 1, frameUrl: `${APP_ORIGIN}/index.html#/requests` };

/** Handlers that record their calls; every channel answers something of its result type. */
function recordingHandlers(calls: { channel: string; args: unknown }[]): Handlers {
  const h = {} as Record<InvokeChannel, (args: unknown) => unknown>;
  for (const c of INVOKE_CHANNELS) h[c] = (args) => {
    calls.push({ channel: c, args });
    return c === 'requests:list' ? [] : { echoed: args };
  };
  return h as unknown as Handlers;
}

test('originOf compares scheme and host, for custom schemes too', () => {
  assert.equal(originOf('app://ssse/index.html'), 'app://ssse');
  assert.equal(originOf('app://evil/index.html'), 'app://evil');
  assert.equal(originOf('https://ssse/x'), 'https://ssse');
  assert.equal(originOf('not a url'), null);
  assert.equal(originOf(null), null);
});

test('isTrustedSender needs both our window and our origin', () => {
  assert.equal(isTrustedSender(ours, policy), true);
  assert.equal(isTrustedSender({ webContentsId: 2, frameUrl: ours.frameUrl }, policy), false);
  assert.equal(isTrustedSender({ webContentsId: 1, frameUrl: 'https://example.com/' }, policy), false);
  assert.equal(isTrustedSender({ webContentsId: 1, frameUrl: 'file:///etc/passwd' }, policy), false);
  assert.equal(isTrustedSender({ webContentsId: 1, frameUrl: null }, policy), false);
});

test('a foreign sender is refused with FORBIDDEN and the handler never runs', async () => {
  const calls: { channel: string; args: unknown }[] = [];
  const dispatch = createDispatcher(recordingHandlers(calls), policy);
  for (const sender of [
    { webContentsId: 7, frameUrl: ours.frameUrl },
    { webContentsId: 1, frameUrl: 'https://attacker.example/' },
    { webContentsId: 1, frameUrl: null },
  ]) {
    const r = await dispatch('requests:list', sender, null);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'FORBIDDEN');
      assert.match(r.error.message, /requests:list: refused a call/);
    }
  }
  assert.equal(calls.length, 0);
});

test('an unknown channel is a VALIDATION error', async () => {
  const dispatch = createDispatcher(recordingHandlers([]), policy);
  const r = await dispatch('fs:readFile' as InvokeChannel, ours, null);
  assert.deepEqual(r, { ok: false, error: { code: 'VALIDATION', message: 'unknown channel "fs:readFile"' } });
});

test('bad arguments get VALIDATION errors that name the field, and never reach the handler', async () => {
  const calls: { channel: string; args: unknown }[] = [];
  const dispatch = createDispatcher(recordingHandlers(calls), policy);
  const good = {
    modelVersionId: 1,
    sampleIds: ['a', 'b'],
    subjectRef: 'subject-1',
    legalGround: 'consent withdrawn',
    actor: 'dpo',
    method: 'ssse',
    epsilon: { source: 'value', value: 2 },
    verify: 'retrain',
    receivedOn: '2026-01-31',
  };
  const cases: [unknown, RegExp][] = [
    [{ ...good, modelVersionId: -1 }, /modelVersionId/],
    [{ ...good, modelVersionId: 1.5 }, /modelVersionId/],
    [{ ...good, sampleIds: [] }, /sampleIds/],
    [{ ...good, sampleIds: ['ok', ''] }, /sampleIds\.1/],
    [{ ...good, subjectRef: '   ' }, /subjectRef/],
    [{ ...good, method: 'magic' }, /method/],
    [{ ...good, epsilon: { source: 'value', value: -1 } }, /epsilon\.value/],
    [{ ...good, epsilon: { source: 'value', value: Number.NaN } }, /epsilon\.value/],
    [{ ...good, epsilon: { source: 'guess' } }, /epsilon/],
    [{ ...good, receivedOn: '31/01/2026' }, /receivedOn: expected a date YYYY-MM-DD/],
    [{ ...good, extra: true }, /extra|Unrecognized/i],
    [null, /argument/],
    ['{"modelVersionId":1}', /argument/],
  ];
  for (const [args, pattern] of cases) {
    const r = await dispatch('requests:create', ours, args);
    assert.equal(r.ok, false, JSON.stringify(args));
    if (!r.ok) {
      assert.equal(r.error.code, 'VALIDATION');
      assert.match(r.error.message, pattern);
    }
  }
  assert.equal(calls.length, 0);
  const r = await dispatch('requests:create', ours, good);
  assert.equal(r.ok, true);
  assert.deepEqual(calls, [{ channel: 'requests:create', args: good }]);
});

test('channels without an argument accept null or nothing, and refuse anything else', async () => {
  const calls: { channel: string; args: unknown }[] = [];
  const dispatch = createDispatcher(recordingHandlers(calls), policy);
  assert.equal((await dispatch('requests:list', ours, null)).ok, true);
  assert.equal((await dispatch('requests:list', ours, undefined)).ok, true);
  const r = await dispatch('requests:list', ours, { sneaky: 1 });
  assert.equal(r.ok, false);
  assert.equal(calls.length, 2);
});

test('a handler that throws yields an error result with a code, never a rejection', async () => {
  const handlers = recordingHandlers([]);
  const failing = (e: unknown) => ({ ...handlers, 'requests:report': () => { throw e; } }) as Handlers;
  const cases: [unknown, string, RegExp][] = [
    [new HandlerError('NOT_FOUND', 'request 9 does not exist'), 'NOT_FOUND', /request 9/],
    [new SsseError('BAD_REQUEST', 'ids.txt: 2 entries name no training sample'), 'BAD_REQUEST', /ids\.txt/],
    [Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }), 'STORE', /audit store: database is locked/],
    [new TypeError('x is undefined'), 'INTERNAL', /x is undefined/],
  ];
  const quiet = console.error;
  console.error = () => undefined;
  try {
    for (const [e, code, message] of cases) {
      const r = await createDispatcher(failing(e), policy)('requests:report', ours, { requestId: 9 });
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.code, code);
        assert.match(r.error.message, message);
        assert.deepEqual(Object.keys(r.error).sort(), ['code', 'message']);
      }
    }
  } finally {
    console.error = quiet;
  }
});

test('results are shaped {ok: true, value}', async () => {
  const dispatch = createDispatcher(recordingHandlers([]), policy);
  const r = await dispatch('requests:report', ours, { requestId: 3 });
  assert.deepEqual(r, { ok: true, value: { echoed: { requestId: 3 } } });
});

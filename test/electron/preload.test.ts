import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { API_KEY, METHODS, SUBSCRIPTIONS, type SsseApi } from '../../preload/contract.js';
import { fakeElectron, installFakeElectron } from '../helpers/fakeElectron.js';

test('the preload exposes one named method per channel and subscriptions that return an unsubscribe, never ipcRenderer', async () => {
  const fake = fakeElectron('/nowhere', '/nowhere');
  installFakeElectron(fake);
  await import('../../preload/preload.js');
  const api = fake.exposed.get(API_KEY) as SsseApi & Record<string, unknown>;
  assert.deepEqual(Object.keys(api).sort(), [...Object.keys(METHODS), ...Object.keys(SUBSCRIPTIONS)].sort());
  assert.ok(!('invoke' in api) && !('ipcRenderer' in api) && !('send' in api));

  assert.deepEqual(await api.listRequests(), { ok: true, value: 'requests:list' });
  await api.requestReport({ requestId: 3 });
  assert.deepEqual(fake.invoked, [['requests:list', null], ['requests:report', { requestId: 3 }]]);

  const seen: unknown[] = [];
  const unsubscribe = api.onJobUpdate((job) => seen.push(job.jobId));
  const [listener] = fake.rendererListeners.get('jobs:update') ?? [];
  assert.ok(listener);
  listener({ sender: 'hidden' }, { jobId: 'j1' });
  assert.deepEqual(seen, ['j1']);
  unsubscribe();
  assert.equal(fake.rendererListeners.get('jobs:update')?.length, 0);
});

test('the bundled preload requires nothing but electron (a sandboxed preload can load nothing else)', async () => {
  const out = await build({ entryPoints: ['preload/preload.ts'], bundle: true, platform: 'node', format: 'cjs', external: ['electron'], write: false, logLevel: 'silent' });
  const code = out.outputFiles[0]?.text ?? '';
  const required = [...code.matchAll(/require\(["']([^"']+)["']\)/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(required)], ['electron']);
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { APP_ORIGIN, INVOKE_CHANNELS } from '../../preload/contract.js';
import { fakeElectron, installFakeElectron, type FakeElectron } from '../helpers/fakeElectron.js';
import { tempDir } from '../helpers/fixtures.js';

// The Electron main process against a stand-in 'electron' module: the window's security
// settings, the app:// protocol, navigation and new windows denied, and every channel bound to
// the dispatcher (which refuses callers that are not our window's app:// frame).

let fake: FakeElectron;
let dir: string;

before(async () => {
  dir = tempDir('ssse-electron-main-');
  const appPath = path.join(dir, 'app');
  fs.mkdirSync(path.join(appPath, 'renderer', 'dist', 'assets'), { recursive: true });
  fs.writeFileSync(path.join(appPath, 'renderer', 'dist', 'index.html'), '<!doctype html><title>t</title>');
  fs.writeFileSync(path.join(appPath, 'renderer', 'dist', 'assets', 'a.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'secret.txt'), 'secret');
  process.env['SSSE_DB'] = path.join(dir, 'ssse.db');
  fake = fakeElectron(appPath, path.join(dir, 'user-data'));
  installFakeElectron(fake);
  await import('../../main/electron/main.js');
  await fake.ready();
});

after(() => {
  for (const l of fake.appListeners.get('before-quit') ?? []) l();
  delete process.env['SSSE_DB'];
  fs.rmSync(dir, { recursive: true, force: true });
});

test('one window: context isolation, sandbox, no Node integration, our preload, loaded from app://', () => {
  assert.equal(fake.windows.length, 1);
  const w = fake.windows[0];
  assert.ok(w);
  const prefs = w.options['webPreferences'] as Record<string, unknown>;
  assert.equal(prefs['contextIsolation'], true);
  assert.equal(prefs['sandbox'], true);
  assert.equal(prefs['nodeIntegration'], false);
  assert.equal(prefs['nodeIntegrationInWorker'], false);
  assert.equal(prefs['webviewTag'], false);
  assert.equal(prefs['webSecurity'], true);
  assert.match(String(prefs['preload']), /preload[/\\]preload\.js$/);
  assert.equal(w.url, `${APP_ORIGIN}/index.html`);
  assert.deepEqual(fake.privileged, [{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
});

test('new windows are denied and navigation away from app:// is cancelled, for every web contents', () => {
  const created = fake.appListeners.get('web-contents-created')?.[0];
  assert.ok(created);
  const handlers = new Map<string, (...a: unknown[]) => void>();
  let openHandler: (() => { action: string }) | null = null;
  created({}, {
    setWindowOpenHandler: (h: () => { action: string }) => (openHandler = h),
    on: (event: string, h: (...a: unknown[]) => void) => handlers.set(event, h),
  });
  assert.deepEqual((openHandler as unknown as () => { action: string })(), { action: 'deny' });
  for (const event of ['will-navigate', 'will-redirect']) {
    for (const [url, blocked] of [['https://example.com/', true], ['file:///etc/passwd', true], ['app://other/x', true], [`${APP_ORIGIN}/index.html#/audit`, false]] as const) {
      let prevented = false;
      handlers.get(event)?.({ preventDefault: () => (prevented = true) }, url);
      assert.equal(prevented, blocked, `${event} ${url}`);
    }
  }
  let webview = false;
  handlers.get('will-attach-webview')?.({ preventDefault: () => (webview = true) });
  assert.equal(webview, true);
  let granted: boolean | null = null;
  fake.permissionRequest?.({}, 'media', (ok: boolean) => (granted = ok));
  assert.equal(granted, false);
});

test('app:// serves the renderer with a CSP and nothing outside it', async () => {
  const handler = fake.protocolHandlers.get('app');
  assert.ok(handler);
  const index = await handler({ url: `${APP_ORIGIN}/index.html` });
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/);
  assert.equal(index.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal((await handler({ url: `${APP_ORIGIN}/assets/a.js` })).headers.get('content-type'), 'text/javascript; charset=utf-8');
  for (const url of [`${APP_ORIGIN}/../../secret.txt`, `${APP_ORIGIN}/%2e%2e/%2e%2e/secret.txt`, `${APP_ORIGIN}/missing.js`, 'app://other/index.html']) {
    assert.equal((await handler({ url })).status, 404, url);
  }
});

test('every channel is bound; a call from our window works, one from elsewhere is refused', async () => {
  assert.deepEqual([...fake.ipcHandlers.keys()].sort(), [...INVOKE_CHANNELS].sort());
  const handle = fake.ipcHandlers.get('requests:list');
  assert.ok(handle);
  const id = fake.windows[0]?.webContents.id;
  const ok = await handle({ sender: { id }, senderFrame: { url: `${APP_ORIGIN}/index.html` } }, null);
  assert.deepEqual(ok, { ok: true, value: [] });
  for (const event of [
    { sender: { id: 999 }, senderFrame: { url: `${APP_ORIGIN}/index.html` } },
    { sender: { id }, senderFrame: { url: 'https://evil.example/' } },
    { sender: { id }, senderFrame: null },
  ]) {
    const r = (await handle(event, null)) as { ok: boolean; error?: { code: string } };
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'FORBIDDEN');
  }
  const bad = (await fake.ipcHandlers.get('requests:report')?.({ sender: { id }, senderFrame: { url: `${APP_ORIGIN}/` } }, { requestId: -1 })) as { error: { code: string } };
  assert.equal(bad.error.code, 'VALIDATION');
});

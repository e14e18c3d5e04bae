import { app, BrowserWindow, ipcMain, protocol, session } from 'electron';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { APP_HOST, APP_ORIGIN, APP_SCHEME } from '../../preload/contract.js';
import { createWorkstation } from '../app/workstation.js';
import { CONTENT_SECURITY_POLICY, mimeType, resolveAppFile } from '../app/staticFiles.js';
import { createDispatcher, ELECTRON_TRUST, originOf } from '../ipc/dispatch.js';
import { bindIpc, sendEvent } from './ipc.js';
import { electronReportExport } from './reportExport.js';
import { utilityEngine } from './utilityEngine.js';

/**
 * The Electron main process, kept thin: one locked-down window showing the renderer from the
 * app:// scheme, the IPC channels bound to the dispatcher, the engine in a utilityProcess. All
 * behaviour lives in plain modules (main/app, main/ipc) that the tests drive without Electron.
 */
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

const appRoot = app.getAppPath();
const rendererRoot = path.join(appRoot, 'renderer', 'dist');
const windows = new Set<BrowserWindow>();

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 960,
    minHeight: 640,
    title: 'SSSE audit workstation',
    show: false,
    webPreferences: {
      preload: path.join(__dirname, '..', '..', 'preload', 'preload.js'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  windows.add(win);
  win.on('closed', () => windows.delete(win));
  win.once('ready-to-show', () => win.show());
  void win.loadURL(`${APP_ORIGIN}/index.html`);
  return win;
}

// Every web contents, present or future: no new windows, no navigation away from our origin, no webviews.
app.on('web-contents-created', (_event, contents) => {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event, url) => {
    if (originOf(url) !== APP_ORIGIN) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (originOf(url) !== APP_ORIGIN) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
});

app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(rendererRoot, request.url, APP_HOST);
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) return new Response('not found', { status: 404 });
    const body = await fs.promises.readFile(file);
    return new Response(body, {
      headers: { 'content-type': mimeType(file), 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff' },
    });
  });

  const userData = app.getPath('userData');
  const workstation = createWorkstation({
    dbPath: process.env['SSSE_DB'] ?? path.join(userData, 'ssse.db'),
    cacheDir: process.env['SSSE_CACHE_DIR'] ?? path.join(userData, 'cache'),
    appVersion: app.getVersion(),
    spawn: utilityEngine,
    emit: (channel, payload) => sendEvent([...windows].map((w) => w.webContents), channel, payload),
    reports: electronReportExport(),
  });
  bindIpc(ipcMain, createDispatcher(workstation.handlers, ELECTRON_TRUST(() => [...windows].map((w) => w.webContents.id))));
  app.on('before-quit', () => workstation.close());

  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
}).catch((e: unknown) => {
  console.error('ssse: the app could not start:', e);
  app.exit(1);
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

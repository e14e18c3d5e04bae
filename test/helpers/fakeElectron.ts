/**
 * A stand-in for the 'electron' module (whose binary cannot run in plain Node): records what the
 * main process and the preload ask of it, so tests can check the window's security settings,
 * the protocol, the IPC bindings and the exposed API without Electron.
 */
import { Module } from 'node:module';
import * as path from 'node:path';

type Listener = (...args: unknown[]) => unknown;

export interface FakeElectron {
  module: Record<string, unknown>;
  windows: { options: Record<string, unknown>; url: string | null; webContents: { id: number; sent: [string, unknown][] } }[];
  appListeners: Map<string, Listener[]>;
  privileged: unknown[];
  protocolHandlers: Map<string, (request: { url: string }) => Promise<Response>>;
  ipcHandlers: Map<string, Listener>;
  permissionRequest: Listener | null;
  exposed: Map<string, unknown>;
  rendererListeners: Map<string, Listener[]>;
  invoked: [string, unknown][];
  ready(): Promise<void>;
}

export function fakeElectron(appPath: string, userData: string): FakeElectron {
  let resolveReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((r) => (resolveReady = r));
  const f: FakeElectron = {
    module: {},
    windows: [],
    appListeners: new Map(),
    privileged: [],
    protocolHandlers: new Map(),
    ipcHandlers: new Map(),
    permissionRequest: null,
    exposed: new Map(),
    rendererListeners: new Map(),
    invoked: [],
    ready: () => {
      resolveReady();
      return new Promise((r) => setTimeout(r, 50));
    },
  };
  let nextId = 1;
  class BrowserWindow {
    webContents: { id: number; sent: [string, unknown][]; isDestroyed(): boolean; send(c: string, p: unknown): void };
    constructor(options: Record<string, unknown>) {
      const webContents = {
        id: nextId++,
        sent: [] as [string, unknown][],
        isDestroyed: () => false,
        send(c: string, p: unknown) {
          this.sent.push([c, p]);
        },
      };
      this.webContents = webContents;
      f.windows.push({ options, url: null, webContents });
    }
    static getAllWindows() {
      return f.windows;
    }
    on() {}
    once() {}
    show() {}
    loadURL(url: string) {
      const w = f.windows.find((x) => x.webContents === this.webContents);
      if (w) w.url = url;
      return Promise.resolve();
    }
  }
  f.module = {
    app: {
      getAppPath: () => appPath,
      getPath: (name: string) => (name === 'userData' ? userData : path.join(userData, name)),
      getVersion: () => '0.0.0-test',
      whenReady: () => readyPromise,
      on: (event: string, l: Listener) => f.appListeners.set(event, [...(f.appListeners.get(event) ?? []), l]),
      exit: () => undefined,
      quit: () => undefined,
    },
    BrowserWindow,
    ipcMain: { handle: (channel: string, l: Listener) => f.ipcHandlers.set(channel, l) },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => f.privileged.push(...schemes),
      handle: (scheme: string, h: (request: { url: string }) => Promise<Response>) => f.protocolHandlers.set(scheme, h),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (l: Listener) => (f.permissionRequest = l),
        setPermissionCheckHandler: () => undefined,
      },
    },
    utilityProcess: { fork: () => { throw new Error('no utility process in tests'); } },
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => f.exposed.set(key, api) },
    ipcRenderer: {
      invoke: (channel: string, args: unknown) => {
        f.invoked.push([channel, args]);
        return Promise.resolve({ ok: true, value: channel });
      },
      on: (channel: string, l: Listener) => f.rendererListeners.set(channel, [...(f.rendererListeners.get(channel) ?? []), l]),
      removeListener: (channel: string, l: Listener) => f.rendererListeners.set(channel, (f.rendererListeners.get(channel) ?? []).filter((x) => x !== l)),
    },
  };
  return f;
}

/** Makes require('electron') return the fake (the real one throws outside Electron). */
export function installFakeElectron(fake: FakeElectron): void {
  const resolved = require.resolve('electron');
  const mod = new Module(resolved);
  mod.exports = fake.module;
  mod.loaded = true;
  require.cache[resolved] = mod;
}

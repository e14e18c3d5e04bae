import { contextBridge, ipcRenderer } from 'electron';
import { API_KEY, METHODS, SUBSCRIPTIONS, type EventChannel, type SsseApi } from './contract.js';

/**
 * The sandboxed preload (bundled into one file: a sandboxed preload cannot require our modules).
 * It exposes one named method per channel and one subscription per event, never ipcRenderer.
 */
const api: Record<string, unknown> = {};
for (const [name, channel] of Object.entries(METHODS)) {
  api[name] = (args?: unknown) => ipcRenderer.invoke(channel, args ?? null);
}
for (const [name, channel] of Object.entries(SUBSCRIPTIONS) as [string, EventChannel][]) {
  api[name] = (listener: (payload: unknown) => void) => {
    const handler = (_event: Electron.IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(channel, handler);
    return () => {
      ipcRenderer.removeListener(channel, handler);
    };
  };
}

contextBridge.exposeInMainWorld(API_KEY, api as SsseApi);

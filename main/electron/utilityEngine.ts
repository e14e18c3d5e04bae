import { utilityProcess } from 'electron';
import * as path from 'node:path';
import type { EngineChild, FromWorker, SpawnEngine } from '../worker/protocol.js';

/** Starts the engine in Electron's utilityProcess: a Node process of its own, off the main thread. */
export const utilityEngine: SpawnEngine = (): EngineChild => {
  const child = utilityProcess.fork(path.join(__dirname, '..', 'worker', 'engineWorker.js'), [], {
    serviceName: 'SSSE engine',
    stdio: 'inherit',
  });
  return {
    send: (message) => child.postMessage(message),
    onMessage: (listener) => child.on('message', (m: unknown) => listener(m as FromWorker)),
    onExit: (listener) => child.on('exit', (code: number) => listener(code)),
    kill: () => {
      child.kill();
    },
  };
};

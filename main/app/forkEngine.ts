import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineChild, FromWorker, SpawnEngine } from '../worker/protocol.js';

/**
 * Starts the engine process with Node's child_process.fork: how the browser tests and the
 * command line run jobs off their main thread. The app uses Electron's utilityProcess instead
 * (main/electron/utilityEngine.ts); both speak the same protocol to the same entry point.
 */
export function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = path.join(__dirname, '..', 'worker', 'engineWorker.js');
  if (fs.existsSync(compiled)) return { file: compiled, execArgv: [] };
  // Running from sources (tsx): load the TypeScript entry through tsx's loader.
  return { file: path.join(__dirname, '..', 'worker', 'engineWorker.ts'), execArgv: ['--import', 'tsx'] };
}

export const forkEngine: SpawnEngine = (): EngineChild => {
  const entry = workerEntry();
  const child = fork(entry.file, [], { execArgv: entry.execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    send: (message) => {
      if (child.connected) child.send(message);
    },
    onMessage: (listener) => child.on('message', (m) => listener(m as FromWorker)),
    onExit: (listener) => child.on('exit', (code) => listener(code)),
    kill: () => {
      child.kill('SIGKILL');
    },
  };
};

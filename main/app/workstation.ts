import * as os from 'node:os';
import type { EventChannel, EventMap } from '../../preload/contract.js';
import type { Handlers } from '../ipc/dispatch.js';
import type { SpawnEngine } from '../worker/protocol.js';
import { createHandlers } from './handlers.js';
import { JobManager } from './jobs.js';
import { createReportExporter, type ReportExportDeps } from './reportExporter.js';
import { openWorkstationStore } from './storeViews.js';

export interface WorkstationOptions {
  dbPath: string;
  cacheDir: string | null;
  appVersion: string;
  /** How engine processes start: Electron's utilityProcess in the app, child_process.fork in tests. */
  spawn: SpawnEngine;
  /** Pushes an event to the renderer(s). */
  emit: <C extends EventChannel>(channel: C, payload: EventMap[C]) => void;
  /** Signed PDF exports (Electron's printer, key and save dialog); absent: the channel answers RESOURCE. */
  reports?: ReportExportDeps;
}

export interface Workstation {
  handlers: Handlers;
  jobs: JobManager;
  close(): void;
}

function osUser(): string {
  try {
    return os.userInfo().username || 'workstation';
  } catch {
    return 'workstation';
  }
}

/**
 * Everything behind the IPC channels, with no Electron in sight: the audit store (opened, created
 * and migrated at start; interrupted work from an earlier run cleaned up), the job manager and
 * the handlers. main/electron/main.ts binds it to ipcMain; the browser tests bind it to a page.
 */
export function createWorkstation(options: WorkstationOptions): Workstation {
  const user = osUser();
  const store = openWorkstationStore(options.dbPath, user);
  store.recover();
  const jobs = new JobManager(options.spawn, (view) => options.emit('jobs:update', view));
  const reports = options.reports ? createReportExporter(store.store, options.reports) : null;
  const handlers = createHandlers({ store, jobs, dbPath: store.store.file, cacheDir: options.cacheDir, appVersion: options.appVersion, user, reports });
  return {
    handlers,
    jobs,
    close: () => {
      jobs.stopAll();
      store.close();
    },
  };
}

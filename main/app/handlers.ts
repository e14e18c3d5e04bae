import type {
  AppInfo,
  AuditEntryView,
  AuditListArgs,
  AuditVerifyView,
  ModelView,
  RequestListItem,
  RequestReport,
  SampleValidation,
  ValidateSamplesArgs,
} from '../../preload/contract.js';
import { ENGINE_VERSION } from '../engine/erase.js';
import type { Handlers } from '../ipc/dispatch.js';
import { HandlerError } from '../ipc/errors.js';
import type { ErasePayload } from '../worker/jobs.js';
import type { JobManager } from './jobs.js';
import type { ReportExporter } from './reportExporter.js';

/**
 * What the handlers need from the audit store, in the contract's shapes. The implementation
 * (main/app/storeViews.ts) reads and writes the real SQLite store; nothing here knows SQL.
 */
export interface WorkstationStore {
  listModels(): ModelView[];
  listRequests(): RequestListItem[];
  validateSamples(args: ValidateSamplesArgs): SampleValidation;
  report(requestId: number): RequestReport;
  listAudit(args: AuditListArgs): AuditEntryView[];
  verifyAudit(): AuditVerifyView;
  /** "name v3" for a model version; NOT_FOUND when there is none. */
  versionLabel(modelVersionId: number): string;
  /** Cleans up after jobs whose engine process died (a killed job leaves a lease behind). */
  recover(): void;
}

export interface WorkstationDeps {
  store: WorkstationStore;
  jobs: JobManager;
  dbPath: string;
  cacheDir: string | null;
  appVersion: string;
  /** The default actor (the operating-system user). */
  user: string;
  /** Signed PDF exports; null where there is nothing to print with. */
  reports: ReportExporter | null;
}

/**
 * Every channel's handler: plain functions of validated arguments (the dispatcher has checked
 * the sender and the schema). Reads go to the store in this process; long work (training,
 * certification, erasure) goes to an engine process through the job manager.
 */
export function createHandlers(deps: WorkstationDeps): Handlers {
  const { store, jobs, dbPath, cacheDir } = deps;
  const afterJob = () => {
    try {
      store.recover();
    } catch (e) {
      console.error('ssse: recovering after a job failed:', e);
    }
  };
  return {
    'app:info': (): AppInfo => ({ version: deps.appVersion, user: deps.user, engineVersion: ENGINE_VERSION, databasePath: dbPath, platform: process.platform }),
    'models:list': () => store.listModels(),
    'models:train': (args) => {
      const view = jobs.start({ kind: 'train', label: `train model ${args.name}`, job: { kind: 'train', dbPath, cacheDir, payload: args }, onFailed: afterJob });
      return { jobId: view.jobId, requestId: null };
    },
    'models:certify': (args) => {
      const label = store.versionLabel(args.modelVersionId);
      const view = jobs.start({
        kind: 'certify',
        label: `certify ${label}`,
        job: { kind: 'certify', dbPath, cacheDir, payload: args },
        modelVersionId: args.modelVersionId,
        onFailed: afterJob,
      });
      return { jobId: view.jobId, requestId: null };
    },
    'requests:list': () => store.listRequests(),
    'requests:validate': (args) => store.validateSamples(args),
    'requests:create': async (args) => {
      const modelRef = store.versionLabel(args.modelVersionId);
      const payload: ErasePayload = { ...args, modelRef };
      const view = jobs.start({
        kind: 'erase',
        label: `erasure on ${modelRef}`,
        job: { kind: 'erase', dbPath, cacheDir, payload },
        modelVersionId: args.modelVersionId,
        onFailed: afterJob,
      });
      // The engine process records the request first (received, or rejected with its reason)
      // and reports its id; the renderer opens the request with it.
      const requestId = await jobs.requestIdOf(view.jobId);
      return { jobId: view.jobId, requestId };
    },
    'requests:report': (args) => store.report(args.requestId),
    'reports:export': (args) => {
      if (!deps.reports) throw new HandlerError('RESOURCE', 'exporting a signed PDF needs the desktop app (or the command line: ssse report --request ID --pdf FILE)');
      return deps.reports.exportPdf(args.requestId, args.actor);
    },
    'jobs:list': () => jobs.list(),
    'jobs:cancel': (args) => {
      if (!jobs.list().some((j) => j.jobId === args.jobId)) throw new HandlerError('NOT_FOUND', `job ${args.jobId} does not exist`);
      return { cancelling: jobs.cancel(args.jobId) };
    },
    'audit:list': (args) => store.listAudit(args),
    'audit:verify': () => store.verifyAudit(),
  };
}

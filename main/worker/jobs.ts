/**
 * The jobs the engine process runs, each the same code path as its command-line counterpart
 * (main/store/): train and register a model, certify a version (and calibrate ε), carry out an
 * erasure request. Each opens the audit store itself, acting as the person who started it.
 */
import { withStore } from '../../db/connection.js';
import { getModel, latestCalibration } from '../../db/queries.js';
import type { CertifyArgs, IpcError, NewRequestArgs, TrainModelArgs } from '../../preload/contract.js';
import { initBackend } from '../engine/backend.js';
import { loadDataset, type LoadOptions } from '../engine/data/dataset.js';
import { SsseError } from '../engine/errors.js';
import { DEFAULT_CONFIG } from '../engine/erase.js';
import type { PhaseControl, ProgressEvent } from '../engine/progress.js';
import { WorkerPool } from '../engine/workers/pool.js';
import { calibrate, certifyModel } from '../store/certify.js';
import { parseDate } from '../store/dates.js';
import { submitErasure } from '../store/erasure.js';
import { trainModel } from '../store/models.js';
import { toIpcError } from '../ipc/errors.js';
import type { WorkerJob } from './protocol.js';
import { bundledDataset } from '../cli/commands/erase.js';
import { DEFAULT_FISHER_METHOD } from '../engine/linear/fisher.js';

/** An erasure job: the request as entered, with the model version named as NAME@VERSION. */
export type ErasePayload = NewRequestArgs & { modelRef: string };

export interface JobControl extends PhaseControl {
  /** Reports the id of the request an erasure job has recorded. */
  onRequest?: (requestId: number) => void;
}

export interface TrainResult {
  modelVersionId: number;
}
export interface CertifyResult {
  certificationId: number;
  created: boolean;
  calibrationId: number | null;
}
export interface EraseResult {
  requestId: number;
  status: string;
  resultVersionId: number | null;
}

/** A failure of the job itself (the request was rejected or failed): the job ends with this error. */
export class JobFailure extends Error {
  constructor(readonly error: IpcError) {
    super(error.message);
  }
}

function limits(args: { limitTrain: number | null; limitTest: number | null }): LoadOptions {
  const out: LoadOptions = {};
  if (args.limitTrain !== null) out.limitTrain = args.limitTrain;
  if (args.limitTest !== null) out.limitTest = args.limitTest;
  return out;
}

async function train(job: WorkerJob, args: TrainModelArgs, control: JobControl): Promise<TrainResult> {
  control.onProgress?.({ phase: 'load', done: 0, total: 1 });
  const opts = limits(args);
  const dataset = loadDataset(args.datasetDir ?? bundledDataset(), opts);
  control.onProgress?.({ phase: 'load', done: 1, total: 1 });
  return withStore(job.dbPath, { mode: 'write', actor: args.actor }, async (store) => {
    const model = await trainModel(store, args.name, dataset, opts, { l2: args.l2, seed: args.seed, tolerance: DEFAULT_CONFIG.tolerance, ...control });
    return { modelVersionId: model.id };
  });
}

async function certify(job: WorkerJob, args: CertifyArgs, control: JobControl): Promise<CertifyResult> {
  return withStore(job.dbPath, { mode: 'write', actor: args.actor }, async (store) => {
    const model = getModel(store.db, args.modelVersionId);
    if (!model) throw new SsseError('BAD_ARGUMENT', `model version #${args.modelVersionId} does not exist in ${store.file}`);
    const { certification, created } = await certifyModel(store, model, {
      curvature: args.method === 'ssse-expected' ? 'expected' : 'empirical',
      damping: args.damping,
      method: DEFAULT_FISHER_METHOD,
      ...control,
    });
    let calibrationId: number | null = null;
    if (args.calibrate) {
      const existing = created ? null : latestCalibration(store.db, certification.id);
      const onProgress = (e: ProgressEvent) => control.onProgress?.({ ...e, phase: e.phase === 'sweep' ? 'sweep' : `calibrate: ${e.phase}` });
      calibrationId =
        existing?.id ??
        (await calibrate(store, model, certification, { fraction: 0.02, seed: model.seed, epsilonGrid: null, tolerance: DEFAULT_CONFIG.tolerance, ...control, onProgress })).id;
    }
    return { certificationId: certification.id, created, calibrationId };
  });
}

/** The received time: now for today's date (the usual case), else midnight UTC of the given day. */
function receivedAt(day: string | null): string | null {
  if (day === null || day === new Date().toISOString().slice(0, 10)) return null;
  return parseDate('received', day);
}

async function erase(job: WorkerJob, args: ErasePayload, control: JobControl): Promise<EraseResult> {
  return withStore(job.dbPath, { mode: 'write', actor: args.actor }, async (store) => {
    const e = args.epsilon;
    const result = await submitErasure(
      store,
      {
        modelRef: args.modelRef,
        removal: { lines: args.sampleIds, source: 'sample ids entered in the workstation' },
        subject: args.subjectRef,
        legalGround: args.legalGround,
        receivedAt: receivedAt(args.receivedOn),
        dueAt: null,
        settings: {
          epsilon: e.source === 'value' ? e.value : null,
          epsilonGrid: e.source === 'sweep' ? e.grid : null,
          epsilonFromCalibration: e.source === 'calibration',
          verify: args.verify,
          damping: null,
          curvature: args.method === 'ssse-expected' ? 'expected' : 'empirical',
          fisherMethod: null,
          tolerance: DEFAULT_CONFIG.tolerance,
        },
        onReceived: (request) => control.onRequest?.(request.id),
      },
      control,
    );
    const r = result.request;
    if (r.status === 'rejected') throw new JobFailure({ code: 'BAD_REQUEST', message: `request ${r.id} was rejected: ${r.reason ?? 'no reason recorded'}` });
    if (r.status === 'failed') {
      const cause = toIpcError(result.error);
      throw new JobFailure({ code: cause.code, message: `request ${r.id} failed: ${r.reason ?? cause.message}` });
    }
    return { requestId: r.id, status: r.status, resultVersionId: r.result_model_id };
  });
}

export async function runJob(job: WorkerJob, control: JobControl): Promise<TrainResult | CertifyResult | EraseResult> {
  const backend = await initBackend('auto');
  // One set of worker threads for the job's phases (a certification's Fisher build, then its
  // calibration's retraining), started while the job loads its data; or the caller's.
  const pool = control.pool ?? new WorkerPool(backend.name);
  const withPool: JobControl = { ...control, pool };
  try {
    switch (job.kind) {
      case 'train':
        return await train(job, job.payload as TrainModelArgs, withPool);
      case 'certify':
        return await certify(job, job.payload as CertifyArgs, withPool);
      case 'erase':
        return await erase(job, job.payload as ErasePayload, withPool);
      default:
        throw new SsseError('BAD_ARGUMENT', `unknown engine job kind "${String((job as { kind: unknown }).kind)}"`);
    }
  } finally {
    if (!control.pool) await pool.close();
  }
}

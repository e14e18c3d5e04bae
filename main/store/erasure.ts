/**
 * Erasure requests against stored models: received → computing → applied → verified, or
 * rejected (a bad request, with its reason) or failed (a processing error, an interruption or
 * a cancellation; such a request can be resumed).
 *
 * Every request is recorded first, so that even a bad one leaves a trace. It then runs against
 * the stored artefacts (θ of the named version and its certified F̂⁻¹, both checked against their
 * SHA-256) with the engine's eraseLinear, and produces the next version of the model. The new
 * version's parameters, its model row, the request's metrics and the audit entries are
 * committed together (operations.ts), so that a process killed at any point leaves either the
 * old state plus a request that can be resumed, or the full new state.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendAudit } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import {
  getCertification,
  getMeta,
  getModel,
  getRequest,
  insertModel,
  insertRequest,
  insertRequestSamples,
  insertSweepRows,
  latestCalibration,
  listCertifications,
  listRequestSamples,
  maxModelVersion,
  transaction,
  transitionRequest,
  type CalibrationRow,
  type CertificationRow,
  type ModelRow,
  type RequestRow,
  type RequestSampleRow,
  type RequestUpdate,
} from '../../db/queries.js';
import { recordRef } from '../../db/records.js';
import { resolveRemoval } from '../engine/data/removal.js';
import type { Dataset } from '../engine/data/types.js';
import { isSsseError, SsseError } from '../engine/errors.js';
import { DEFAULT_CONFIG, eraseLinear, type EraseOutcome } from '../engine/erase.js';
import { sha256Bytes } from '../engine/hash.js';
import type { Curvature, FisherMethod } from '../engine/linear/fisher.js';
import type { ProgressEvent, PhaseControl } from '../engine/progress.js';
import { loadFisher, versionData } from './certify.js';
import { addOneMonth } from './dates.js';
import { datasetOf, erasedRows, loadRegisteredDataset } from './datasets.js';
import { loadParameters, modelLabel, parametersNpy, parseModelRef, resolveModel } from './models.js';
import { beginOperation, endOperation, now, recoverInterrupted, writeArtefacts } from './operations.js';
import { subjectHash } from './subjects.js';
import { pauseIfRequested } from './testHooks.js';

export interface ErasureSettings {
  /** The ε to apply; null: the sweep's (with verify retrain) or the certification's calibration. */
  epsilon: number | null;
  epsilonGrid: number[] | null;
  verify: 'retrain' | 'none';
  /** Which certification to use; null picks the model's only one, or the one with λ_F = λ, empirical, cholesky. */
  damping: number | null;
  curvature: Curvature | null;
  fisherMethod: FisherMethod | null;
  /** Training tolerance of the retrained model (verify retrain). */
  tolerance: number;
  /** Take ε from the certification's latest calibration even when retraining verifies (ε must then be null). */
  epsilonFromCalibration?: boolean;
}

export interface ErasureInput {
  /** NAME or NAME@VERSION (latest version when omitted). */
  modelRef: string;
  /** A removal file, or its lines with a name for messages. */
  removal: { file: string } | { lines: string[]; source: string };
  /** The data subject's reference, stored only as a salted hash. */
  subject: string | null;
  legalGround: string | null;
  /** ISO times; received defaults to now, due to one month after receipt. */
  receivedAt: string | null;
  dueAt: string | null;
  settings: ErasureSettings;
  /** Called once the request is recorded (before it is planned or computed), e.g. to show its id. */
  onReceived?: (request: RequestRow) => void;
}

export interface ErasureResult {
  request: RequestRow;
  /** The new model version (status applied or verified). */
  model: ModelRow | null;
  outcome: EraseOutcome | null;
  /** What made the request fail (status failed). */
  error: unknown;
}

/** The settings as resolved when the request was planned: enough to run (or resume) it. */
interface ResolvedSettings {
  method: 'ssse';
  epsilon: number | null;
  epsilon_grid: number[] | null;
  verify: 'retrain' | 'none';
  damping: number;
  curvature: Curvature;
  fisher_method: FisherMethod;
  l2: number;
  seed: number;
  tolerance: number;
  calibration: number | null;
}

/** A bad request: recorded as rejected with this reason. */
class Rejection extends Error {
  constructor(
    readonly reason: string,
    readonly fields: RequestUpdate = {},
    readonly samples: Omit<RequestSampleRow, 'request_id'>[] = [],
  ) {
    super(reason);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// Receiving

function readRemoval(input: ErasureInput): { lines: string[] | null; source: string; sha256: string | null; problem: string | null } {
  if ('lines' in input.removal) {
    const text = input.removal.lines.join('\n');
    return { lines: input.removal.lines, source: input.removal.source, sha256: sha256Bytes(Buffer.from(text, 'utf8')), problem: null };
  }
  const file = path.resolve(input.removal.file);
  try {
    const buf = fs.readFileSync(file);
    const lines = buf.toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
    return { lines, source: file, sha256: sha256Bytes(buf), problem: null };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { lines: null, source: file, sha256: null, problem: `${file}: ${code === 'ENOENT' ? 'removal file not found' : `cannot read the removal file (${code ?? String(e)})`}` };
  }
}

function receive(store: Store, input: ErasureInput, removal: { source: string; sha256: string | null }): RequestRow {
  const salt = getMeta(store.db, 'subject_salt');
  if (!salt) throw new SsseError('BAD_INPUT', `${store.file}: the database has no subject salt (meta.subject_salt); it is damaged`);
  const receivedAt = input.receivedAt ?? now();
  const dueAt = input.dueAt ?? addOneMonth(receivedAt);
  if (dueAt < receivedAt) throw new SsseError('BAD_ARGUMENT', `--due: ${dueAt} is before the request was received (${receivedAt})`);
  const s = input.settings;
  const requested = {
    method: 'ssse',
    epsilon: s.epsilon,
    epsilon_grid: s.epsilonGrid,
    verify: s.verify,
    damping: s.damping,
    curvature: s.curvature,
    fisher_method: s.fisherMethod,
    tolerance: s.tolerance,
  };
  return transaction(store.db, () => {
    const at = now();
    const id = insertRequest(store.db, {
      model_ref: input.modelRef,
      subject_hash: input.subject === null ? null : subjectHash(salt, input.subject),
      legal_ground: input.legalGround,
      received_at: receivedAt,
      due_at: dueAt,
      entered_by: store.actor,
      removal_source: removal.source,
      removal_sha256: removal.sha256,
      method: 'ssse',
      settings: JSON.stringify(requested),
      updated_at: at,
    });
    const row = getRequest(store.db, id) as RequestRow;
    appendAudit(store.db, {
      actor: store.actor,
      action: 'request.received',
      at,
      payload: {
        request: id,
        model: input.modelRef,
        subject_hash: row.subject_hash,
        legal_ground: row.legal_ground,
        received_at: row.received_at,
        due_at: row.due_at,
        removal_source: removal.source,
        removal_sha256: removal.sha256,
        settings: requested,
        records: [recordRef(store.db, 'requests', id)],
      },
    });
    return row;
  });
}

// ---------------------------------------------------------------------------------------------
// Planning: everything that can make a request bad is checked before any computing

interface Plan {
  model: ModelRow;
  certification: CertificationRow;
  calibration: CalibrationRow | null;
  settings: ResolvedSettings;
  samples: Omit<RequestSampleRow, 'request_id'>[];
}

function chooseCertification(store: Store, model: ModelRow, s: ErasureSettings): CertificationRow {
  const all = listCertifications(store.db, model.id);
  const matching = all.filter(
    (c) => (s.damping === null || c.damping === s.damping) && (s.curvature === null || c.curvature === s.curvature) && (s.fisherMethod === null || c.method === s.fisherMethod),
  );
  const asked = [
    s.damping !== null ? `damping ${s.damping}` : null,
    s.curvature !== null ? `curvature ${s.curvature}` : null,
    s.fisherMethod !== null ? `method ${s.fisherMethod}` : null,
  ].filter((x) => x !== null);
  if (matching.length === 0) {
    throw new Rejection(
      `model ${modelLabel(model)} is not certified${asked.length ? ` with ${asked.join(', ')}` : ''} (no stored Fisher inverse` +
        `${all.length ? `; it has ${all.map((c) => `#${c.id}: ${c.curvature}, damping ${c.damping}, ${c.method}`).join('; ')}` : ''}); ` +
        `run: ssse certify --model ${modelLabel(model)}`,
      { model_id: model.id },
    );
  }
  if (matching.length === 1) return matching[0] as CertificationRow;
  const preferred = matching.find((c) => c.damping === model.l2 && c.curvature === 'empirical' && c.method === 'cholesky');
  if (preferred) return preferred;
  throw new Rejection(
    `model ${modelLabel(model)} has ${matching.length} certifications that fit (${matching.map((c) => `#${c.id}: ${c.curvature}, damping ${c.damping}, ${c.method}`).join('; ')}); ` +
      'choose one with --damping, --curvature and --fisher-method',
    { model_id: model.id },
  );
}

function plan(store: Store, input: ErasureInput, removal: { lines: string[] | null; source: string; problem: string | null }, full: () => Dataset): Plan {
  const parsed = parseModelRef(input.modelRef);
  if (!parsed) throw new Rejection(`"${input.modelRef}" does not name a model (expected NAME or NAME@VERSION)`);
  const model = resolveModel(store, input.modelRef);
  if (!model) {
    const other = resolveModel(store, parsed.name);
    throw new Rejection(
      other ? `unknown model version "${input.modelRef}": model "${parsed.name}" has versions 1–${other.version}` : `unknown model "${parsed.name}": there is no such model in ${store.file}`,
    );
  }
  if (removal.problem !== null || removal.lines === null) throw new Rejection(removal.problem ?? 'no removal list', { model_id: model.id });

  const dataset = full();
  const idsFromFile = dataset.files.some((f) => path.basename(f.path) === 'ids.txt');
  let rows: number[];
  try {
    rows = resolveRemoval(removal.lines, dataset.ids, removal.source, idsFromFile);
  } catch (e) {
    if (isSsseError(e) && e.code === 'BAD_REQUEST') throw new Rejection(e.message, { model_id: model.id });
    throw e;
  }
  const d = dataset.d;
  const samples = rows.map((r) => ({
    sample_id: dataset.ids[r] as string,
    row_index: r,
    features_sha256: sha256Bytes(dataset.train.features.subarray(r * d, (r + 1) * d)),
  }));
  const fields: RequestUpdate = { model_id: model.id, k: rows.length };

  const erased = erasedRows(store, model);
  const again = rows.filter((r) => erased.has(r));
  if (again.length > 0) {
    const listed = again.slice(0, 10).map((r) => `"${dataset.ids[r]}" (request #${erased.get(r)?.requestId})`);
    throw new Rejection(
      `${again.length} of the ${rows.length} samples named ${again.length === 1 ? 'was' : 'were'} already erased from model ${modelLabel(model)} ` +
        `by an earlier request: ${listed.join(', ')}${again.length > 10 ? ` and ${again.length - 10} more` : ''}`,
      fields,
      samples,
    );
  }
  const remaining = dataset.train.n - erased.size;
  if (rows.length >= remaining) {
    throw new Rejection(`the request names ${rows.length} samples but model ${modelLabel(model)} was trained on ${remaining}; at least one must remain`, fields, samples);
  }

  const certification = chooseCertification(store, model, input.settings);
  const s = input.settings;
  let calibration: CalibrationRow | null = null;
  if (s.epsilon === null && (s.verify !== 'retrain' || s.epsilonFromCalibration === true)) {
    calibration = latestCalibration(store.db, certification.id);
    if (!calibration) {
      throw new Rejection(
        `no ε for an erasure without retraining: give --epsilon, use --verify retrain (the sweep picks ε), or calibrate the certification first (ssse certify --model ${modelLabel(model)} --calibrate)`,
        { ...fields, certification_id: certification.id },
        samples,
      );
    }
  }
  const settings: ResolvedSettings = {
    method: 'ssse',
    epsilon: s.epsilon ?? calibration?.epsilon ?? null,
    epsilon_grid: s.epsilon === null && calibration === null ? s.epsilonGrid : null,
    verify: s.verify,
    damping: certification.damping,
    curvature: certification.curvature,
    fisher_method: certification.method as FisherMethod,
    l2: model.l2,
    seed: model.seed,
    tolerance: s.tolerance,
    calibration: calibration?.id ?? null,
  };
  return { model, certification, calibration, settings, samples };
}

function reject(store: Store, request: RequestRow, rejection: Rejection): RequestRow {
  return transaction(store.db, () => {
    const at = now();
    if (rejection.samples.length > 0) insertRequestSamples(store.db, rejection.samples.map((s) => ({ request_id: request.id, ...s })));
    transitionRequest(store.db, request.id, ['received'], 'rejected', { ...rejection.fields, reason: rejection.reason }, at);
    appendAudit(store.db, {
      actor: store.actor,
      action: 'request.rejected',
      at,
      payload: { request: request.id, model: request.model_ref, reason: rejection.reason, records: [recordRef(store.db, 'requests', request.id)] },
    });
    return getRequest(store.db, request.id) as RequestRow;
  });
}

function fail(store: Store, requestId: number, operationId: number | null, error: unknown): RequestRow {
  return transaction(store.db, () => {
    const at = now();
    const reason = isSsseError(error) && error.code === 'CANCELLED' ? `cancelled: ${message(error)}; resume it with: ssse erase --resume ${requestId}` : `failed: ${message(error)}`;
    const current = getRequest(store.db, requestId) as RequestRow;
    transitionRequest(store.db, requestId, [current.status === 'received' ? 'received' : 'computing'], 'failed', { reason }, at);
    if (operationId !== null) endOperation(store, operationId);
    appendAudit(store.db, { actor: store.actor, action: 'request.failed', at, payload: { request: requestId, reason, records: [recordRef(store.db, 'requests', requestId)] } });
    return getRequest(store.db, requestId) as RequestRow;
  });
}

// ---------------------------------------------------------------------------------------------
// Computing and committing

function epsilonSource(settings: ResolvedSettings, outcome: EraseOutcome): string {
  if (settings.calibration !== null) return `calibration #${settings.calibration}`;
  if (outcome.summary.epsilon_rule === 'given') return 'given';
  return `sweep (${outcome.summary.epsilon_rule === 'max_gamma_S' ? 'largest γ_S' : 'smallest accuracy difference to retraining'})`;
}

/**
 * Runs a planned request: a new one (`planned` given: its samples and resolved settings are
 * recorded as it starts computing) or a resumed one (everything read back from the store).
 */
async function compute(store: Store, requestId: number, from: 'received' | 'failed', control: PhaseControl, planned: Plan | null): Promise<ErasureResult> {
  const request = getRequest(store.db, requestId) as RequestRow;
  const model = planned?.model ?? (getModel(store.db, request.model_id as number) as ModelRow);
  const certification = planned?.certification ?? (getCertification(store.db, request.certification_id as number) as CertificationRow);
  const settings = planned?.settings ?? (JSON.parse(request.settings) as ResolvedSettings);
  const samples = planned?.samples ?? listRequestSamples(store.db, requestId);
  const operationId = transaction(store.db, () => {
    const at = now();
    if (planned) insertRequestSamples(store.db, planned.samples.map((s) => ({ request_id: requestId, ...s })));
    const fields: RequestUpdate = planned
      ? { model_id: model.id, k: samples.length, certification_id: certification.id, settings: JSON.stringify(settings) }
      : { reason: null }; // resumed: the earlier failure stays in the audit log
    transitionRequest(store.db, requestId, [from], 'computing', fields, at);
    const op = beginOperation(store, 'erasure', requestId);
    appendAudit(store.db, {
      actor: store.actor,
      action: 'request.computing',
      at,
      payload: {
        request: requestId,
        model: modelLabel(model),
        certification: certification.id,
        k: samples.length,
        settings,
        resumed: from === 'failed',
        pid: process.pid,
        records: [recordRef(store.db, 'requests', requestId)],
      },
    });
    return op;
  });

  let outcome: EraseOutcome;
  const t0 = performance.now();
  let loadSeconds = 0;
  try {
    const theta = loadParameters(store, model);
    const fisher = loadFisher(store, model, certification);
    const { dataset, rows } = versionData(store, model);
    const versionRow = new Map(rows.map((r, i) => [r, i]));
    const removed = samples.map((s) => {
      const v = versionRow.get(s.row_index);
      if (v === undefined) throw new SsseError('BAD_REQUEST', `sample "${s.sample_id}" (row ${s.row_index}) is not in the training set of ${modelLabel(model)}`);
      return v;
    });
    loadSeconds = Math.round(performance.now() - t0) / 1000;
    let paused = false;
    const onProgress = (e: ProgressEvent): void => {
      if (!paused) {
        paused = true;
        pauseIfRequested('computing');
      }
      control.onProgress?.(e);
    };
    outcome = await eraseLinear(dataset, removed.sort((a, b) => a - b), {
      ...DEFAULT_CONFIG,
      l2: settings.l2,
      damping: settings.damping,
      seed: settings.seed,
      epsilon: settings.epsilon,
      epsilonGrid: settings.epsilon_grid,
      verify: settings.verify,
      fisherMethod: settings.fisher_method,
      curvature: settings.curvature,
      cacheDir: null,
      tolerance: settings.tolerance,
      provided: { thetaStar: theta, fisher },
      onProgress,
      ...(control.signal ? { signal: control.signal } : {}),
      ...(control.pool ? { pool: control.pool } : {}),
    });
  } catch (e) {
    return { request: fail(store, requestId, operationId, e), model: null, outcome: null, error: e };
  }

  const s = outcome.summary;
  const source = epsilonSource(settings, outcome);
  const { sweep, removed_ids: _removedIds, dataset: datasetInfo, timings_s: timings, ...rest } = s;
  const metrics = { ...rest, dataset_fingerprint: datasetInfo.fingerprint };
  const tWrite = performance.now();
  try {
    const created = writeArtefacts(
      store,
      operationId,
      [{ kind: 'parameters', format: `npy float64 d×A (${s.d}×${s.attributes}), column a = attribute a's weights`, data: parametersNpy(outcome.thetaHat) }],
      ([artefact]) => {
        if (!artefact) throw new Error('compute: no artefact');
        const at = now();
        const version = maxModelVersion(store.db, model.name) + 1;
        const row: Omit<ModelRow, 'id'> = {
          name: model.name,
          version,
          parent_id: model.id,
          dataset_id: model.dataset_id,
          origin: 'erasure',
          architecture: model.architecture,
          d: model.d,
          attributes: model.attributes,
          l2: model.l2,
          seed: model.seed,
          training: JSON.stringify({ method: 'ssse', request: requestId, from: modelLabel(model), epsilon: s.epsilon, epsilon_source: source, certification: certification.id }),
          backend: s.backend,
          backend_provider: s.backend_provider,
          parameters_id: artefact.id,
          parameters_sha256: s.parameter_sha256.hat,
          created_at: at,
          created_by: store.actor,
        };
        const modelId = insertModel(store.db, row);
        const allTimings = { ...timings, load: loadSeconds, write: Math.round(performance.now() - tWrite) / 1000, total: Math.round(performance.now() - t0) / 1000 };
        transitionRequest(
          store.db,
          requestId,
          ['computing'],
          'applied',
          { result_model_id: modelId, epsilon: s.epsilon, epsilon_source: source, metrics: JSON.stringify(metrics), timings: JSON.stringify(allTimings) },
          at,
        );
        insertSweepRows(
          store.db,
          sweep.map((r) => ({
            request_id: requestId,
            epsilon: r.epsilon,
            gamma_S: r.gamma_S,
            normalized_distance: r.normalized_distance,
            accuracy_removed: r.accuracy.removed,
            accuracy_retained: r.accuracy.retained,
            accuracy_test: r.accuracy.test,
            mean_abs_accuracy_difference: r.mean_abs_accuracy_difference,
          })),
        );
        const label = `${model.name}@${version}`;
        appendAudit(store.db, {
          actor: store.actor,
          action: 'erasure.applied',
          at,
          payload: {
            request: requestId,
            from: modelLabel(model),
            model: label,
            k: s.k,
            epsilon: s.epsilon,
            epsilon_source: source,
            parameters: { path: artefact.path, sha256: artefact.sha256, bytes: artefact.bytes },
            records: [recordRef(store.db, 'artefacts', artefact.id), recordRef(store.db, 'models', modelId), recordRef(store.db, 'requests', requestId)],
          },
        });
        if (settings.verify === 'retrain') {
          transitionRequest(store.db, requestId, ['applied'], 'verified', { gamma_S: s.gamma_S, normalized_distance: s.normalized_distance }, at);
          appendAudit(store.db, {
            actor: store.actor,
            action: 'verification.done',
            at,
            payload: {
              request: requestId,
              model: label,
              method: 'retrain',
              gamma_S: s.gamma_S,
              normalized_distance: s.normalized_distance,
              accuracy: s.accuracy,
              retrained_sha256: s.parameter_sha256.retrained,
              records: [recordRef(store.db, 'requests', requestId)],
            },
          });
        }
        return { id: modelId, ...row };
      },
    );
    return { request: getRequest(store.db, requestId) as RequestRow, model: created, outcome, error: null };
  } catch (e) {
    return { request: fail(store, requestId, operationId, e), model: null, outcome: null, error: e };
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Records an erasure request and carries it out (or rejects it, recording why). */
export async function submitErasure(store: Store, input: ErasureInput, control: PhaseControl = {}): Promise<ErasureResult> {
  recoverInterrupted(store);
  const removal = readRemoval(input);
  const request = receive(store, input, removal);
  input.onReceived?.(request);
  let planned: Plan;
  try {
    let dataset: Dataset | null = null;
    planned = plan(store, input, removal, () => {
      if (!dataset) {
        const model = resolveModel(store, input.modelRef) as ModelRow;
        dataset = loadRegisteredDataset(datasetOf(store, model));
      }
      return dataset;
    });
  } catch (e) {
    if (e instanceof Rejection) return { request: reject(store, request, e), model: null, outcome: null, error: null };
    return { request: fail(store, request.id, null, e), model: null, outcome: null, error: e };
  }
  return compute(store, request.id, 'received', control, planned);
}

/** Runs a failed request again (interrupted, cancelled, or failed for a reason since fixed). */
export async function resumeErasure(store: Store, requestId: number, control: PhaseControl = {}): Promise<ErasureResult> {
  recoverInterrupted(store);
  const request = getRequest(store.db, requestId);
  if (!request) throw new SsseError('BAD_ARGUMENT', `--resume: there is no request #${requestId} in ${store.file}`);
  if (request.status !== 'failed') {
    throw new SsseError('BAD_ARGUMENT', `--resume: request #${requestId} is ${request.status}; only a failed request can be resumed`);
  }
  if (request.model_id === null || request.certification_id === null || listRequestSamples(store.db, requestId).length === 0) {
    throw new SsseError('BAD_ARGUMENT', `--resume: request #${requestId} failed before its samples were resolved (${request.reason}); submit it again`);
  }
  return compute(store, requestId, 'failed', control, null);
}

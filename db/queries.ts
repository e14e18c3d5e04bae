/**
 * Every query of the audit store except the audit chain's (db/audit.ts), as typed functions.
 * Values are always bound, never concatenated; the few column names put into SQL text come from
 * fixed lists in this file, never from callers' strings.
 *
 * Writes are meant to run inside a transaction opened by the caller (`transaction(db, fn)`), so
 * that a record and its audit entry are committed together.
 */
import type Database from 'better-sqlite3';
import { SsseError } from '../main/engine/errors.js';

export type Db = Database.Database;

/** Runs `fn` in a BEGIN IMMEDIATE transaction: the write lock is taken up front, so a busy
 * database fails at once instead of at a lock upgrade half-way through. */
export function transaction<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}

function id(result: Database.RunResult): number {
  return Number(result.lastInsertRowid);
}

// ---------------------------------------------------------------------------------------------
// meta

export function getMeta(db: Db, key: string): string | null {
  const row = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key);
  return row?.value ?? null;
}

// ---------------------------------------------------------------------------------------------
// datasets

export interface DatasetRow {
  id: number;
  name: string;
  fingerprint: string;
  dir: string;
  format: 'npy' | 'idx';
  n: number;
  d: number;
  attributes: number;
  /** JSON array of strings. */
  attribute_names: string;
  test_n: number | null;
  limit_train: number | null;
  limit_test: number | null;
  registered_at: string;
  registered_by: string;
}

export interface DatasetFileRow {
  dataset_id: number;
  path: string;
  sha256: string;
  bytes: number;
}

export function insertDataset(db: Db, row: Omit<DatasetRow, 'id'>): number {
  return id(
    db
      .prepare(
        `INSERT INTO datasets (name, fingerprint, dir, format, n, d, attributes, attribute_names, test_n, limit_train, limit_test, registered_at, registered_by)
         VALUES (@name, @fingerprint, @dir, @format, @n, @d, @attributes, @attribute_names, @test_n, @limit_train, @limit_test, @registered_at, @registered_by)`,
      )
      .run(row),
  );
}

export function insertDatasetFile(db: Db, row: DatasetFileRow): void {
  db.prepare('INSERT INTO dataset_files (dataset_id, path, sha256, bytes) VALUES (@dataset_id, @path, @sha256, @bytes)').run(row);
}

export function getDataset(db: Db, datasetId: number): DatasetRow | null {
  return db.prepare<[number], DatasetRow>('SELECT * FROM datasets WHERE id = ?').get(datasetId) ?? null;
}

export function findDatasetByFingerprint(db: Db, fingerprint: string): DatasetRow | null {
  return db.prepare<[string], DatasetRow>('SELECT * FROM datasets WHERE fingerprint = ?').get(fingerprint) ?? null;
}

export function listDatasets(db: Db): DatasetRow[] {
  return db.prepare<[], DatasetRow>('SELECT * FROM datasets ORDER BY id').all();
}

export function listDatasetFiles(db: Db, datasetId: number): DatasetFileRow[] {
  return db.prepare<[number], DatasetFileRow>('SELECT * FROM dataset_files WHERE dataset_id = ? ORDER BY path').all(datasetId);
}

// ---------------------------------------------------------------------------------------------
// artefacts

export type ArtefactKind = 'parameters' | 'fisher-inverse';

export interface ArtefactRow {
  id: number;
  kind: ArtefactKind;
  /** Relative to the artefact folder, '/'-separated. */
  path: string;
  sha256: string;
  bytes: number;
  format: string;
  created_at: string;
}

export function insertArtefact(db: Db, row: Omit<ArtefactRow, 'id'>): number {
  return id(
    db
      .prepare('INSERT INTO artefacts (kind, path, sha256, bytes, format, created_at) VALUES (@kind, @path, @sha256, @bytes, @format, @created_at)')
      .run(row),
  );
}

export function getArtefact(db: Db, artefactId: number): ArtefactRow | null {
  return db.prepare<[number], ArtefactRow>('SELECT * FROM artefacts WHERE id = ?').get(artefactId) ?? null;
}

export function findArtefactByPath(db: Db, relPath: string): ArtefactRow | null {
  return db.prepare<[string], ArtefactRow>('SELECT * FROM artefacts WHERE path = ?').get(relPath) ?? null;
}

export function listArtefacts(db: Db): ArtefactRow[] {
  return db.prepare<[], ArtefactRow>('SELECT * FROM artefacts ORDER BY id').all();
}

/** What an artefact is for, in words, for messages: "parameters of model m@2". */
export function describeArtefact(db: Db, artefactId: number): string {
  const model = db.prepare<[number], { name: string; version: number }>('SELECT name, version FROM models WHERE parameters_id = ?').get(artefactId);
  if (model) return `parameters of model ${model.name}@${model.version}`;
  const cert = db
    .prepare<[number], { id: number; name: string; version: number }>(
      'SELECT c.id, m.name, m.version FROM certifications c JOIN models m ON m.id = c.model_id WHERE c.fisher_id = ?',
    )
    .get(artefactId);
  if (cert) return `Fisher inverse of model ${cert.name}@${cert.version} (certification #${cert.id})`;
  return 'not used by any model or certification';
}

// ---------------------------------------------------------------------------------------------
// models

export type ModelOrigin = 'trained' | 'imported' | 'erasure';

export interface ModelRow {
  id: number;
  name: string;
  version: number;
  parent_id: number | null;
  dataset_id: number;
  origin: ModelOrigin;
  architecture: string;
  d: number;
  attributes: number;
  l2: number;
  seed: number;
  /** JSON: how the parameters were obtained (training settings, iterations, gradient norms…). */
  training: string;
  backend: string;
  backend_provider: string;
  parameters_id: number;
  parameters_sha256: string;
  created_at: string;
  created_by: string;
}

export function insertModel(db: Db, row: Omit<ModelRow, 'id'>): number {
  return id(
    db
      .prepare(
        `INSERT INTO models (name, version, parent_id, dataset_id, origin, architecture, d, attributes, l2, seed, training, backend, backend_provider, parameters_id, parameters_sha256, created_at, created_by)
         VALUES (@name, @version, @parent_id, @dataset_id, @origin, @architecture, @d, @attributes, @l2, @seed, @training, @backend, @backend_provider, @parameters_id, @parameters_sha256, @created_at, @created_by)`,
      )
      .run(row),
  );
}

export function getModel(db: Db, modelId: number): ModelRow | null {
  return db.prepare<[number], ModelRow>('SELECT * FROM models WHERE id = ?').get(modelId) ?? null;
}

/** A version of a model, or its latest version when `version` is null. */
export function findModel(db: Db, name: string, version: number | null): ModelRow | null {
  if (version === null) {
    return db.prepare<[string], ModelRow>('SELECT * FROM models WHERE name = ? ORDER BY version DESC LIMIT 1').get(name) ?? null;
  }
  return db.prepare<[string, number], ModelRow>('SELECT * FROM models WHERE name = ? AND version = ?').get(name, version) ?? null;
}

export function maxModelVersion(db: Db, name: string): number {
  const row = db.prepare<[string], { v: number | null }>('SELECT MAX(version) AS v FROM models WHERE name = ?').get(name);
  return row?.v ?? 0;
}

export function listModels(db: Db): ModelRow[] {
  return db.prepare<[], ModelRow>('SELECT * FROM models ORDER BY name, version').all();
}

// ---------------------------------------------------------------------------------------------
// certifications and calibrations

export interface CertificationRow {
  id: number;
  model_id: number;
  curvature: 'empirical' | 'expected';
  damping: number;
  method: string;
  /** How F̂ is cut into blocks: 'attribute' (one d×d block per attribute weight vector). */
  blocks: string;
  /** Samples per rank-1 term g_j (1: per-sample gradients). */
  minibatch: number;
  /** N, the number of rank-1 terms. */
  terms: number;
  fisher_id: number;
  backend: string;
  seconds: number;
  created_at: string;
  created_by: string;
}

export function insertCertification(db: Db, row: Omit<CertificationRow, 'id'>): number {
  return id(
    db
      .prepare(
        `INSERT INTO certifications (model_id, curvature, damping, method, blocks, minibatch, terms, fisher_id, backend, seconds, created_at, created_by)
         VALUES (@model_id, @curvature, @damping, @method, @blocks, @minibatch, @terms, @fisher_id, @backend, @seconds, @created_at, @created_by)`,
      )
      .run(row),
  );
}

export function getCertification(db: Db, certificationId: number): CertificationRow | null {
  return db.prepare<[number], CertificationRow>('SELECT * FROM certifications WHERE id = ?').get(certificationId) ?? null;
}

export function findCertification(db: Db, modelId: number, curvature: string, damping: number, method: string): CertificationRow | null {
  return (
    db
      .prepare<[number, string, number, string], CertificationRow>(
        'SELECT * FROM certifications WHERE model_id = ? AND curvature = ? AND damping = ? AND method = ?',
      )
      .get(modelId, curvature, damping, method) ?? null
  );
}

export function listCertifications(db: Db, modelId: number): CertificationRow[] {
  return db.prepare<[number], CertificationRow>('SELECT * FROM certifications WHERE model_id = ? ORDER BY id').all(modelId);
}

export interface CalibrationRow {
  id: number;
  certification_id: number;
  epsilon: number;
  rule: string;
  gamma_S: number | null;
  removal_fraction: number;
  k: number;
  seed: number;
  /** JSON array of sweep rows. */
  sweep: string;
  created_at: string;
  created_by: string;
}

export function insertCalibration(db: Db, row: Omit<CalibrationRow, 'id'>): number {
  return id(
    db
      .prepare(
        `INSERT INTO calibrations (certification_id, epsilon, rule, gamma_S, removal_fraction, k, seed, sweep, created_at, created_by)
         VALUES (@certification_id, @epsilon, @rule, @gamma_S, @removal_fraction, @k, @seed, @sweep, @created_at, @created_by)`,
      )
      .run(row),
  );
}

export function latestCalibration(db: Db, certificationId: number): CalibrationRow | null {
  return (
    db.prepare<[number], CalibrationRow>('SELECT * FROM calibrations WHERE certification_id = ? ORDER BY id DESC LIMIT 1').get(certificationId) ??
    null
  );
}

// ---------------------------------------------------------------------------------------------
// requests

export type RequestStatus = 'received' | 'computing' | 'applied' | 'verified' | 'failed' | 'rejected';

export interface RequestRow {
  id: number;
  status: RequestStatus;
  /** The model as the request named it: NAME or NAME@VERSION. */
  model_ref: string;
  /** The version erased from, once resolved. */
  model_id: number | null;
  /** The version the erasure produced. */
  result_model_id: number | null;
  subject_hash: string | null;
  legal_ground: string | null;
  received_at: string;
  due_at: string;
  entered_by: string;
  removal_source: string | null;
  removal_sha256: string | null;
  k: number | null;
  method: string;
  /** JSON: every setting of the method. */
  settings: string;
  certification_id: number | null;
  epsilon: number | null;
  epsilon_source: string | null;
  gamma_S: number | null;
  normalized_distance: number | null;
  /** JSON: every verification metric. */
  metrics: string | null;
  /** JSON: seconds per phase. */
  timings: string | null;
  reason: string | null;
  updated_at: string;
}

export type NewRequest = Pick<
  RequestRow,
  'model_ref' | 'subject_hash' | 'legal_ground' | 'received_at' | 'due_at' | 'entered_by' | 'removal_source' | 'removal_sha256' | 'method' | 'settings' | 'updated_at'
>;

export function insertRequest(db: Db, row: NewRequest): number {
  return id(
    db
      .prepare(
        `INSERT INTO requests (status, model_ref, subject_hash, legal_ground, received_at, due_at, entered_by, removal_source, removal_sha256, method, settings, updated_at)
         VALUES ('received', @model_ref, @subject_hash, @legal_ground, @received_at, @due_at, @entered_by, @removal_source, @removal_sha256, @method, @settings, @updated_at)`,
      )
      .run(row),
  );
}

export function getRequest(db: Db, requestId: number): RequestRow | null {
  return db.prepare<[number], RequestRow>('SELECT * FROM requests WHERE id = ?').get(requestId) ?? null;
}

export interface RequestFilter {
  status?: RequestStatus;
  modelName?: string;
  subjectHash?: string;
}

export function listRequests(db: Db, filter: RequestFilter = {}): RequestRow[] {
  return db
    .prepare<{ status: string | null; model: string | null; subject: string | null }, RequestRow>(
      `SELECT r.* FROM requests r LEFT JOIN models m ON m.id = r.model_id
       WHERE (@status IS NULL OR r.status = @status)
         AND (@model IS NULL OR m.name = @model OR r.model_ref = @model OR r.model_ref LIKE @model || '@%')
         AND (@subject IS NULL OR r.subject_hash = @subject)
       ORDER BY r.id`,
    )
    .all({ status: filter.status ?? null, model: filter.modelName ?? null, subject: filter.subjectHash ?? null });
}

/** The columns a status change may set. */
const REQUEST_UPDATABLE = [
  'model_id',
  'result_model_id',
  'k',
  'certification_id',
  'epsilon',
  'epsilon_source',
  'gamma_S',
  'normalized_distance',
  'metrics',
  'timings',
  'reason',
  'settings',
] as const;

export type RequestUpdate = Partial<Pick<RequestRow, (typeof REQUEST_UPDATABLE)[number]>>;

/**
 * Moves a request from one of the `from` states to `to`, setting the given columns. Refuses (and
 * changes nothing) when the request is not in one of the `from` states, so that two processes
 * can never both move the same request on.
 */
export function transitionRequest(db: Db, requestId: number, from: readonly RequestStatus[], to: RequestStatus, fields: RequestUpdate, at: string): void {
  const sets = ['status = @to', 'updated_at = @at'];
  const params: Record<string, unknown> = { to, at, id: requestId };
  for (const column of REQUEST_UPDATABLE) {
    if (column in fields) {
      sets.push(`${column} = @${column}`);
      params[column] = fields[column] ?? null;
    }
  }
  const placeholders = from.map((_, i) => `@from${i}`);
  from.forEach((s, i) => (params[`from${i}`] = s));
  const result = db.prepare(`UPDATE requests SET ${sets.join(', ')} WHERE id = @id AND status IN (${placeholders.join(', ')})`).run(params);
  if (result.changes !== 1) {
    const current = getRequest(db, requestId);
    throw new SsseError(
      'BAD_REQUEST',
      current
        ? `request #${requestId} is ${current.status}; it cannot become ${to} (only from ${from.join(' or ')})`
        : `request #${requestId} does not exist`,
    );
  }
}

export interface RequestSampleRow {
  request_id: number;
  sample_id: string;
  row_index: number;
  features_sha256: string;
}

export function insertRequestSamples(db: Db, rows: RequestSampleRow[]): void {
  const stmt = db.prepare('INSERT INTO request_samples (request_id, sample_id, row_index, features_sha256) VALUES (@request_id, @sample_id, @row_index, @features_sha256)');
  for (const row of rows) stmt.run(row);
}

export function deleteRequestSamples(db: Db, requestId: number): void {
  db.prepare('DELETE FROM request_samples WHERE request_id = ?').run(requestId);
}

export function listRequestSamples(db: Db, requestId: number): RequestSampleRow[] {
  return db.prepare<[number], RequestSampleRow>('SELECT * FROM request_samples WHERE request_id = ? ORDER BY row_index').all(requestId);
}

/** The request whose erasure produced a model version, if any. */
export function requestProducing(db: Db, modelId: number): RequestRow | null {
  return db.prepare<[number], RequestRow>('SELECT * FROM requests WHERE result_model_id = ?').get(modelId) ?? null;
}

export interface SweepRowRecord {
  request_id: number;
  epsilon: number;
  gamma_S: number | null;
  normalized_distance: number | null;
  accuracy_removed: number | null;
  accuracy_retained: number | null;
  accuracy_test: number | null;
  mean_abs_accuracy_difference: number | null;
}

export function insertSweepRows(db: Db, rows: SweepRowRecord[]): void {
  const stmt = db.prepare(
    `INSERT INTO request_sweep (request_id, epsilon, gamma_S, normalized_distance, accuracy_removed, accuracy_retained, accuracy_test, mean_abs_accuracy_difference)
     VALUES (@request_id, @epsilon, @gamma_S, @normalized_distance, @accuracy_removed, @accuracy_retained, @accuracy_test, @mean_abs_accuracy_difference)`,
  );
  for (const row of rows) stmt.run(row);
}

export function listSweep(db: Db, requestId: number): SweepRowRecord[] {
  return db.prepare<[number], SweepRowRecord>('SELECT * FROM request_sweep WHERE request_id = ? ORDER BY epsilon').all(requestId);
}

// ---------------------------------------------------------------------------------------------
// operations in flight

export interface OperationRow {
  id: number;
  kind: string;
  request_id: number | null;
  pid: number;
  host: string;
  started_at: string;
  /** JSON array of paths, relative to the artefact folder, that the operation may create. */
  planned_paths: string;
}

export function insertOperation(db: Db, row: Omit<OperationRow, 'id' | 'planned_paths'>): number {
  return id(
    db
      .prepare('INSERT INTO operations (kind, request_id, pid, host, started_at) VALUES (@kind, @request_id, @pid, @host, @started_at)')
      .run(row),
  );
}

export function setPlannedPaths(db: Db, operationId: number, paths: string[]): void {
  db.prepare('UPDATE operations SET planned_paths = ? WHERE id = ?').run(JSON.stringify(paths), operationId);
}

export function deleteOperation(db: Db, operationId: number): void {
  db.prepare('DELETE FROM operations WHERE id = ?').run(operationId);
}

export function listOperations(db: Db): OperationRow[] {
  return db.prepare<[], OperationRow>('SELECT * FROM operations ORDER BY id').all();
}

// ---------------------------------------------------------------------------------------------
// counts, for summaries and tests

export interface StoreCounts {
  datasets: number;
  models: number;
  artefacts: number;
  certifications: number;
  requests: number;
  audit_entries: number;
}

export function counts(db: Db): StoreCounts {
  const c = (sql: string): number => (db.prepare<[], { c: number }>(sql).get()?.c ?? 0);
  return {
    datasets: c('SELECT COUNT(*) AS c FROM datasets'),
    models: c('SELECT COUNT(*) AS c FROM models'),
    artefacts: c('SELECT COUNT(*) AS c FROM artefacts'),
    certifications: c('SELECT COUNT(*) AS c FROM certifications'),
    requests: c('SELECT COUNT(*) AS c FROM requests'),
    audit_entries: c('SELECT COUNT(*) AS c FROM audit_log'),
  };
}

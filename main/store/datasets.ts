/**
 * Datasets in the store: registering one, loading it back (and checking it is the same data),
 * and the training rows of a model version (the dataset less every sample erased on the way).
 */
import * as path from 'node:path';
import { appendAudit } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import {
  findDatasetByFingerprint,
  getDataset,
  insertDataset,
  insertDatasetFile,
  listRequestSamples,
  requestProducing,
  getModel,
  type DatasetRow,
  type ModelRow,
} from '../../db/queries.js';
import { recordRef } from '../../db/records.js';
import { loadDataset, type LoadOptions } from '../engine/data/dataset.js';
import type { Dataset } from '../engine/data/types.js';
import { SsseError } from '../engine/errors.js';
import { datasetFingerprint, selectRows } from '../engine/erase.js';
import { now } from './operations.js';

/**
 * The dataset's row, registering it (with an audit entry) when the store has not seen this
 * data before. Call inside a transaction. Data is identified by its fingerprint, so the same
 * folder with other row limits is another dataset.
 */
export function ensureDataset(store: Store, dataset: Dataset, limits: LoadOptions, name?: string): DatasetRow {
  const fingerprint = datasetFingerprint(dataset);
  const existing = findDatasetByFingerprint(store.db, fingerprint);
  if (existing) return existing;
  const at = now();
  const row: Omit<DatasetRow, 'id'> = {
    name: name ?? path.basename(path.resolve(dataset.dir)),
    fingerprint,
    dir: path.resolve(dataset.dir),
    format: dataset.format,
    n: dataset.train.n,
    d: dataset.d,
    attributes: dataset.A,
    attribute_names: JSON.stringify(dataset.attributeNames),
    test_n: dataset.test?.n ?? null,
    limit_train: limits.limitTrain ?? null,
    limit_test: limits.limitTest ?? null,
    registered_at: at,
    registered_by: store.actor,
  };
  const id = insertDataset(store.db, row);
  for (const f of dataset.files) insertDatasetFile(store.db, { dataset_id: id, path: path.resolve(f.path), sha256: f.sha256, bytes: f.bytes });
  appendAudit(store.db, {
    actor: store.actor,
    action: 'dataset.registered',
    at,
    payload: {
      dataset: id,
      name: row.name,
      fingerprint,
      dir: row.dir,
      n: row.n,
      d: row.d,
      attributes: row.attributes,
      files: dataset.files.map((f) => ({ path: path.resolve(f.path), sha256: f.sha256, bytes: f.bytes })),
      records: [recordRef(store.db, 'datasets', id)],
    },
  });
  return { id, ...row };
}

/** Loads a registered dataset from where it lives and checks it is still the same data. */
export function loadRegisteredDataset(row: DatasetRow): Dataset {
  const limits: LoadOptions = {};
  if (row.limit_train !== null) limits.limitTrain = row.limit_train;
  if (row.limit_test !== null) limits.limitTest = row.limit_test;
  const dataset = loadDataset(row.dir, limits);
  const fingerprint = datasetFingerprint(dataset);
  if (fingerprint !== row.fingerprint) {
    throw new SsseError(
      'BAD_INPUT',
      `${row.dir}: the data there is no longer dataset #${row.id} "${row.name}" as registered (fingerprint ${fingerprint}, registered ${row.fingerprint}); ` +
        'put the original files back: models trained on it cannot be erased from other data',
    );
  }
  return dataset;
}

export function datasetOf(store: Store, model: ModelRow): DatasetRow {
  const row = getDataset(store.db, model.dataset_id);
  if (!row) throw new SsseError('BAD_INPUT', `${store.file}: model ${model.name}@${model.version} names dataset #${model.dataset_id}, which is missing`);
  return row;
}

/**
 * Rows of the registered dataset erased from a model version: those of every erasure along its
 * parent links, this version's own included.
 */
export function erasedRows(store: Store, model: ModelRow): Map<number, { sampleId: string; requestId: number }> {
  const out = new Map<number, { sampleId: string; requestId: number }>();
  for (let m: ModelRow | null = model; m; m = m.parent_id === null ? null : getModel(store.db, m.parent_id)) {
    if (m.origin !== 'erasure') continue;
    const request = requestProducing(store.db, m.id);
    if (!request) throw new SsseError('BAD_INPUT', `${store.file}: model ${m.name}@${m.version} came from an erasure, but no request records it`);
    for (const s of listRequestSamples(store.db, request.id)) out.set(s.row_index, { sampleId: s.sample_id, requestId: request.id });
  }
  return out;
}

/**
 * The training set of a model version: the registered dataset less its erased rows, in order.
 * `rows[i]` is the registered row of the version's row i.
 */
export function versionDataset(full: Dataset, erased: ReadonlySet<number>): { dataset: Dataset; rows: number[] } {
  if (erased.size === 0) return { dataset: full, rows: Array.from({ length: full.train.n }, (_, i) => i) };
  const rows: number[] = [];
  for (let i = 0; i < full.train.n; i++) if (!erased.has(i)) rows.push(i);
  const { train } = full;
  const dataset: Dataset = {
    ...full,
    train: {
      n: rows.length,
      features: selectRows(train.features, full.d, rows),
      labels: selectRows(train.labels, full.A, rows),
      classIds: train.classIds ? Int32Array.from(rows, (r) => train.classIds?.[r] as number) : null,
    },
    ids: rows.map((r) => full.ids[r] as string),
  };
  return { dataset, rows };
}

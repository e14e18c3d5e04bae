/**
 * Models in the store: training or importing version 1, naming versions (NAME[@VERSION]), and
 * reading a version's parameters back from its artefact (checked against its SHA-256).
 */
import { readArtefact } from '../../db/artefacts.js';
import { appendAudit } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import { findModel, getArtefact, insertModel, maxModelVersion, transaction, type DatasetRow, type ModelRow } from '../../db/queries.js';
import { recordRef } from '../../db/records.js';
import { currentBackend } from '../engine/backend.js';
import type { LoadOptions } from '../engine/data/dataset.js';
import { encodeNpy, parseNpy, readNpy } from '../engine/data/npy.js';
import type { Dataset } from '../engine/data/types.js';
import { DataError, SsseError } from '../engine/errors.js';
import { sha256Bytes } from '../engine/hash.js';
import { fromFeatureMajor, toFeatureMajor, type LinearModel } from '../engine/linear/model.js';
import { trainLinear } from '../engine/linear/train.js';
import type { PhaseControl } from '../engine/progress.js';
import { ensureDataset } from './datasets.js';
import { beginOperation, endOperation, now, recoverInterrupted, writeArtefacts } from './operations.js';

/** The architecture every stored model has today (SSSE.md's convex model). */
export const LINEAR_ARCHITECTURE = 'linear-logistic-multi-attribute (no bias)';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkModelName(name: string): string {
  if (!NAME.test(name)) {
    throw new SsseError('BAD_ARGUMENT', `--name: "${name}" is not a model name (letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64)`);
  }
  return name;
}

/** NAME or NAME@VERSION; version null means the latest. */
export function parseModelRef(ref: string): { name: string; version: number | null } | null {
  const m = /^([^@\s]+)(?:@(\d+))?$/.exec(ref.trim());
  if (!m) return null;
  return { name: m[1] as string, version: m[2] === undefined ? null : Number(m[2]) };
}

export function modelLabel(model: Pick<ModelRow, 'name' | 'version'>): string {
  return `${model.name}@${model.version}`;
}

/** The model a reference names, or null when the store has no such model or version. */
export function resolveModel(store: Store, ref: string): ModelRow | null {
  const parsed = parseModelRef(ref);
  return parsed ? findModel(store.db, parsed.name, parsed.version) : null;
}

export function requireModel(store: Store, ref: string): ModelRow {
  const model = resolveModel(store, ref);
  if (model) return model;
  const parsed = parseModelRef(ref);
  if (!parsed) throw new SsseError('BAD_ARGUMENT', `--model: "${ref}" is not NAME or NAME@VERSION`);
  const latest = maxModelVersion(store.db, parsed.name);
  throw new SsseError(
    'BAD_REQUEST',
    latest === 0
      ? `--model: there is no model "${parsed.name}" in ${store.file}`
      : `--model: model "${parsed.name}" has versions 1–${latest}, not ${parsed.version}`,
  );
}

/** The d×A float64 .npy bytes of a model (the layout of the command line's theta files). */
export function parametersNpy(model: LinearModel): Buffer {
  return encodeNpy({ dtype: 'float64', shape: [model.d, model.A], data: toFeatureMajor(model) });
}

/** A version's parameters, read from its artefact after checking its SHA-256. */
export function loadParameters(store: Store, model: ModelRow): LinearModel {
  const artefact = getArtefact(store.db, model.parameters_id);
  if (!artefact) throw new SsseError('BAD_INPUT', `${store.file}: model ${modelLabel(model)} names artefact #${model.parameters_id}, which is missing`);
  const what = `parameters of model ${modelLabel(model)}`;
  const array = parseNpy(readArtefact(store.root, artefact, what), artefact.path);
  if (array.dtype !== 'float64' || array.shape.length !== 2 || array.shape[0] !== model.d || array.shape[1] !== model.attributes) {
    throw new DataError(artefact.path, `${what}: expected float64 ${model.d}×${model.attributes}, got ${array.dtype} ${array.shape.join('×')}`);
  }
  return fromFeatureMajor(array.data, model.d, model.attributes, what);
}

export interface TrainSettings extends PhaseControl {
  l2: number;
  seed: number;
  tolerance: number;
}

function checkNewName(store: Store, name: string): void {
  checkModelName(name);
  const latest = maxModelVersion(store.db, name);
  if (latest > 0) {
    throw new SsseError('BAD_ARGUMENT', `--name: model "${name}" already exists (versions 1–${latest}) in ${store.file}; choose another name (new versions come from erasures)`);
  }
}

function backendOrThrow(): { name: string; provider: string } {
  const backend = currentBackend();
  if (!backend) throw new SsseError('RESOURCE', 'call initBackend() first');
  return backend;
}

function storeVersionOne(
  store: Store,
  operationId: number,
  fields: { name: string; dataset: DatasetRow; origin: 'trained' | 'imported'; model: LinearModel; l2: number; seed: number; training: Record<string, unknown> },
): ModelRow {
  const backend = backendOrThrow();
  const { model } = fields;
  const data = parametersNpy(model);
  return writeArtefacts(store, operationId, [{ kind: 'parameters', format: `npy float64 d×A (${model.d}×${model.A}), column a = attribute a's weights`, data }], ([artefact]) => {
    if (!artefact) throw new Error('storeVersionOne: no artefact');
    const at = now();
    const row: Omit<ModelRow, 'id'> = {
      name: fields.name,
      version: 1,
      parent_id: null,
      dataset_id: fields.dataset.id,
      origin: fields.origin,
      architecture: LINEAR_ARCHITECTURE,
      d: model.d,
      attributes: model.A,
      l2: fields.l2,
      seed: fields.seed,
      training: JSON.stringify(fields.training),
      backend: backend.name,
      backend_provider: backend.provider,
      parameters_id: artefact.id,
      parameters_sha256: sha256Bytes(model.weights),
      created_at: at,
      created_by: store.actor,
    };
    const id = insertModel(store.db, row);
    appendAudit(store.db, {
      actor: store.actor,
      action: fields.origin === 'trained' ? 'model.trained' : 'model.imported',
      at,
      payload: {
        model: `${fields.name}@1`,
        dataset: fields.dataset.id,
        l2: fields.l2,
        seed: fields.seed,
        backend: backend.name,
        parameters: { path: artefact.path, sha256: artefact.sha256, bytes: artefact.bytes },
        records: [recordRef(store.db, 'artefacts', artefact.id), recordRef(store.db, 'models', id)],
      },
    });
    return { id, ...row };
  });
}

/** Registers the dataset (if new) and trains version 1 of a new model on it. */
export async function trainModel(store: Store, name: string, dataset: Dataset, limits: LoadOptions, settings: TrainSettings): Promise<ModelRow> {
  recoverInterrupted(store);
  checkNewName(store, name);
  backendOrThrow();
  const { datasetRow, operationId } = transaction(store.db, () => ({
    datasetRow: ensureDataset(store, dataset, limits),
    operationId: beginOperation(store, 'training', null),
  }));
  try {
    const t0 = performance.now();
    const result = await trainLinear(dataset.train.features, dataset.train.labels, dataset.train.n, dataset.d, dataset.A, { ...settings, phase: 'train' });
    const seconds = Math.round(performance.now() - t0) / 1000;
    return storeVersionOne(store, operationId, {
      name,
      dataset: datasetRow,
      origin: 'trained',
      model: result.model,
      l2: settings.l2,
      seed: settings.seed,
      training: {
        method: 'newton (trainLinear)',
        tolerance: settings.tolerance,
        iterations: result.iterations,
        gradient_norms: result.gradientNorms,
        error_bounds: result.errorBounds,
        seconds,
      },
    });
  } catch (e) {
    transaction(store.db, () => endOperation(store, operationId));
    throw e;
  }
}

/**
 * Registers an existing linear model: `thetaFile` is a d×A .npy (float32 or float64, column a =
 * attribute a's weights, as `ssse erase` writes them) trained with L2 weight `l2` on `dataset`.
 */
export async function importModel(store: Store, name: string, thetaFile: string, dataset: Dataset, limits: LoadOptions, l2: number, seed: number): Promise<ModelRow> {
  recoverInterrupted(store);
  checkNewName(store, name);
  backendOrThrow();
  const array = readNpy(thetaFile);
  if (array.shape.length !== 2 || (array.dtype !== 'float32' && array.dtype !== 'float64')) {
    throw new DataError(thetaFile, `expected a d×A float32/float64 array, got ${array.dtype} of shape (${array.shape.join(', ')})`);
  }
  if (array.shape[0] !== dataset.d || array.shape[1] !== dataset.A) {
    throw new DataError(thetaFile, `is ${array.shape[0]}×${array.shape[1]} but the dataset needs d×A = ${dataset.d}×${dataset.A}`);
  }
  for (let i = 0; i < array.data.length; i++) {
    if (!Number.isFinite(array.data[i] as number)) throw new DataError(thetaFile, `row ${Math.floor(i / dataset.A)}, column ${i % dataset.A} is not finite`);
  }
  const model = fromFeatureMajor(array.data, dataset.d, dataset.A, thetaFile);
  const { datasetRow, operationId } = transaction(store.db, () => ({
    datasetRow: ensureDataset(store, dataset, limits),
    operationId: beginOperation(store, 'import', null),
  }));
  try {
    return storeVersionOne(store, operationId, {
      name,
      dataset: datasetRow,
      origin: 'imported',
      model,
      l2,
      seed,
      training: { source: thetaFile, source_dtype: array.dtype, note: 'imported; trained elsewhere' },
    });
  } catch (e) {
    transaction(store.db, () => endOperation(store, operationId));
    throw e;
  }
}

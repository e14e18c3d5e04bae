/**
 * Certification: the Fisher inverse of a model version, computed once per (version, curvature,
 * damping, method) and stored as an artefact, and optionally an ε calibration for it: a
 * simulated erasure of random training samples, verified against retraining, whose best ε later
 * requests can use without retraining (SSSE.md: the best ε is consistent across removals).
 */
import { readArtefact } from '../../db/artefacts.js';
import { appendAudit } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import {
  findCertification,
  getArtefact,
  insertCalibration,
  insertCertification,
  transaction,
  type CalibrationRow,
  type CertificationRow,
  type ModelRow,
} from '../../db/queries.js';
import { recordRef } from '../../db/records.js';
import { currentBackend } from '../engine/backend.js';
import { encodeData, encodeNpyHeader, parseNpy } from '../engine/data/npy.js';
import { randomRemoval } from '../engine/data/removal.js';
import { DataError, SsseError } from '../engine/errors.js';
import { DEFAULT_CONFIG, eraseLinear } from '../engine/erase.js';
import { type Curvature, type FisherInverse, type FisherMethod } from '../engine/linear/fisher.js';
import { buildFisherInverse, defaultWorkers } from '../engine/linear/fisherBuild.js';
import type { PhaseControl } from '../engine/progress.js';
import { datasetOf, erasedRows, loadRegisteredDataset, versionDataset } from './datasets.js';
import { loadParameters, modelLabel } from './models.js';
import { beginOperation, endOperation, now, recoverInterrupted, writeArtefactStreamed } from './operations.js';

export interface CertifySettings extends PhaseControl {
  curvature: Curvature;
  /** λ_F; null: the model's L2 weight, as in the paper. */
  damping: number | null;
  method: FisherMethod;
}

/** The training set of a version as the engine needs it, checked against the registration. */
export function versionData(store: Store, model: ModelRow) {
  const full = loadRegisteredDataset(datasetOf(store, model));
  const erased = erasedRows(store, model);
  return { full, erased, ...versionDataset(full, new Set(erased.keys())) };
}

/** Computes and stores F̂⁻¹ for a version; an existing certification with the same settings is returned as it is. */
export async function certifyModel(store: Store, model: ModelRow, settings: CertifySettings): Promise<{ certification: CertificationRow; created: boolean }> {
  const damping = settings.damping ?? model.l2;
  const existing = findCertification(store.db, model.id, settings.curvature, damping, settings.method);
  if (existing) return { certification: existing, created: false };
  recoverInterrupted(store);
  const backend = currentBackend();
  if (!backend) throw new SsseError('RESOURCE', 'call initBackend() first');
  // The build's worker threads start their backends while θ and the training set are read and checked.
  if (settings.method === 'blocked') settings.pool?.prestart(defaultWorkers(backend.name, model.attributes));
  const theta = loadParameters(store, model);
  const { dataset } = versionData(store, model);
  const operationId = transaction(store.db, () => beginOperation(store, 'certification', null));
  try {
    const t0 = performance.now();
    const { d, A } = theta;
    // Streamed: each block goes into the artefact file as soon as it is built (at its place after
    // the NPY header), so certifying holds one d×d block rather than F̂⁻¹ whole, stacked and encoded.
    const header = encodeNpyHeader('float32', [A, d, d]);
    let terms = 0;
    let seconds = 0;
    const certification = await writeArtefactStreamed(
      store,
      operationId,
      'fisher-inverse',
      `npy float32 A×d×d (${A}×${d}×${d}), block a = F̂⁻¹ of attribute a's weights`,
      async (write) => {
        write(header, 0);
        const built = await buildFisherInverse(theta, dataset.train.features, dataset.train.labels, dataset.train.n, {
          damping,
          curvature: settings.curvature,
          method: settings.method,
          sink: (a, block) => write(encodeData('float32', block), header.length + a * d * d * 4),
          ...(settings.signal ? { signal: settings.signal } : {}),
          ...(settings.onProgress ? { onProgress: settings.onProgress } : {}),
          ...(settings.pool ? { pool: settings.pool } : {}),
        });
        terms = built.N;
        seconds = Math.round(performance.now() - t0) / 1000;
      },
      (artefact) => {
        const at = now();
        const row: Omit<CertificationRow, 'id'> = {
          model_id: model.id,
          curvature: settings.curvature,
          damping,
          method: settings.method,
          blocks: 'attribute',
          minibatch: 1,
          terms,
          fisher_id: artefact.id,
          backend: backend.name,
          seconds,
          created_at: at,
          created_by: store.actor,
        };
        const id = insertCertification(store.db, row);
        appendAudit(store.db, {
          actor: store.actor,
          action: 'model.certified',
          at,
          payload: {
            model: modelLabel(model),
            certification: id,
            curvature: row.curvature,
            damping,
            method: row.method,
            blocks: row.blocks,
            minibatch: row.minibatch,
            terms: row.terms,
            fisher_inverse: { path: artefact.path, sha256: artefact.sha256, bytes: artefact.bytes },
            records: [recordRef(store.db, 'artefacts', artefact.id), recordRef(store.db, 'certifications', id)],
          },
        });
        return { id, ...row };
      },
    );
    return { certification, created: true };
  } catch (e) {
    transaction(store.db, () => endOperation(store, operationId));
    throw e;
  }
}

/** A certification's F̂⁻¹, read from its artefact after checking its SHA-256. */
export function loadFisher(store: Store, model: ModelRow, certification: CertificationRow): FisherInverse {
  const artefact = getArtefact(store.db, certification.fisher_id);
  if (!artefact) throw new SsseError('BAD_INPUT', `${store.file}: certification #${certification.id} names artefact #${certification.fisher_id}, which is missing`);
  const what = `Fisher inverse of model ${modelLabel(model)} (certification #${certification.id})`;
  const array = parseNpy(readArtefact(store.root, artefact, what), artefact.path);
  const { d, attributes: A } = model;
  if (array.dtype !== 'float32' || array.shape.length !== 3 || array.shape[0] !== A || array.shape[1] !== d || array.shape[2] !== d) {
    throw new DataError(artefact.path, `${what}: expected float32 ${A}×${d}×${d}, got ${array.dtype} ${array.shape.join('×')}`);
  }
  const data = array.data as Float32Array;
  const blocks = Array.from({ length: A }, (_, a) => data.slice(a * d * d, (a + 1) * d * d));
  return { d, A, damping: certification.damping, N: certification.terms, curvature: certification.curvature, method: certification.method as FisherMethod, blocks };
}

export interface CalibrateSettings extends PhaseControl {
  /** Fraction of the training set erased in the simulation (default 0.02, the demo's). */
  fraction: number;
  seed: number;
  /** ε values to try; null: the engine's default grid. */
  epsilonGrid: number[] | null;
  tolerance: number;
}

/**
 * Simulates one erasure of a random `fraction` of the version's training set with the stored θ
 * and F̂⁻¹, retrains without it, sweeps ε, and records the ε with the largest γ_S.
 */
export async function calibrate(store: Store, model: ModelRow, certification: CertificationRow, settings: CalibrateSettings): Promise<CalibrationRow> {
  const theta = loadParameters(store, model);
  const fisher = loadFisher(store, model, certification);
  const { dataset } = versionData(store, model);
  const n = dataset.train.n;
  const k = Math.max(1, Math.round(settings.fraction * n));
  const removed = randomRemoval(n, k, settings.seed);
  const outcome = await eraseLinear(dataset, removed, {
    ...DEFAULT_CONFIG,
    l2: model.l2,
    damping: certification.damping,
    seed: model.seed,
    epsilon: null,
    epsilonGrid: settings.epsilonGrid,
    verify: 'retrain',
    fisherMethod: fisher.method,
    curvature: certification.curvature,
    cacheDir: null,
    tolerance: settings.tolerance,
    provided: { thetaStar: theta, fisher },
    ...(settings.signal ? { signal: settings.signal } : {}),
    ...(settings.onProgress ? { onProgress: settings.onProgress } : {}),
    ...(settings.pool ? { pool: settings.pool } : {}),
  });
  const s = outcome.summary;
  return transaction(store.db, () => {
    const at = now();
    const row: Omit<CalibrationRow, 'id'> = {
      certification_id: certification.id,
      epsilon: s.epsilon,
      rule: s.epsilon_rule,
      gamma_S: s.gamma_S,
      removal_fraction: settings.fraction,
      k,
      seed: settings.seed,
      sweep: JSON.stringify(s.sweep),
      created_at: at,
      created_by: store.actor,
    };
    const id = insertCalibration(store.db, row);
    appendAudit(store.db, {
      actor: store.actor,
      action: 'model.calibrated',
      at,
      payload: {
        model: modelLabel(model),
        certification: certification.id,
        calibration: id,
        epsilon: s.epsilon,
        rule: s.epsilon_rule,
        gamma_S: s.gamma_S,
        normalized_distance: s.normalized_distance,
        removal_fraction: settings.fraction,
        k,
        seed: settings.seed,
        records: [recordRef(store.db, 'calibrations', id)],
      },
    });
    return { id, ...row };
  });
}

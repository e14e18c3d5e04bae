/**
 * Requests and models as plain objects for people and programs (`ssse requests --json`,
 * `ssse request ID --json`, the app). Field names are snake_case and part of the contract.
 */
import { auditEntriesFor } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import {
  getCertification,
  getModel,
  listCertifications,
  listModels,
  listRequestSamples,
  listSweep,
  latestCalibration,
  requestProducing,
  type ModelRow,
  type RequestRow,
  type RequestStatus,
} from '../../db/queries.js';
import { modelLabel } from './models.js';

export interface RequestSummaryView {
  id: number;
  status: RequestStatus;
  /** The version erased from (or the reference as given, when it named no model). */
  model: string;
  result_model: string | null;
  received_at: string;
  due_at: string;
  /** Not finished (applied, verified or rejected) and past its due date. */
  overdue: boolean;
  entered_by: string;
  legal_ground: string | null;
  k: number | null;
  epsilon: number | null;
  epsilon_source: string | null;
  gamma_S: number | null;
  normalized_distance: number | null;
  reason: string | null;
  updated_at: string;
}

function label(store: Store, modelId: number | null): string | null {
  if (modelId === null) return null;
  const m = getModel(store.db, modelId);
  return m ? modelLabel(m) : `#${modelId}`;
}

export function requestSummary(store: Store, r: RequestRow, at = new Date().toISOString()): RequestSummaryView {
  return {
    id: r.id,
    status: r.status,
    model: label(store, r.model_id) ?? r.model_ref,
    result_model: label(store, r.result_model_id),
    received_at: r.received_at,
    due_at: r.due_at,
    overdue: !['applied', 'verified', 'rejected'].includes(r.status) && at > r.due_at,
    entered_by: r.entered_by,
    legal_ground: r.legal_ground,
    k: r.k,
    epsilon: r.epsilon,
    epsilon_source: r.epsilon_source,
    gamma_S: r.gamma_S,
    normalized_distance: r.normalized_distance,
    reason: r.reason,
    updated_at: r.updated_at,
  };
}

function parse(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

export function requestDetail(store: Store, r: RequestRow) {
  const certification = r.certification_id === null ? null : getCertification(store.db, r.certification_id);
  return {
    ...requestSummary(store, r),
    model_ref: r.model_ref,
    subject_hash: r.subject_hash,
    removal_source: r.removal_source,
    removal_sha256: r.removal_sha256,
    method: r.method,
    settings: parse(r.settings),
    certification: certification
      ? { id: certification.id, curvature: certification.curvature, damping: certification.damping, method: certification.method, blocks: certification.blocks, minibatch: certification.minibatch }
      : null,
    samples: listRequestSamples(store.db, r.id).map((s) => ({ id: s.sample_id, row: s.row_index, features_sha256: s.features_sha256 })),
    metrics: parse(r.metrics),
    timings_s: parse(r.timings),
    sweep: listSweep(store.db, r.id).map(({ request_id: _id, ...row }) => row),
    audit: auditEntriesFor(store.db, 'requests', r.id).map((e) => ({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, hash: e.hash })),
  };
}

export function modelView(store: Store, m: ModelRow) {
  const parent = m.parent_id === null ? null : getModel(store.db, m.parent_id);
  const producedBy = m.origin === 'erasure' ? requestProducing(store.db, m.id) : null;
  return {
    model: modelLabel(m),
    name: m.name,
    version: m.version,
    origin: m.origin,
    parent: parent ? modelLabel(parent) : null,
    request: producedBy?.id ?? null,
    dataset: m.dataset_id,
    d: m.d,
    attributes: m.attributes,
    l2: m.l2,
    seed: m.seed,
    backend: m.backend,
    parameters_sha256: m.parameters_sha256,
    created_at: m.created_at,
    created_by: m.created_by,
    certifications: listCertifications(store.db, m.id).map((c) => {
      const cal = latestCalibration(store.db, c.id);
      return {
        id: c.id,
        curvature: c.curvature,
        damping: c.damping,
        method: c.method,
        calibration: cal ? { id: cal.id, epsilon: cal.epsilon, gamma_S: cal.gamma_S } : null,
      };
    }),
  };
}

export function listModelViews(store: Store) {
  return listModels(store.db).map((m) => modelView(store, m));
}

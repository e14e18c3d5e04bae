/**
 * The audit store as the workstation's views need it: rows of db/ turned into the contract's
 * shapes (preload/contract.ts). Reads only, except recover(); the engine process does the
 * writing (training, certification, erasure) through main/store/ exactly as the command line does.
 */
import * as fs from 'node:fs';
import { absolute, hashFile } from '../../db/artefacts.js';
import { auditEntriesFor, tailAudit, type AuditEntry } from '../../db/audit.js';
import { openStore, type Store } from '../../db/connection.js';
import {
  getArtefact,
  getCertification,
  getDataset,
  getModel,
  getRequest,
  latestCalibration,
  listCertifications,
  listModels,
  listRequestSamples,
  listRequests,
  listSweep,
  requestProducing,
  type CertificationRow,
  type ModelRow,
  type RequestRow,
} from '../../db/queries.js';
import { verifyStore } from '../../db/verify.js';
import type {
  AuditEntryView,
  AuditVerifyView,
  CertificationView,
  ModelRef,
  ModelVersionView,
  ModelView,
  RequestListItem,
  RequestReport,
  SampleValidation,
  SplitAccuracyView,
  SweepPoint,
  ValidateSamplesArgs,
} from '../../preload/contract.js';
import type { EraseSummary } from '../engine/erase.js';
import type { SweepRow } from '../engine/linear/sweep.js';
import { datasetOf, erasedRows, loadRegisteredDataset } from '../store/datasets.js';
import { modelLabel } from '../store/models.js';
import { recoverInterrupted } from '../store/operations.js';
import { requestSummary } from '../store/views.js';
import { HandlerError } from '../ipc/errors.js';
import type { WorkstationStore } from './handlers.js';

/** Lists in a validation answer are cut at this many entries. */
const LISTED = 20;

function parseJson<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** What a request's metrics column holds: the engine's summary less the sweep, ids and timings. */
type StoredMetrics = Omit<EraseSummary, 'sweep' | 'removed_ids' | 'dataset' | 'timings_s'> & { dataset_fingerprint: string };

/** The settings a request ran with, as erasure.ts records them (resolved) or received them. */
interface StoredSettings {
  method?: string;
  epsilon?: number | null;
  verify?: string;
  damping?: number | null;
  curvature?: string | null;
  fisher_method?: string | null;
  l2?: number;
  seed?: number;
}

/** The actions that close a request, by the status they leave it in. */
const CLOSING_ACTIONS: Partial<Record<RequestRow['status'], string[]>> = {
  applied: ['erasure.applied'],
  verified: ['verification.done', 'erasure.applied'],
  rejected: ['request.rejected'],
  failed: ['request.failed'],
};

/** When a closed request was closed: the time of the latest audit entry that closed it. */
function completedAt(r: RequestRow, audit: AuditEntry[]): string | null {
  const actions = CLOSING_ACTIONS[r.status];
  if (!actions) return null;
  const closing = audit.filter((e) => actions.includes(e.action));
  return closing.at(-1)?.at ?? null;
}

const maxOf = (xs: number[] | null | undefined): number | null => (xs && xs.length ? Math.max(...xs) : null);

function gradientNorms(metrics: StoredMetrics | null): RequestReport['gradientNorms'] {
  if (!metrics?.training) return null;
  const original = maxOf(metrics.training.gradient_norms);
  const retrained = maxOf(metrics.retraining?.gradient_norms);
  if (original === null && retrained === null) return null;
  return { original, retrained, tolerance: metrics.training.tolerance ?? null };
}

export interface WorkstationStoreHandle extends WorkstationStore {
  store: Store;
  close(): void;
}

/** Opens (creating and migrating when needed) the store at dbPath, acting as `actor`. */
export function openWorkstationStore(dbPath: string, actor: string): WorkstationStoreHandle {
  return storeViews(openStore(dbPath, { mode: 'write', actor }));
}

/** The views over an open store (read or write); the command line's report uses it on its own handle. */
export function storeViews(store: Store): WorkstationStoreHandle {
  const { db } = store;
  // Sample ids per registered dataset (loading one reads and checks its files: do it once).
  const idsCache = new Map<number, string[]>();
  // Artefact file checks, keyed by path, size and modification time.
  const fileStatus = new Map<string, { key: string; status: 'ok' | 'altered' }>();

  function requireVersion(id: number): ModelRow {
    const m = getModel(db, id);
    if (!m) throw new HandlerError('NOT_FOUND', `model version #${id} does not exist in ${store.file}`);
    return m;
  }

  function ref(modelId: number | null, fallback: string): ModelRef {
    const m = modelId === null ? null : getModel(db, modelId);
    return m ? { label: modelLabel(m), versionId: m.id, name: m.name, version: m.version } : { label: fallback, versionId: null, name: null, version: null };
  }

  function artefactStatus(path: string, sha256: string, bytes: number): 'ok' | 'missing' | 'altered' {
    const file = absolute(store.root, path);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return 'missing';
    }
    const key = `${stat.size}:${stat.mtimeMs}`;
    const cached = fileStatus.get(file);
    if (cached && cached.key === key) return cached.status;
    const h = hashFile(file);
    const status = h && h.bytes === bytes && h.sha256 === sha256 ? 'ok' : 'altered';
    fileStatus.set(file, { key, status });
    return status;
  }

  function sweepPoints(rows: { epsilon: number; gamma_S: number | null; normalized_distance: number | null }[]): SweepPoint[] {
    return rows.map((r) => ({ epsilon: r.epsilon, gammaS: r.gamma_S, normalizedDistance: r.normalized_distance }));
  }

  function certificationView(c: CertificationRow): CertificationView {
    const artefact = getArtefact(db, c.fisher_id);
    const cal = latestCalibration(db, c.id);
    return {
      id: c.id,
      modelVersionId: c.model_id,
      createdAt: c.created_at,
      createdBy: c.created_by,
      curvature: c.curvature,
      damping: c.damping,
      fisherMethod: c.method,
      seconds: c.seconds,
      artefact: artefact
        ? { path: absolute(store.root, artefact.path), sha256: artefact.sha256, bytes: artefact.bytes, status: artefactStatus(artefact.path, artefact.sha256, artefact.bytes) }
        : { path: '', sha256: '', bytes: 0, status: 'missing' },
      calibration: cal
        ? { id: cal.id, epsilon: cal.epsilon, gammaS: cal.gamma_S, rule: cal.rule, k: cal.k, createdAt: cal.created_at, sweep: sweepPoints(parseJson<SweepRow[]>(cal.sweep) ?? []) }
        : null,
    };
  }

  function versionView(m: ModelRow): ModelVersionView {
    const dataset = getDataset(db, m.dataset_id);
    const erased = erasedRows(store, m).size;
    return {
      id: m.id,
      modelName: m.name,
      version: m.version,
      label: modelLabel(m),
      parentId: m.parent_id,
      createdAt: m.created_at,
      createdBy: m.created_by,
      origin: m.origin,
      requestId: m.origin === 'erasure' ? (requestProducing(db, m.id)?.id ?? null) : null,
      parametersSha256: m.parameters_sha256,
      dataset: dataset
        ? { name: dataset.name, n: dataset.n - erased, d: dataset.d, attributes: dataset.attributes, fingerprint: dataset.fingerprint }
        : { name: `#${m.dataset_id} (missing)`, n: 0, d: m.d, attributes: m.attributes, fingerprint: '' },
      erased,
      settings: { l2: m.l2, seed: m.seed, backend: m.backend },
      certifications: listCertifications(db, m.id).map(certificationView),
    };
  }

  function methodLabel(r: RequestRow): string {
    const s = parseJson<StoredSettings>(r.settings);
    const curvature = s?.curvature ?? null;
    return curvature ? `${r.method} (${curvature} Fisher)` : r.method;
  }

  function listItem(r: RequestRow): RequestListItem {
    const summary = requestSummary(store, r);
    return {
      id: r.id,
      subjectHash: r.subject_hash,
      status: r.status,
      receivedAt: r.received_at,
      dueAt: r.due_at,
      overdue: summary.overdue,
      model: ref(r.model_id, r.model_ref),
      method: methodLabel(r),
      k: r.k,
      epsilon: r.epsilon,
      gammaS: r.gamma_S,
      result: r.result_model_id === null ? null : ref(r.result_model_id, `#${r.result_model_id}`),
      reason: r.reason,
      enteredBy: r.entered_by,
    };
  }

  function auditView(e: AuditEntry): AuditEntryView {
    const payload = parseJson<{ request?: unknown }>(e.payload);
    return {
      seq: e.seq,
      at: e.at,
      actor: e.actor,
      action: e.action,
      payload: e.payload,
      prevHash: e.prev_hash,
      hash: e.hash,
      requestId: typeof payload?.request === 'number' ? payload.request : null,
    };
  }

  function idsOf(m: ModelRow): string[] {
    const cached = idsCache.get(m.dataset_id);
    if (cached) return cached;
    const ids = loadRegisteredDataset(datasetOf(store, m)).ids;
    idsCache.set(m.dataset_id, ids);
    return ids;
  }

  return {
    store,
    close: () => store.close(),
    recover: () => {
      recoverInterrupted(store);
    },

    versionLabel: (id) => modelLabel(requireVersion(id)),

    listModels(): ModelView[] {
      const byName = new Map<string, ModelVersionView[]>();
      for (const m of listModels(db)) {
        const list = byName.get(m.name) ?? [];
        list.push(versionView(m));
        byName.set(m.name, list);
      }
      return [...byName].map(([name, versions]) => ({ name, versions }));
    },

    listRequests: () => listRequests(db).map(listItem),

    validateSamples(args: ValidateSamplesArgs): SampleValidation {
      const model = requireVersion(args.modelVersionId);
      const ids = idsOf(model);
      const rowOf = new Map(ids.map((id, row) => [id, row]));
      const erased = erasedRows(store, model);
      const seen = new Set<string>();
      const unknown: string[] = [];
      const duplicates: string[] = [];
      const alreadyErased: string[] = [];
      let valid = 0;
      for (const raw of args.sampleIds) {
        const id = raw.trim();
        if (seen.has(id)) {
          duplicates.push(id);
          continue;
        }
        seen.add(id);
        const row = rowOf.get(id);
        if (row === undefined) unknown.push(id);
        else if (erased.has(row)) alreadyErased.push(`${id} (request ${erased.get(row)?.requestId})`);
        else valid++;
      }
      const n = ids.length - erased.size;
      const problems: string[] = [];
      if (unknown.length) problems.push(`${unknown.length} unknown`);
      if (duplicates.length) problems.push(`${duplicates.length} named twice`);
      if (alreadyErased.length) problems.push(`${alreadyErased.length} already erased`);
      const tooMany = valid >= n;
      if (tooMany) problems.push(`at least one of the ${n} training samples must remain`);
      const ok = problems.length === 0 && valid > 0;
      const message = ok
        ? `${valid} sample${valid === 1 ? '' : 's'} of ${modelLabel(model)}'s ${n} can be erased.`
        : valid === 0 && problems.length === 0
          ? 'Name at least one sample.'
          : `${problems.join(', ')}; ${valid} of the ${args.sampleIds.length} entries can be erased.`;
      return {
        valid,
        unknown: unknown.slice(0, LISTED),
        duplicates: [...new Set(duplicates)].slice(0, LISTED),
        alreadyErased: alreadyErased.slice(0, LISTED),
        unknownCount: unknown.length,
        duplicateCount: duplicates.length,
        alreadyErasedCount: alreadyErased.length,
        n,
        ok,
        message,
      };
    },

    report(requestId: number): RequestReport {
      const r = getRequest(db, requestId);
      if (!r) throw new HandlerError('NOT_FOUND', `request ${requestId} does not exist in ${store.file}`);
      const metrics = parseJson<StoredMetrics>(r.metrics);
      const settings = parseJson<StoredSettings>(r.settings) ?? {};
      const before = r.model_id === null ? null : getModel(db, r.model_id);
      const after = r.result_model_id === null ? null : getModel(db, r.result_model_id);
      const certification = r.certification_id === null ? null : getCertification(db, r.certification_id);
      const version = (m: ModelRow | null) => (m ? { versionId: m.id, label: modelLabel(m), name: m.name, version: m.version, parametersSha256: m.parameters_sha256 } : null);
      const acc = (a: SplitAccuracyView | null | undefined): SplitAccuracyView | null => (a ? { removed: a.removed, retained: a.retained, test: a.test } : null);
      const accuracy = metrics?.accuracy ? { original: acc(metrics.accuracy.star), erased: acc(metrics.accuracy.hat), retrained: acc(metrics.accuracy.retrained) } : null;
      const dataset = before ? getDataset(db, before.dataset_id) : null;
      const audit = auditEntriesFor(db, 'requests', r.id);
      return {
        request: {
          ...listItem(r),
          legalGround: r.legal_ground,
          samples: listRequestSamples(db, r.id).map((s) => ({ id: s.sample_id, row: s.row_index, featuresSha256: s.features_sha256 })),
          updatedAt: r.updated_at,
          removalSha256: r.removal_sha256,
          completedAt: completedAt(r, audit),
        },
        before: version(before),
        after: version(after),
        dataset: dataset ? { name: dataset.name, fingerprint: dataset.fingerprint, n: dataset.n, d: dataset.d, attributes: dataset.attributes } : null,
        recordedSettings: r.settings,
        settings: {
          l2: metrics?.l2 ?? settings.l2 ?? before?.l2 ?? null,
          damping: metrics?.damping ?? certification?.damping ?? settings.damping ?? null,
          curvature: metrics?.curvature ?? certification?.curvature ?? settings.curvature ?? null,
          fisherMethod: metrics?.fisher_method ?? certification?.method ?? settings.fisher_method ?? null,
          seed: metrics?.seed ?? settings.seed ?? before?.seed ?? null,
          verify: metrics?.verify ?? settings.verify ?? null,
          backend: metrics?.backend ?? null,
        },
        epsilon: r.epsilon === null ? null : { value: r.epsilon, source: r.epsilon_source ?? 'unknown' },
        n: metrics?.n ?? (dataset && before ? dataset.n - erasedRows(store, before).size : null),
        attributeNames: metrics?.attribute_names ?? parseJson<string[]>(dataset?.attribute_names ?? null) ?? [],
        sweep: sweepPoints(listSweep(db, r.id)),
        gammaS: r.gamma_S,
        normalizedDistance: r.normalized_distance,
        auc: metrics?.auc ? { original: metrics.auc.star, erased: metrics.auc.hat, retrained: metrics.auc.retrained } : null,
        accuracy: accuracy && accuracy.original && accuracy.erased ? { original: accuracy.original, erased: accuracy.erased, retrained: accuracy.retrained } : null,
        classAccuracy: metrics?.class_accuracy
          ? { original: metrics.class_accuracy.star, erased: metrics.class_accuracy.hat, retrained: metrics.class_accuracy.retrained }
          : null,
        membershipAuc: metrics?.membership_auc
          ? { original: metrics.membership_auc.star, erased: metrics.membership_auc.hat, retrained: metrics.membership_auc.retrained }
          : null,
        gradientNorms: gradientNorms(metrics),
        timings: parseJson<Record<string, number | null>>(r.timings),
        audit: audit.map(auditView),
      };
    },

    listAudit(args): AuditEntryView[] {
      const entries = args.requestId === null ? tailAudit(db, args.limit) : auditEntriesFor(db, 'requests', args.requestId).slice(-args.limit);
      return entries.map(auditView);
    },

    verifyAudit(): AuditVerifyView {
      const v = verifyStore(db, store.root);
      return { ok: v.ok, entries: v.entries, artefacts: v.artefacts, records: v.records, checkedAt: new Date().toISOString(), problems: v.problems, warnings: v.warnings };
    },
  };
}

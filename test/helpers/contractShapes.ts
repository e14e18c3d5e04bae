/**
 * Runtime shapes of the contract's results (preload/contract.ts), strict: a result with a field
 * missing, extra or of the wrong type fails. The `satisfies` clauses tie each shape to the
 * contract's type, so the two cannot drift apart silently.
 */
import { z } from 'zod';
import type {
  AuditEntryView,
  AuditVerifyView,
  JobView,
  ModelView,
  RequestListItem,
  RequestReport,
  SampleValidation,
} from '../../preload/contract.js';
import { IPC_ERROR_CODES } from '../../preload/contract.js';

const num = z.number().finite();
const nnum = num.nullable();
const str = z.string();
const nstr = str.nullable();
const sha = z.string().regex(/^[0-9a-f]{64}$/);
const iso = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
const status = z.enum(['received', 'computing', 'applied', 'verified', 'failed', 'rejected']);
const sweepPoint = z.strictObject({ epsilon: num, gammaS: nnum, normalizedDistance: nnum });
const split = z.strictObject({ removed: nnum, retained: nnum, test: nnum });
const modelRef = z.strictObject({ label: str, versionId: z.number().int().nullable(), name: nstr, version: z.number().int().nullable() });

export const modelViewShape = z.strictObject({
  name: str,
  versions: z.array(
    z.strictObject({
      id: z.number().int(),
      modelName: str,
      version: z.number().int(),
      label: str,
      parentId: z.number().int().nullable(),
      createdAt: iso,
      createdBy: str,
      origin: z.enum(['trained', 'imported', 'erasure']),
      requestId: z.number().int().nullable(),
      parametersSha256: sha,
      dataset: z.strictObject({ name: str, n: z.number().int(), d: z.number().int(), attributes: z.number().int(), fingerprint: str }),
      erased: z.number().int(),
      settings: z.strictObject({ l2: num, seed: num, backend: str }),
      certifications: z.array(
        z.strictObject({
          id: z.number().int(),
          modelVersionId: z.number().int(),
          createdAt: iso,
          createdBy: str,
          curvature: str,
          damping: num,
          fisherMethod: str,
          seconds: num,
          artefact: z.strictObject({ path: str, sha256: str, bytes: z.number().int(), status: z.enum(['ok', 'missing', 'altered']) }),
          calibration: z
            .strictObject({ id: z.number().int(), epsilon: num, gammaS: nnum, rule: str, k: z.number().int(), createdAt: iso, sweep: z.array(sweepPoint) })
            .nullable(),
        }),
      ),
    }),
  ),
}) satisfies z.ZodType<ModelView>;

const listItemFields = {
  id: z.number().int(),
  subjectHash: sha.nullable(),
  status,
  receivedAt: iso,
  dueAt: iso,
  overdue: z.boolean(),
  model: modelRef,
  method: str,
  k: z.number().int().nullable(),
  epsilon: nnum,
  gammaS: nnum,
  result: modelRef.nullable(),
  reason: nstr,
  enteredBy: str,
};
export const requestListItemShape = z.strictObject(listItemFields) satisfies z.ZodType<RequestListItem>;

export const auditEntryShape = z.strictObject({
  seq: z.number().int(),
  at: iso,
  actor: str,
  action: str,
  payload: str,
  prevHash: sha,
  hash: sha,
  requestId: z.number().int().nullable(),
}) satisfies z.ZodType<AuditEntryView>;

const reportModel = z.strictObject({ versionId: z.number().int(), label: str, name: str, version: z.number().int(), parametersSha256: sha });
const three = <T extends z.ZodType>(t: T) => z.strictObject({ original: t, erased: t, retrained: t.nullable() });
export const requestReportShape = z.strictObject({
  request: z.strictObject({
    ...listItemFields,
    legalGround: nstr,
    samples: z.array(z.strictObject({ id: str, row: z.number().int(), featuresSha256: sha })),
    updatedAt: iso,
    removalSha256: sha.nullable(),
    completedAt: iso.nullable(),
  }),
  before: reportModel.nullable(),
  after: reportModel.nullable(),
  dataset: z.strictObject({ name: str, fingerprint: sha, n: z.number().int(), d: z.number().int(), attributes: z.number().int() }).nullable(),
  settings: z.strictObject({ l2: nnum, damping: nnum, curvature: nstr, fisherMethod: nstr, seed: nnum, verify: nstr, backend: nstr }),
  recordedSettings: str,
  epsilon: z.strictObject({ value: num, source: str }).nullable(),
  n: z.number().int().nullable(),
  attributeNames: z.array(str),
  sweep: z.array(sweepPoint),
  gammaS: nnum,
  normalizedDistance: nnum,
  auc: three(z.array(nnum)).nullable(),
  accuracy: three(split).nullable(),
  classAccuracy: three(z.strictObject({ removed: z.array(nnum).nullable(), retained: z.array(nnum).nullable(), test: z.array(nnum).nullable() })).nullable(),
  membershipAuc: z.strictObject({ original: nnum, erased: nnum, retrained: nnum }).nullable(),
  gradientNorms: z.strictObject({ original: nnum, retrained: nnum, tolerance: nnum }).nullable(),
  timings: z.record(z.string(), nnum).nullable(),
  audit: z.array(auditEntryShape),
}) satisfies z.ZodType<RequestReport>;

export const sampleValidationShape = z.strictObject({
  valid: z.number().int(),
  unknown: z.array(str),
  duplicates: z.array(str),
  alreadyErased: z.array(str),
  unknownCount: z.number().int(),
  duplicateCount: z.number().int(),
  alreadyErasedCount: z.number().int(),
  n: z.number().int(),
  ok: z.boolean(),
  message: str,
}) satisfies z.ZodType<SampleValidation>;

export const auditVerifyShape = z.strictObject({
  ok: z.boolean(),
  entries: z.number().int(),
  artefacts: z.number().int(),
  records: z.number().int(),
  checkedAt: iso,
  problems: z.array(str),
  warnings: z.array(str),
}) satisfies z.ZodType<AuditVerifyView>;

export const jobViewShape = z.strictObject({
  jobId: str,
  kind: z.enum(['train', 'certify', 'erase']),
  label: str,
  startedAt: iso,
  requestId: z.number().int().nullable(),
  modelVersionId: z.number().int().nullable(),
  phases: z.array(z.strictObject({ phase: str, done: num, total: num })),
  state: z.enum(['running', 'cancelling', 'done', 'failed', 'cancelled']),
  error: z.strictObject({ code: z.enum(IPC_ERROR_CODES), message: str }).nullable(),
}) satisfies z.ZodType<JobView, unknown>;

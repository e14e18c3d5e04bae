/**
 * The shape of a report document (preload/reportDocument.ts), checked before `verify-report`
 * reads anything out of an embedded JSON: strict, so an added, missing or mistyped field is
 * named. The `satisfies` clauses tie it to the types, so the two cannot drift apart.
 */
import { z } from 'zod';
import type { AuditEntryView, RequestReport } from '../../preload/contract.js';
import { REPORT_FORMAT, type ReportDocument } from '../../preload/reportDocument.js';

const num = z.number();
const nnum = num.nullable();
const str = z.string();
const nstr = str.nullable();
const int = z.number().int();
const sha = z.string().regex(/^[0-9a-f]{64}$/, 'expected a SHA-256 in hex');
const iso = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'expected an ISO 8601 UTC time');
const status = z.enum(['received', 'computing', 'applied', 'verified', 'failed', 'rejected']);
const split = z.strictObject({ removed: nnum, retained: nnum, test: nnum });
const modelRef = z.strictObject({ label: str, versionId: int.nullable(), name: nstr, version: int.nullable() });
const reportModel = z.strictObject({ versionId: int, label: str, name: str, version: int, parametersSha256: sha });
const three = <T extends z.ZodType>(t: T) => z.strictObject({ original: t, erased: t, retrained: t.nullable() });

const auditEntry = z.strictObject({
  seq: int,
  at: iso,
  actor: str,
  action: str,
  payload: str,
  prevHash: sha,
  hash: sha,
  requestId: int.nullable(),
}) satisfies z.ZodType<AuditEntryView>;

export const requestReportSchema = z.strictObject({
  request: z.strictObject({
    id: int,
    subjectHash: sha.nullable(),
    status,
    receivedAt: iso,
    dueAt: iso,
    overdue: z.boolean(),
    model: modelRef,
    method: str,
    k: int.nullable(),
    epsilon: nnum,
    gammaS: nnum,
    result: modelRef.nullable(),
    reason: nstr,
    enteredBy: str,
    legalGround: nstr,
    samples: z.array(z.strictObject({ id: str, row: int, featuresSha256: sha })),
    updatedAt: iso,
    removalSha256: sha.nullable(),
    completedAt: iso.nullable(),
  }),
  before: reportModel.nullable(),
  after: reportModel.nullable(),
  dataset: z.strictObject({ name: str, fingerprint: str, n: int, d: int, attributes: int }).nullable(),
  settings: z.strictObject({ l2: nnum, damping: nnum, curvature: nstr, fisherMethod: nstr, seed: nnum, verify: nstr, backend: nstr }),
  recordedSettings: str,
  epsilon: z.strictObject({ value: num, source: str }).nullable(),
  n: int.nullable(),
  attributeNames: z.array(str),
  sweep: z.array(z.strictObject({ epsilon: num, gammaS: nnum, normalizedDistance: nnum })),
  gammaS: nnum,
  normalizedDistance: nnum,
  auc: three(z.array(nnum)).nullable(),
  accuracy: three(split).nullable(),
  classAccuracy: three(z.strictObject({ removed: z.array(nnum).nullable(), retained: z.array(nnum).nullable(), test: z.array(nnum).nullable() })).nullable(),
  membershipAuc: z.strictObject({ original: nnum, erased: nnum, retrained: nnum }).nullable(),
  gradientNorms: z.strictObject({ original: nnum, retrained: nnum, tolerance: nnum }).nullable(),
  timings: z.record(z.string(), nnum).nullable(),
  audit: z.array(auditEntry),
}) satisfies z.ZodType<RequestReport>;

export const reportDocumentSchema = z.strictObject({
  format: z.literal(REPORT_FORMAT),
  generatedAt: iso,
  generatedBy: str,
  software: z.strictObject({ name: str, version: str, engineVersion: str, runtime: str }),
  database: z.strictObject({ file: str, auditHead: z.strictObject({ seq: int, hash: z.string() }), requestRecordSha256: sha }),
  report: requestReportSchema,
  verdict: z.strictObject({
    tone: z.enum(['good', 'fair', 'poor', 'none']),
    text: str,
    thresholds: z.array(z.strictObject({ condition: str, meaning: str })),
  }),
  signer: z.strictObject({ algorithm: z.literal('Ed25519'), fingerprint: str, publicKeyPem: str, keyProtection: str }),
}) satisfies z.ZodType<ReportDocument>;

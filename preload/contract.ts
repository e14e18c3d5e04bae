/**
 * The one IPC contract of the workstation: every channel between the renderer and the main
 * process, with its argument, its result and the events main pushes. main (handlers), preload
 * (the exposed API) and renderer (the views) all import it, so a change on one side that the
 * others do not follow fails the type check.
 *
 * This file holds types and plain constants only (no Node, Electron or DOM imports): the
 * sandboxed preload bundles it, and the renderer's bundle includes it.
 */

// ── Results across the boundary ────────────────────────────────────────────────────────────────

/** Why a call failed. VALIDATION: the argument does not match the channel's schema; FORBIDDEN: the caller is not our page. */
export const IPC_ERROR_CODES = [
  'FORBIDDEN',
  'VALIDATION',
  'NOT_FOUND',
  'BAD_INPUT',
  'BAD_REQUEST',
  'BAD_ARGUMENT',
  'CONFLICT',
  'CANCELLED',
  'NOT_CONVERGED',
  'NUMERIC',
  'RESOURCE',
  'STORE',
  'INTERNAL',
] as const;

export type IpcErrorCode = (typeof IPC_ERROR_CODES)[number];

export interface IpcError {
  code: IpcErrorCode;
  message: string;
}

/** Handlers never throw across the boundary: they return one of these. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

// ── Shared shapes ──────────────────────────────────────────────────────────────────────────────

/** The lifecycle of an erasure request (the audit store's). */
export type RequestStatus = 'received' | 'computing' | 'applied' | 'verified' | 'failed' | 'rejected';

export const REQUEST_STATUSES: readonly RequestStatus[] = ['received', 'computing', 'applied', 'verified', 'failed', 'rejected'];

/** The paper's SSSE step (empirical Fisher), or the improved setting (expected Fisher / Gauss–Newton). */
export type ErasureMethod = 'ssse' | 'ssse-expected';

export const ERASURE_METHODS: readonly { id: ErasureMethod; label: string; note: string }[] = [
  { id: 'ssse', label: "SSSE (the paper's step)", note: 'empirical Fisher F̂, as in Peste et al.' },
  { id: 'ssse-expected', label: 'SSSE, expected Fisher', note: 'the Fisher under the model’s own predictions (Gauss–Newton); closer to the Hessian' },
];

/** Where a request's ε comes from: the model's calibration, a sweep against retraining, or a given value. */
export type EpsilonChoice =
  | { source: 'calibration' }
  | { source: 'sweep'; grid: number[] | null }
  | { source: 'value'; value: number };

export type VerifyMode = 'retrain' | 'none';

/** Accuracies of one model on the three splits (null where the split is absent or empty). */
export interface SplitAccuracyView {
  removed: number | null;
  retained: number | null;
  test: number | null;
}

export type SplitName = keyof SplitAccuracyView;

export const SPLIT_LABELS: Record<SplitName, string> = { removed: 'S (erased)', retained: 'D \\ S (kept)', test: 'test' };

// ── Models ─────────────────────────────────────────────────────────────────────────────────────

export interface CertificationView {
  id: number;
  modelVersionId: number;
  createdAt: string;
  createdBy: string;
  curvature: string;
  damping: number;
  fisherMethod: string;
  seconds: number;
  /** The stored Fisher-inverse artefact: its file's SHA-256 and size, and whether the file still matches. */
  artefact: { path: string; sha256: string; bytes: number; status: 'ok' | 'missing' | 'altered' };
  /** ε chosen by calibration, when one ran. */
  calibration: { id: number; epsilon: number; gammaS: number | null; rule: string; k: number; createdAt: string; sweep: SweepPoint[] } | null;
}

export interface ModelVersionView {
  id: number;
  modelName: string;
  version: number;
  label: string;
  parentId: number | null;
  createdAt: string;
  createdBy: string;
  /** How this version came to be: trained from data, imported, or an erasure applied to its parent. */
  origin: 'trained' | 'imported' | 'erasure';
  /** For versions made by an erasure: the request that made them. */
  requestId: number | null;
  parametersSha256: string;
  /** The registered dataset; n is the version's own training set (less the samples erased on the way). */
  dataset: { name: string; n: number; d: number; attributes: number; fingerprint: string };
  /** Samples erased from this version's lineage so far. */
  erased: number;
  settings: { l2: number; seed: number; backend: string };
  certifications: CertificationView[];
}

export interface ModelView {
  name: string;
  versions: ModelVersionView[];
}

export interface TrainModelArgs {
  name: string;
  /** Who acts: recorded in the audit log. */
  actor: string;
  /** A dataset folder; null: the bundled Fashion-MNIST subset. */
  datasetDir: string | null;
  limitTrain: number | null;
  limitTest: number | null;
  l2: number;
  seed: number;
}

export interface CertifyArgs {
  modelVersionId: number;
  actor: string;
  method: ErasureMethod;
  damping: number | null;
  /** Also calibrate ε (a sweep on a random removal against retraining). */
  calibrate: boolean;
}

// ── Requests ───────────────────────────────────────────────────────────────────────────────────

export interface ModelRef {
  /** "name@version", or the reference as the request gave it when it named no stored model. */
  label: string;
  versionId: number | null;
  name: string | null;
  version: number | null;
}

export interface RequestListItem {
  id: number;
  /** The stored subject reference: a salted hash, never the reference in clear (null: none given). */
  subjectHash: string | null;
  status: RequestStatus;
  receivedAt: string;
  dueAt: string;
  /** Open (not applied, verified or rejected) and past its due date, as the store judges it. */
  overdue: boolean;
  model: ModelRef;
  /** The method and its curvature, e.g. "ssse (empirical Fisher)". */
  method: string;
  k: number | null;
  epsilon: number | null;
  gammaS: number | null;
  result: ModelRef | null;
  /** Why it was rejected or failed. */
  reason: string | null;
  enteredBy: string;
}

export interface ValidateSamplesArgs {
  modelVersionId: number;
  /** The ids as typed or pasted, split but not deduplicated (duplicates are reported). */
  sampleIds: string[];
}

export interface SampleValidation {
  /** Distinct ids that name a training sample and are not yet erased. */
  valid: number;
  unknown: string[];
  duplicates: string[];
  alreadyErased: string[];
  /** Counts beyond the lists above (lists are cut at 20). */
  unknownCount: number;
  duplicateCount: number;
  alreadyErasedCount: number;
  /** Total samples in the model's training set. */
  n: number;
  /** Whether a request with exactly these ids could be started. */
  ok: boolean;
  message: string;
}

export interface NewRequestArgs {
  modelVersionId: number;
  sampleIds: string[];
  subjectRef: string;
  legalGround: string;
  actor: string;
  method: ErasureMethod;
  epsilon: EpsilonChoice;
  verify: VerifyMode;
  /** ISO date (YYYY-MM-DD); null: today. */
  receivedOn: string | null;
}

export interface SweepPoint {
  epsilon: number;
  gammaS: number | null;
  normalizedDistance: number | null;
}

export interface ThreeModels<T> {
  original: T;
  erased: T;
  retrained: T | null;
}

export interface AuditEntryView {
  seq: number;
  at: string;
  actor: string;
  action: string;
  /** Canonical JSON of the entry's payload. */
  payload: string;
  prevHash: string;
  hash: string;
  requestId: number | null;
}

export interface ReportSample {
  id: string;
  row: number;
  /** SHA-256 of the erased row's features (the features themselves are never stored). */
  featuresSha256: string;
}

export interface ReportModel {
  versionId: number;
  /** "name@version" */
  label: string;
  name: string;
  version: number;
  parametersSha256: string;
}

export interface RequestReport {
  request: RequestListItem & {
    legalGround: string | null;
    samples: ReportSample[];
    updatedAt: string;
    removalSha256: string | null;
    /** When it was applied, verified, rejected or failed (the audit entry's time); null while open. */
    completedAt: string | null;
  };
  before: ReportModel | null;
  after: ReportModel | null;
  /** The registered dataset of the version erased from (n: its whole training set). */
  dataset: { name: string; fingerprint: string; n: number; d: number; attributes: number } | null;
  /** Every setting the request ran with (null where it never got that far). */
  settings: { l2: number | null; damping: number | null; curvature: string | null; fisherMethod: string | null; seed: number | null; verify: string | null; backend: string | null };
  /** The settings exactly as the store recorded them (JSON text), so that none is left out. */
  recordedSettings: string;
  /** ε and where it came from ("given", "calibration #3", "sweep (largest γ_S)"). */
  epsilon: { value: number; source: string } | null;
  /** Training samples of the version erased from. */
  n: number | null;
  attributeNames: string[];
  sweep: SweepPoint[];
  gammaS: number | null;
  normalizedDistance: number | null;
  /** Per-attribute AUC on S. */
  auc: ThreeModels<(number | null)[]> | null;
  accuracy: ThreeModels<SplitAccuracyView> | null;
  /** Per-class accuracy per split (null: split absent), where the labels are classes. */
  classAccuracy: ThreeModels<Record<SplitName, (number | null)[] | null>> | null;
  membershipAuc: { original: number | null; erased: number | null; retrained: number | null } | null;
  /** The largest gradient norm over the attributes at the end of training and of retraining, where recorded. */
  gradientNorms: { original: number | null; retrained: number | null; tolerance: number | null } | null;
  timings: Record<string, number | null> | null;
  audit: AuditEntryView[];
}

/** A signed PDF report written by the app (reports:export). */
export interface ExportedReport {
  path: string;
  sha256: string;
  bytes: number;
  pages: number;
  /** The signing key's fingerprint, as printed in the report. */
  keyFingerprint: string;
  /** The audit entry that records the export. */
  auditSeq: number;
}

// ── Audit ──────────────────────────────────────────────────────────────────────────────────────

export interface AuditVerifyView {
  ok: boolean;
  entries: number;
  artefacts: number;
  checkedAt: string;
  records: number;
  /** Everything that does not match, the first bad entry or file first. */
  problems: string[];
  warnings: string[];
}

export interface AuditListArgs {
  requestId: number | null;
  limit: number;
}

// ── Jobs (long work in the engine process) ─────────────────────────────────────────────────────

export type JobKind = 'train' | 'certify' | 'erase';

export interface JobView {
  jobId: string;
  kind: JobKind;
  label: string;
  startedAt: string;
  requestId: number | null;
  modelVersionId: number | null;
  /** The latest progress, per phase in the order phases began. */
  phases: JobProgress[];
  state: 'running' | 'cancelling' | 'done' | 'failed' | 'cancelled';
  error: IpcError | null;
}

export interface JobProgress {
  phase: string;
  done: number;
  total: number;
}

export interface JobStarted {
  jobId: string;
  requestId: number | null;
}

export interface AppInfo {
  version: string;
  /** The operating-system user: the default actor for the audit log. */
  user: string;
  engineVersion: string;
  databasePath: string;
  platform: string;
}

// ── Channels ───────────────────────────────────────────────────────────────────────────────────

/** Every invoke channel: its argument and result. */
export interface InvokeMap {
  'app:info': { args: null; result: AppInfo };
  'models:list': { args: null; result: ModelView[] };
  'models:train': { args: TrainModelArgs; result: JobStarted };
  'models:certify': { args: CertifyArgs; result: JobStarted };
  'requests:list': { args: null; result: RequestListItem[] };
  'requests:validate': { args: ValidateSamplesArgs; result: SampleValidation };
  'requests:create': { args: NewRequestArgs; result: JobStarted };
  'requests:report': { args: { requestId: number }; result: RequestReport };
  /** Prints the request's report to a signed PDF where the user chooses; null: the user cancelled. */
  'reports:export': { args: { requestId: number; actor: string }; result: ExportedReport | null };
  'jobs:list': { args: null; result: JobView[] };
  'jobs:cancel': { args: { jobId: string }; result: { cancelling: boolean } };
  'audit:list': { args: AuditListArgs; result: AuditEntryView[] };
  'audit:verify': { args: null; result: AuditVerifyView };
}

export type InvokeChannel = keyof InvokeMap;
export type ArgsOf<C extends InvokeChannel> = InvokeMap[C]['args'];
export type ResultOf<C extends InvokeChannel> = InvokeMap[C]['result'];

/** Every event main pushes to the renderer. */
export interface EventMap {
  'jobs:update': JobView;
}

export type EventChannel = keyof EventMap;

/** The names the preload gives each channel on `window.ssse`. */
export const METHODS = {
  appInfo: 'app:info',
  listModels: 'models:list',
  trainModel: 'models:train',
  certify: 'models:certify',
  listRequests: 'requests:list',
  validateSamples: 'requests:validate',
  createRequest: 'requests:create',
  requestReport: 'requests:report',
  exportReport: 'reports:export',
  listJobs: 'jobs:list',
  cancelJob: 'jobs:cancel',
  listAudit: 'audit:list',
  verifyAudit: 'audit:verify',
} as const satisfies Record<string, InvokeChannel>;

export const SUBSCRIPTIONS = {
  onJobUpdate: 'jobs:update',
} as const satisfies Record<string, EventChannel>;

export const INVOKE_CHANNELS = Object.values(METHODS) as InvokeChannel[];
export const EVENT_CHANNELS = Object.values(SUBSCRIPTIONS) as EventChannel[];

type MethodName = keyof typeof METHODS;
type SubscriptionName = keyof typeof SUBSCRIPTIONS;

export type Unsubscribe = () => void;

/** What the preload exposes as `window.ssse`: one named method per channel, one subscription per event. */
export type SsseApi = {
  [M in MethodName]: ArgsOf<(typeof METHODS)[M]> extends null
    ? () => Promise<IpcResult<ResultOf<(typeof METHODS)[M]>>>
    : (args: ArgsOf<(typeof METHODS)[M]>) => Promise<IpcResult<ResultOf<(typeof METHODS)[M]>>>;
} & {
  [S in SubscriptionName]: (listener: (event: EventMap[(typeof SUBSCRIPTIONS)[S]]) => void) => Unsubscribe;
};

/** The name under which the preload exposes the API in the renderer's main world. */
export const API_KEY = 'ssse';

/** The app's own origin: pages are served from this custom scheme, and only frames on it may call. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'ssse';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

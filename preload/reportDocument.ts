/**
 * The signed audit report: the document a PDF export carries (as its canonical JSON, signed),
 * and the few pure functions that turn its numbers into the words and figures the report prints.
 * main (building, signing, verifying) and the renderer (printing) both use these functions, so
 * that `ssse verify-report` can check the PDF's text against exactly what the page was given.
 *
 * Types and plain functions only (no Node, Electron, DOM or d3): the renderer bundles this file.
 */
import type { RequestReport } from './contract.js';

export const REPORT_FORMAT = 'ssse-audit-report/1';

/** Names of the files embedded in the PDF. */
export const REPORT_ATTACHMENTS = {
  json: 'ssse-report.json',
  signature: 'ssse-report.json.sig',
  publicKey: 'ssse-signing-key.pub.pem',
} as const;

export interface VerdictThreshold {
  /** "γ_S > 0.5" */
  condition: string;
  meaning: string;
}

export interface Verdict {
  tone: 'good' | 'fair' | 'poor' | 'none';
  /** One sentence an auditor can quote. */
  text: string;
  /** Every threshold the reading uses, so the report says what it judged by. */
  thresholds: VerdictThreshold[];
}

export interface ReportSigner {
  algorithm: 'Ed25519';
  /** SHA-256 of the public key (SubjectPublicKeyInfo DER), hex in groups of four. */
  fingerprint: string;
  publicKeyPem: string;
  /** How the private key is kept: "file, owner-only (0600)" or "Electron safeStorage (…)". */
  keyProtection: string;
}

export interface ReportDocument {
  format: typeof REPORT_FORMAT;
  /** When the report was made and signed (ISO 8601 UTC). */
  generatedAt: string;
  generatedBy: string;
  software: {
    name: string;
    version: string;
    engineVersion: string;
    /** "command line (Node 20.20.2, linux x64)" or "desktop app (Electron …)". */
    runtime: string;
  };
  database: {
    /** The database file the report was made from (its name; the full path is in the audit log). */
    file: string;
    /** The last audit entry when the report was made. */
    auditHead: { seq: number; hash: string };
    /** The request record's digest (db/records.ts) when the report was made. */
    requestRecordSha256: string;
  };
  report: RequestReport;
  verdict: Verdict;
  signer: ReportSigner;
}

// ── Numbers as the report prints them (d3-free, so that main can recompute them) ─────────────

export function fmt3(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3);
}

export function fmtGammaText(v: number | null | undefined): string {
  return v === null || v === undefined ? 'undefined' : fmt3(v);
}

/** Four significant digits, trailing zeros trimmed: d3-format's ".4~g" (test/report checks they agree). */
export function fmtEpsilonText(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = v.toPrecision(4);
  const [mantissa = s, exponent] = s.split('e');
  const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  return exponent === undefined ? trimmed : `${trimmed}e${exponent}`;
}

// ── The verdict ───────────────────────────────────────────────────────────────────────────────

/** γ_S above this: closer to retraining than to the original (SSSE.md's reading of the ratio). */
export const GAMMA_CLOSER = 0.5;
/** γ_S at or above this: a good erasure (the paper's convex experiment reaches 0.8; 0.7 leaves room for harder data). */
export const GAMMA_GOOD = 0.7;

export const VERDICT_THRESHOLDS: VerdictThreshold[] = [
  { condition: `γ_S ≥ ${GAMMA_GOOD}`, meaning: 'good: the erased model behaves on S much like the retrained one' },
  { condition: `${GAMMA_CLOSER} < γ_S < ${GAMMA_GOOD}`, meaning: 'fair: closer to retraining than to the original' },
  { condition: `γ_S ≤ ${GAMMA_CLOSER}`, meaning: 'poor: closer to the original than to retraining' },
  { condition: 'γ_S undefined', meaning: 'the three models agree on S; judged by the accuracy differences instead' },
];

/** What γ_S says, in words an auditor can quote, with the thresholds it used. */
export function judgeErasure(gamma: number | null, verified: boolean): Verdict {
  const thresholds = VERDICT_THRESHOLDS;
  if (!verified) return { tone: 'none', text: 'Not verified against a retrained model.', thresholds };
  if (gamma === null) {
    return { tone: 'none', text: 'γ_S is undefined (the erased, original and retrained models agree on S); judged by accuracy differences instead.', thresholds };
  }
  const times = gamma >= 1 ? '∞' : (gamma / (1 - gamma)).toFixed(1);
  if (gamma > GAMMA_CLOSER) {
    return {
      tone: gamma >= GAMMA_GOOD ? 'good' : 'fair',
      text: `Closer to retraining than to the original: γ_S = ${fmt3(gamma)}, ${times}× closer to the retrained model.`,
      thresholds,
    };
  }
  return { tone: 'poor', text: `Closer to the original than to retraining: γ_S = ${fmt3(gamma)}.`, thresholds };
}

/** Whether the request was verified against a retrained model (the verdict needs one). */
export function isVerified(report: RequestReport): boolean {
  return report.settings.verify === 'retrain' && report.auc !== null && report.auc.retrained !== null;
}

// ── What the report's first page states, and `verify-report` looks for in the PDF's text ────

export interface HeadlineFigure {
  key: 'request' | 'status' | 'gamma' | 'epsilon' | 'distance' | 'k' | 'after' | 'verdict';
  label: string;
  value: string;
}

export function headlineFigures(doc: ReportDocument): HeadlineFigure[] {
  const r = doc.report;
  const eps = r.epsilon ? `${fmtEpsilonText(r.epsilon.value)} (${r.epsilon.source})` : '—';
  return [
    { key: 'request', label: 'Request', value: `#${r.request.id}` },
    { key: 'status', label: 'Status', value: r.request.status },
    { key: 'gamma', label: 'γ_S', value: r.settings.verify === 'retrain' ? fmtGammaText(r.gammaS) : '— (not verified)' },
    { key: 'epsilon', label: 'ε', value: eps },
    { key: 'distance', label: 'Normalized distance', value: fmt3(r.normalizedDistance) },
    { key: 'k', label: 'Samples erased', value: r.request.k === null ? '—' : `${r.request.k} of ${r.n ?? '—'}` },
    { key: 'after', label: 'Model after', value: r.after ? `${r.after.label} (θ SHA-256 ${r.after.parametersSha256})` : '—' },
    { key: 'verdict', label: 'Verdict', value: doc.verdict.text },
  ];
}

/**
 * Checking a signed report, in order, stopping at the first failure (later checks rely on the
 * earlier ones):
 *
 *   pdf          the file is a readable PDF
 *   attachments  it carries the report JSON, its signature and the signing public key
 *   json         the JSON is a report document, in canonical form
 *   key          the embedded public key is the one the JSON names (same fingerprint)
 *   signature    the signature verifies over the JSON's bytes, with the embedded key, and with
 *                --key's key when one is given (another workstation's key fails here)
 *   verdict      the verdict follows from the JSON's γ_S by the stated thresholds
 *   pages        the PDF's text shows what the JSON holds: the request id, the headline figures,
 *                the verdict, the key fingerprint and the signing time
 * with the database (--db):
 *   request      the request's record is as it was when the report was made (a field that
 *                changed is named)
 *   audit chain  the database's audit log chains correctly
 *   audit entries  the report's audit entries are in the log, hashes equal
 *   export       the log records this report's export (its JSON's SHA-256 and key fingerprint)
 */
import type { KeyObject } from 'node:crypto';
import { verifyChain, type AuditEntry } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import { getRequest } from '../../db/queries.js';
import { recordDigest } from '../../db/records.js';
import { sha256Buffer } from '../../db/artefacts.js';
import { headlineFigures, isVerified, judgeErasure, REPORT_ATTACHMENTS, REPORT_FORMAT, type ReportDocument } from '../../preload/reportDocument.js';
import { storeViews } from '../app/storeViews.js';
import { canonicalJson } from '../engine/hash.js';
import { EXPORT_ACTION, type ExportAuditPayload } from './export.js';
import { pdfInfoFor, readPdf, type ReadPdf } from './pdf.js';
import { reportDocumentSchema } from './schema.js';
import { fingerprintOf, publicKeyFromPem, verifyBytes } from './signingKey.js';

export type CheckName = 'pdf' | 'attachments' | 'json' | 'key' | 'signature' | 'verdict' | 'pages' | 'request' | 'audit chain' | 'audit entries' | 'export';

export interface ReportCheck {
  name: CheckName;
  ok: boolean;
  detail: string;
}

export interface VerifyReportResult {
  ok: boolean;
  checks: ReportCheck[];
  /** The first check that failed, or null. */
  failure: ReportCheck | null;
  doc: ReportDocument | null;
}

export interface VerifyOptions {
  /** A public key the report must be signed with (PEM text and where it came from). */
  trustedKey?: { pem: string; source: string } | null;
  /** The workstation's store, to check the report against its records and audit log. */
  store?: Store | null;
}

class Failed extends Error {
  constructor(
    readonly check: CheckName,
    message: string,
  ) {
    super(message);
  }
}

/** Text for matching: compatibility forms folded, all white space dropped (line breaks fall anywhere). */
export function matchable(text: string): string {
  return text.normalize('NFKC').replace(/[\s\u00ad]+/g, '');
}

/** The first path at which two JSON values differ, with both values, or null when they are equal. */
export function firstDifference(a: unknown, b: unknown, at = ''): { path: string; a: unknown; b: unknown } | null {
  if (a === b) return null;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = Array.isArray(a) ? Array.from({ length: Math.max(a.length, (b as unknown[]).length) }, (_, i) => String(i)) : [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
      if (d) return d;
    }
    return null;
  }
  return { path: at || '(whole value)', a, b };
}

const show = (v: unknown): string => (v === undefined ? 'absent' : JSON.stringify(v));

function checkAgainstStore(store: Store, doc: ReportDocument, jsonSha256: string, pass: (name: CheckName, detail: string) => void): void {
  const id = doc.report.request.id;
  if (!getRequest(store.db, id)) throw new Failed('request', `request #${id} is not in ${store.file}`);
  const digest = recordDigest(store.db, 'requests', id);
  // Everything the report shows, rebuilt from the database now: the request and also its models
  // and dataset, which the request's digest does not cover. What may differ without anything
  // having changed: the overdue flag (judged at read time) and the audit entries (the log grows;
  // checked below).
  const now = storeViews(store).report(id);
  const strip = (r: typeof now) => ({ ...r, request: { ...r.request, overdue: null }, audit: null });
  const d = firstDifference(strip(doc.report), strip(now));
  if (d) throw new Failed('request', `request #${id} was changed in ${store.file} after the report was made: ${d.path} is ${show(d.b)} in the database, ${show(d.a)} in the report`);
  if (digest !== doc.database.requestRecordSha256) {
    throw new Failed('request', `request #${id}'s record in ${store.file} differs from the one the report was made from (digest ${digest ?? 'none'}, the report recorded ${doc.database.requestRecordSha256})`);
  }
  pass('request', `request #${id} in ${store.file}, its models and dataset are as the report shows them (record digest ${digest.slice(0, 16)}…)`);

  const chain = verifyChain(store.db);
  if (chain.problems.length) throw new Failed('audit chain', `the audit log of ${store.file} is broken: ${chain.problems[0]?.message ?? ''}`);
  pass('audit chain', `${chain.entries} audit entries chain correctly`);

  const bySeq = new Map<number, AuditEntry>();
  for (const e of store.db.prepare<[], AuditEntry>('SELECT * FROM audit_log ORDER BY seq').iterate()) bySeq.set(e.seq, e);
  for (const e of doc.report.audit) {
    const logged = bySeq.get(e.seq);
    if (!logged) throw new Failed('audit entries', `audit entry ${e.seq} (${e.action}) of the report is not in the log`);
    if (logged.hash !== e.hash || logged.payload !== e.payload) throw new Failed('audit entries', `audit entry ${e.seq} (${e.action}) differs from the log's (hash ${logged.hash.slice(0, 16)}…, the report has ${e.hash.slice(0, 16)}…)`);
  }
  const head = bySeq.get(doc.database.auditHead.seq);
  if (doc.database.auditHead.seq > 0 && head?.hash !== doc.database.auditHead.hash) {
    throw new Failed('audit entries', `the log's entry ${doc.database.auditHead.seq} is not the one the report was made after (hash ${doc.database.auditHead.hash.slice(0, 16)}…)`);
  }
  pass('audit entries', `the report's ${doc.report.audit.length} audit entries are in the log with the same hashes`);

  for (const e of bySeq.values()) {
    if (e.action !== EXPORT_ACTION) continue;
    const p = JSON.parse(e.payload) as Partial<ExportAuditPayload>;
    if (p.report_sha256 === jsonSha256 && p.request === id) {
      if (p.signature?.key_fingerprint !== doc.signer.fingerprint) {
        throw new Failed('export', `audit entry ${e.seq} records this report signed by key ${p.signature?.key_fingerprint ?? '?'}, not ${doc.signer.fingerprint}`);
      }
      pass('export', `audit entry ${e.seq} (${e.at}, ${e.actor}) records this report's export, signed by the same key`);
      return;
    }
  }
  throw new Failed('export', `the audit log of ${store.file} has no record of exporting this report (no ${EXPORT_ACTION} entry with its SHA-256 ${jsonSha256.slice(0, 16)}…)`);
}

export async function verifyReportPdf(bytes: Uint8Array, source: string, options: VerifyOptions = {}): Promise<VerifyReportResult> {
  const checks: ReportCheck[] = [];
  const pass = (name: CheckName, detail: string) => checks.push({ name, ok: true, detail });
  let doc: ReportDocument | null = null;
  try {
    let pdf: ReadPdf;
    try {
      pdf = await readPdf(bytes, source);
    } catch (e) {
      throw new Failed('pdf', e instanceof Error ? e.message : String(e));
    }
    pass('pdf', `${pdf.pages} page${pdf.pages === 1 ? '' : 's'}`);

    const json = pdf.attachments.get(REPORT_ATTACHMENTS.json);
    const signature = pdf.attachments.get(REPORT_ATTACHMENTS.signature);
    const publicPem = pdf.attachments.get(REPORT_ATTACHMENTS.publicKey);
    const missing = [
      [REPORT_ATTACHMENTS.json, json],
      [REPORT_ATTACHMENTS.signature, signature],
      [REPORT_ATTACHMENTS.publicKey, publicPem],
    ].filter(([, v]) => !v);
    if (!json || !signature || !publicPem) throw new Failed('attachments', `the PDF has no ${missing.map(([n]) => n).join(', ')} attachment (not a signed SSSE report, or its evidence was removed)`);
    pass('attachments', `${REPORT_ATTACHMENTS.json} (${json.length} bytes), ${REPORT_ATTACHMENTS.signature}, ${REPORT_ATTACHMENTS.publicKey}`);

    let parsed: unknown;
    try {
      parsed = JSON.parse(json.toString('utf8'));
    } catch (e) {
      throw new Failed('json', `${REPORT_ATTACHMENTS.json} is not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    const shape = reportDocumentSchema.safeParse(parsed);
    if (!shape.success) {
      const issue = shape.error.issues[0];
      throw new Failed('json', `${REPORT_ATTACHMENTS.json} is not an ${REPORT_FORMAT} document (${issue ? `${issue.path.join('.') || 'document'}: ${issue.message}` : 'unknown shape'})`);
    }
    doc = parsed as ReportDocument;
    if (canonicalJson(parsed) !== json.toString('utf8')) throw new Failed('json', `${REPORT_ATTACHMENTS.json} is not in canonical form (keys sorted, no spaces): it was rewritten`);
    pass('json', `an ${REPORT_FORMAT} document of request #${doc.report.request.id}, made ${doc.generatedAt}`);

    let embedded: KeyObject;
    let named: KeyObject;
    try {
      embedded = publicKeyFromPem(publicPem.toString('utf8'), REPORT_ATTACHMENTS.publicKey);
      named = publicKeyFromPem(doc.signer.publicKeyPem, `${REPORT_ATTACHMENTS.json}'s signer.publicKeyPem`);
    } catch (e) {
      throw new Failed('key', e instanceof Error ? e.message : String(e));
    }
    const embeddedFingerprint = fingerprintOf(embedded);
    if (embeddedFingerprint !== doc.signer.fingerprint || fingerprintOf(named) !== doc.signer.fingerprint) {
      throw new Failed('key', `the embedded public key (${embeddedFingerprint}) is not the signer the report names (${doc.signer.fingerprint})`);
    }
    pass('key', `Ed25519 key ${doc.signer.fingerprint}`);

    if (!verifyBytes(json, signature, embedded)) {
      throw new Failed('signature', `the signature does not verify over ${REPORT_ATTACHMENTS.json} with the signer's key ${doc.signer.fingerprint}: the JSON or the signature was altered`);
    }
    if (options.trustedKey) {
      const trusted = publicKeyFromPem(options.trustedKey.pem, options.trustedKey.source);
      if (!verifyBytes(json, signature, trusted)) {
        throw new Failed('signature', `the report was signed by key ${doc.signer.fingerprint}, not by the key in ${options.trustedKey.source} (${fingerprintOf(trusted)}): the signature does not verify with it`);
      }
      pass('signature', `valid, by the key in ${options.trustedKey.source} (${doc.signer.fingerprint})`);
    } else {
      pass('signature', `valid, by the embedded key ${doc.signer.fingerprint} (give --key to require a particular workstation's key)`);
    }

    const expected = judgeErasure(doc.report.gammaS, isVerified(doc.report));
    const vd = firstDifference(doc.verdict, expected);
    if (vd) throw new Failed('verdict', `the report's verdict does not follow from its γ_S by the stated thresholds (${vd.path}: ${show(vd.a)}, expected ${show(vd.b)})`);
    pass('verdict', doc.verdict.text);

    const text = matchable(pdf.text.join(' '));
    const shown = [
      ...headlineFigures(doc).map((f) => ({ what: `${f.label}: ${f.value}`, needle: `${f.label}${f.value}` })),
      { what: `the key fingerprint ${doc.signer.fingerprint}`, needle: doc.signer.fingerprint },
      { what: `the signing time ${doc.generatedAt}`, needle: doc.generatedAt },
    ];
    for (const s of shown) if (!text.includes(matchable(s.needle))) throw new Failed('pages', `the PDF's pages do not show ${s.what}, which the signed JSON holds`);
    const title = pdfInfoFor(doc).title;
    if (pdf.info.title !== title) throw new Failed('pages', `the PDF's title is ${show(pdf.info.title)}, expected ${show(title)}`);
    pass('pages', `the pages show request #${doc.report.request.id}, its headline figures, the verdict, the key fingerprint and the signing time`);

    if (options.store) checkAgainstStore(options.store, doc, sha256Buffer(json), pass);
    return { ok: true, checks, failure: null, doc };
  } catch (e) {
    if (!(e instanceof Failed)) throw e;
    const failure: ReportCheck = { name: e.check, ok: false, detail: e.message };
    checks.push(failure);
    return { ok: false, checks, failure, doc };
  }
}

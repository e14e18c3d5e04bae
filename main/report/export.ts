/**
 * Exporting a request's signed report, the one path both the command line and the app take:
 *
 *   1. the document from the audit store (main/report/document.ts), as canonical JSON;
 *   2. an Ed25519 signature over those bytes with the workstation's key;
 *   3. the print page with the document (main/report/html.ts), printed to PDF by whatever
 *      printer the caller has (Chromium through playwright-core, or Electron);
 *   4. the evidence sealed into the PDF (main/report/pdf.ts);
 *   5. the files staged beside their targets, then, in one transaction, an audit entry
 *      ("report.signed": the files' SHA-256, the JSON's SHA-256, the key's fingerprint) and the
 *      renames. A failure anywhere leaves no file under the target names and no entry.
 *
 * Without a printer (no browser), the HTML report is still written and logged, and the error
 * says how to get one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import { sha256Buffer } from '../../db/artefacts.js';
import { appendAudit } from '../../db/audit.js';
import { assertWritable, type Store } from '../../db/connection.js';
import { transaction } from '../../db/queries.js';
import { recordRef } from '../../db/records.js';
import type { ReportDocument } from '../../preload/reportDocument.js';
import { isSsseError, SsseError } from '../engine/errors.js';
import { buildReportDocument, documentBytes, signerOf, type SoftwareInfo } from './document.js';
import { loadReportTemplate, reportHtml, type ReportTemplate } from './html.js';
import { pdfInfoFor, sealPdf } from './pdf.js';
import type { PdfPrinter } from './print.js';
import { signBytes, type SigningKey } from './signingKey.js';

export const EXPORT_ACTION = 'report.signed';

export interface ExportOptions {
  /** Where the signed PDF goes; null: the HTML only. */
  pdfPath: string | null;
  /** Where the HTML report goes, besides the PDF; null: none (unless printing is impossible). */
  htmlPath: string | null;
  key: SigningKey;
  software: SoftwareInfo;
  /** Finds the printer when it is needed; throws a RESOURCE error when there is none. */
  printer: () => Promise<PdfPrinter>;
  template?: ReportTemplate;
  at?: Date;
  /** Who exports (recorded in the report and the audit log); default: the store's actor. */
  actor?: string;
}

export interface WrittenFile {
  kind: 'pdf' | 'html';
  path: string;
  sha256: string;
  bytes: number;
  pages: number | null;
}

export interface ExportResult {
  doc: ReportDocument;
  jsonSha256: string;
  files: WrittenFile[];
  auditSeq: number;
}

/** The payload of a report.signed audit entry. */
export interface ExportAuditPayload {
  request: number;
  report_sha256: string;
  signature: { algorithm: 'Ed25519'; key_fingerprint: string };
  files: WrittenFile[];
}

function stage(target: string, data: Buffer): string {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.partial`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return tmp;
}

/** Stages each file, then logs the export and renames them in one transaction. */
interface Output {
  kind: 'pdf' | 'html';
  path: string;
  data: Buffer;
  pages: number | null;
}

function publish(store: Store, actor: string, doc: ReportDocument, jsonSha256: string, outputs: Output[]): { files: WrittenFile[]; seq: number } {
  const staged: { tmp: string; target: string }[] = [];
  try {
    const files: WrittenFile[] = [];
    for (const o of outputs) {
      const target = path.resolve(o.path);
      if (fs.existsSync(target) && fs.statSync(target).isDirectory()) throw new SsseError('BAD_ARGUMENT', `${target}: is a folder, expected a file name`);
      staged.push({ tmp: stage(target, o.data), target });
      files.push({ kind: o.kind, path: target, sha256: sha256Buffer(o.data), bytes: o.data.length, pages: o.pages });
    }
    const id = doc.report.request.id;
    const payload: ExportAuditPayload = { request: id, report_sha256: jsonSha256, signature: { algorithm: 'Ed25519', key_fingerprint: doc.signer.fingerprint }, files };
    const seq = transaction(store.db, () => {
      const entry = appendAudit(store.db, { actor, action: EXPORT_ACTION, payload: { ...payload, records: [recordRef(store.db, 'requests', id)] } });
      // Renamed inside the transaction: a rename that fails rolls the entry back.
      for (const s of staged) fs.renameSync(s.tmp, s.target);
      return entry.seq;
    });
    return { files, seq };
  } finally {
    for (const s of staged) fs.rmSync(s.tmp, { force: true });
  }
}

export async function exportReport(store: Store, requestId: number, options: ExportOptions): Promise<ExportResult> {
  assertWritable(store);
  if (options.pdfPath === null && options.htmlPath === null) throw new SsseError('BAD_ARGUMENT', 'report: name a PDF or an HTML file to write');
  const template = options.template ?? loadReportTemplate();
  const actor = options.actor ?? store.actor;
  const doc = buildReportDocument(store, requestId, { software: options.software, signer: signerOf(options.key), actor, ...(options.at ? { at: options.at } : {}) });
  const json = documentBytes(doc);
  const jsonSha256 = sha256Buffer(json);
  const signature = signBytes(json, options.key);
  const html = Buffer.from(reportHtml(doc, signature.toString('base64'), template), 'utf8');

  if (options.pdfPath === null) {
    const { files, seq } = publish(store, actor, doc, jsonSha256, [{ kind: 'html', path: options.htmlPath as string, data: html, pages: null }]);
    return { doc, jsonSha256, files, auditSeq: seq };
  }

  let printer: PdfPrinter;
  try {
    printer = await options.printer();
  } catch (e) {
    if (!isSsseError(e) || e.code !== 'RESOURCE') throw e;
    // No browser: the HTML report is written (and logged) all the same, and the error says where.
    const htmlPath = options.htmlPath ?? options.pdfPath.replace(/(\.pdf)?$/i, '.html');
    publish(store, actor, doc, jsonSha256, [{ kind: 'html', path: htmlPath, data: html, pages: null }]);
    throw new SsseError('RESOURCE', `${e.message}.\nThe PDF was not written; the HTML report was: ${path.resolve(htmlPath)} (open it in a browser; print it there for an unsigned PDF)`);
  }
  const printed = await printer(html.toString('utf8'), { requestId });
  const sealed = Buffer.from(await sealPdf(printed, { json, signature, publicKeyPem: doc.signer.publicKeyPem }, pdfInfoFor(doc)));
  const pages = (await PDFDocument.load(sealed, { updateMetadata: false })).getPageCount();
  const outputs: Output[] = [{ kind: 'pdf', path: options.pdfPath, data: sealed, pages }];
  if (options.htmlPath !== null) outputs.push({ kind: 'html', path: options.htmlPath, data: html, pages: null });
  const { files, seq } = publish(store, actor, doc, jsonSha256, outputs);
  return { doc, jsonSha256, files, auditSeq: seq };
}

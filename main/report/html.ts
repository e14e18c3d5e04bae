/**
 * The report as one self-contained HTML file: the renderer's print page (script and styles
 * inlined), the document as JSON data, and a Content-Security-Policy that lets exactly that
 * script run and nothing load. Opened in any browser years later, it shows the same report the
 * PDF does; Chromium prints it to the PDF.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReportDocument } from '../../preload/reportDocument.js';
import { SsseError } from '../engine/errors.js';
import { canonicalJson } from '../engine/hash.js';
import { reportTemplateDir } from './paths.js';

/** The element ids the print page reads (renderer/src/report.ts). */
export const DATA_ELEMENT = 'ssse-report-data';
export const SIGNATURE_ELEMENT = 'ssse-report-signature';

export interface ReportTemplate {
  script: string;
  style: string;
}

export function loadReportTemplate(dir: string = reportTemplateDir()): ReportTemplate {
  const script = path.join(dir, 'report.js');
  const style = path.join(dir, 'report.css');
  if (!fs.existsSync(script) || !fs.existsSync(style)) {
    throw new SsseError('RESOURCE', `the report's print page is not built (${script} is missing): run npm run build:report`);
  }
  return { script: fs.readFileSync(script, 'utf8'), style: fs.readFileSync(style, 'utf8') };
}

/** JSON that can sit inside <script type="application/json"> whatever its strings hold. */
function scriptSafeJson(text: string): string {
  return text.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function reportHtml(doc: ReportDocument, signatureBase64: string | null, template: ReportTemplate = loadReportTemplate()): string {
  if (/<\/script/i.test(template.script)) throw new SsseError('RESOURCE', 'the report print page contains "</script" and cannot be inlined; rebuild it');
  if (/<\/style/i.test(template.style)) throw new SsseError('RESOURCE', 'the report style sheet contains "</style" and cannot be inlined; rebuild it');
  const scriptHash = createHash('sha256').update(template.script, 'utf8').digest('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}'`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const title = `SSSE audit report: erasure request #${doc.report.request.id}`;
  return [
    '<!doctype html>',
    '<html lang="en" data-theme="light">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${template.style}</style>`,
    `<script type="application/json" id="${DATA_ELEMENT}">${scriptSafeJson(canonicalJson(doc))}</script>`,
    `<script type="application/json" id="${SIGNATURE_ELEMENT}">${scriptSafeJson(JSON.stringify(signatureBase64))}</script>`,
    '</head>',
    '<body>',
    '<div id="report"></div>',
    `<script>${template.script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

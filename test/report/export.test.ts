import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PDFDocument, StandardFonts } from 'pdf-lib';
import { auditEntriesFor, listAudit } from '../../db/audit.js';
import { openStore, type Store } from '../../db/connection.js';
import { verifyStore } from '../../db/verify.js';
import { REPORT_ATTACHMENTS, type ReportDocument } from '../../preload/reportDocument.js';
import { SsseError } from '../../main/engine/errors.js';
import { canonicalJson } from '../../main/engine/hash.js';
import { buildReportDocument, documentBytes, signerOf } from '../../main/report/document.js';
import { EXPORT_ACTION, exportReport, type ExportOptions } from '../../main/report/export.js';
import { DATA_ELEMENT, reportHtml, type ReportTemplate } from '../../main/report/html.js';
import { readPdf, sealPdf, pdfInfoFor } from '../../main/report/pdf.js';
import { loadOrCreateSigningKey, publicKeyFromPem, verifyBytes, type SigningKey } from '../../main/report/signingKey.js';
import { verifyReportPdf } from '../../main/report/verify.js';
import { populatedStore, type PopulatedStore } from '../helpers/storeFixtures.js';

// The export and its evidence without a browser: a stand-in print page and a printer that
// draws one page with pdf-lib. What Chromium prints is tested in test/browser/report.test.ts.

const TEMPLATE: ReportTemplate = { script: 'document.body.setAttribute("data-report-ready", "true");', style: 'body { margin: 0 }' };

async function blankPrinter(): Promise<(html: string) => Promise<Uint8Array>> {
  return async () => {
    const pdf = await PDFDocument.create();
    const page = pdf.addPage([595, 842]);
    page.drawText('a page that shows none of the figures', { x: 50, y: 780, size: 12, font: await pdf.embedFont(StandardFonts.Helvetica) });
    return pdf.save();
  };
}

let fixture: PopulatedStore;
let store: Store;
let key: SigningKey;

before(async () => {
  fixture = await populatedStore('report-export');
  store = openStore(fixture.db, { mode: 'write', actor: 'dpo.alice' });
  key = loadOrCreateSigningKey(path.join(fixture.dir, 'keys'));
});

after(() => {
  store?.close();
  if (fixture) fs.rmSync(fixture.dir, { recursive: true, force: true });
});

function options(over: Partial<ExportOptions>): ExportOptions {
  return { pdfPath: null, htmlPath: null, key, software: { version: '9.9.9', runtime: 'test' }, printer: blankPrinter, template: TEMPLATE, ...over };
}

test('an export seals the signed JSON, its signature and the public key into the PDF, sets the metadata and logs the export', async () => {
  const pdfPath = path.join(fixture.dir, 'out', 'report.pdf');
  const result = await exportReport(store, 1, options({ pdfPath }));
  const bytes = fs.readFileSync(pdfPath);
  const read = await readPdf(bytes, pdfPath);
  assert.deepEqual([...read.attachments.keys()].sort(), Object.values(REPORT_ATTACHMENTS).sort());
  const json = read.attachments.get(REPORT_ATTACHMENTS.json) as Buffer;
  assert.deepEqual(json, documentBytes(result.doc));
  const doc = JSON.parse(json.toString('utf8')) as ReportDocument;
  assert.equal(canonicalJson(doc), json.toString('utf8'));
  assert.equal(doc.report.request.id, 1);
  assert.equal(doc.generatedBy, 'dpo.alice');
  assert.equal(doc.software.version, '9.9.9');
  assert.equal(doc.signer.fingerprint, key.fingerprint);
  const signer = publicKeyFromPem((read.attachments.get(REPORT_ATTACHMENTS.publicKey) as Buffer).toString(), 'attachment');
  assert.equal(verifyBytes(json, read.attachments.get(REPORT_ATTACHMENTS.signature) as Buffer, signer), true);

  const info = pdfInfoFor(doc);
  assert.equal(read.info.title, info.title);
  assert.equal(read.info.subject, info.subject);
  assert.match(read.info.keywords ?? '', /request 1; status verified; Ed25519 signed/);
  assert.equal(read.info.producer, 'SSSE audit workstation 9.9.9 (Chromium print, pdf-lib)');
  const created = new Date(doc.generatedAt);
  assert.equal(read.info.creationDate?.slice(2, 16), created.toISOString().replace(/[-T:]/g, '').slice(0, 14));

  // The export is an audit entry naming the request, the file's SHA-256, the JSON's and the key.
  const entry = listAudit(store.db).at(-1);
  assert.equal(entry?.action, EXPORT_ACTION);
  assert.equal(entry?.seq, result.auditSeq);
  const payload = JSON.parse(entry?.payload ?? '{}') as { request: number; report_sha256: string; signature: { key_fingerprint: string }; files: { kind: string; path: string; sha256: string; bytes: number; pages: number }[] };
  assert.equal(payload.request, 1);
  assert.equal(payload.report_sha256, createHash('sha256').update(json).digest('hex'));
  assert.equal(payload.signature.key_fingerprint, key.fingerprint);
  assert.deepEqual(payload.files, [{ kind: 'pdf', path: pdfPath, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, pages: 1 }]);
  assert.ok(auditEntriesFor(store.db, 'requests', 1).some((e) => e.seq === result.auditSeq), "the request's own audit entries include its export");
  assert.equal(verifyStore(store.db, store.root).ok, true);
  assert.deepEqual(fs.readdirSync(path.dirname(pdfPath)), ['report.pdf'], 'no staging file is left');

  // The evidence holds, but these pages do not show the figures: the check of the pages fails.
  const verified = await verifyReportPdf(bytes, pdfPath, { store });
  assert.equal(verified.ok, false);
  assert.deepEqual(verified.checks.filter((c) => c.ok).map((c) => c.name), ['pdf', 'attachments', 'json', 'key', 'signature', 'verdict']);
  assert.equal(verified.failure?.name, 'pages');
  assert.match(verified.failure?.detail ?? '', /do not show Request: #1/);
});

test('sealing again replaces the evidence instead of adding a second set', async () => {
  const doc = buildReportDocument(store, 1, { software: { version: '1', runtime: 't' }, signer: signerOf(key) });
  const printed = await (await blankPrinter())('');
  const evidence = { json: Buffer.from('{}'), signature: Buffer.alloc(64), publicKeyPem: key.publicKeyPem };
  const once = await sealPdf(printed, evidence, pdfInfoFor(doc));
  const twice = await sealPdf(once, { ...evidence, json: Buffer.from('{"x":1}') }, pdfInfoFor(doc));
  const read = await readPdf(twice, 'twice');
  assert.equal(read.attachments.size, 3);
  assert.equal(read.attachments.get(REPORT_ATTACHMENTS.json)?.toString(), '{"x":1}');
});

test('a printer that fails leaves no file and no audit entry', async () => {
  const pdfPath = path.join(fixture.dir, 'failing', 'report.pdf');
  const before = listAudit(store.db).length;
  const printer = async () => async () => {
    throw new Error('the printer broke');
  };
  await assert.rejects(exportReport(store, 1, options({ pdfPath, htmlPath: path.join(fixture.dir, 'failing', 'report.html'), printer })), /the printer broke/);
  assert.equal(listAudit(store.db).length, before);
  assert.deepEqual(fs.existsSync(path.dirname(pdfPath)) ? fs.readdirSync(path.dirname(pdfPath)) : [], []);
});

test('without a browser the HTML report is still written and logged, and the error says where and how to get one', async () => {
  const pdfPath = path.join(fixture.dir, 'nobrowser', 'report.pdf');
  const before = listAudit(store.db).length;
  const printer = async () => {
    throw new SsseError('RESOURCE', 'no Chrome or Chromium to print the PDF with (…). Install one (Debian/Ubuntu: sudo apt-get install chromium)');
  };
  await assert.rejects(exportReport(store, 1, options({ pdfPath, printer })), (e: Error) => /apt-get install chromium/.test(e.message) && e.message.includes(path.join(fixture.dir, 'nobrowser', 'report.html')));
  assert.equal(fs.existsSync(pdfPath), false);
  const html = fs.readFileSync(path.join(fixture.dir, 'nobrowser', 'report.html'), 'utf8');
  assert.match(html, new RegExp(`id="${DATA_ELEMENT}"`));
  const entries = listAudit(store.db);
  assert.equal(entries.length, before + 1);
  assert.match(entries.at(-1)?.payload ?? '', /"kind":"html"/);
});

test('a request that does not exist is named, and nothing is written', async () => {
  await assert.rejects(exportReport(store, 99, options({ pdfPath: path.join(fixture.dir, 'none.pdf') })), /no request #99 in .*ssse\.db/);
  assert.equal(fs.existsSync(path.join(fixture.dir, 'none.pdf')), false);
});

test('the HTML page: the data cannot close its script element, and the CSP lets exactly the inlined script run', () => {
  const doc = buildReportDocument(store, 1, { software: { version: '1', runtime: 't' }, signer: signerOf(key) });
  const hostile: ReportDocument = { ...doc, report: { ...doc.report, request: { ...doc.report.request, legalGround: '</script><script>alert(1)</script> & <b>' } } };
  const html = reportHtml(hostile, 'c2ln', TEMPLATE);
  const data = new RegExp(`<script type="application/json" id="${DATA_ELEMENT}">([^]*?)</script>`).exec(html)?.[1] ?? '';
  assert.ok(!data.includes('<'), 'no < inside the data');
  assert.deepEqual(JSON.parse(data), JSON.parse(canonicalJson(hostile)));
  const hash = createHash('sha256').update(TEMPLATE.script).digest('base64');
  assert.ok(html.includes(`script-src 'sha256-${hash}'`));
  assert.ok(html.includes(`<script>${TEMPLATE.script}</script>`));
  assert.throws(() => reportHtml(doc, null, { script: 'x("</script>")', style: '' }), /cannot be inlined/);
});

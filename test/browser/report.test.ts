import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { listAudit } from '../../db/audit.js';
import { openStore } from '../../db/connection.js';
import { getRequest } from '../../db/queries.js';
import { REPORT_ATTACHMENTS, fmtEpsilonText } from '../../preload/reportDocument.js';
import { EXPORT_ACTION } from '../../main/report/export.js';
import { readPdf, sealPdf, pdfInfoFor } from '../../main/report/pdf.js';
import { loadOrCreateSigningKey } from '../../main/report/signingKey.js';
import type { ReportDocument } from '../../preload/reportDocument.js';
import { writeSmallNpyDataset } from '../helpers/fixtures.js';
import { copyStore, populatedStore, ssse, tempDir, type PopulatedStore } from '../helpers/storeFixtures.js';
import { chromiumPrinter } from '../../main/report/chromium.js';
import { chromiumPath, ORIGIN, SCREENSHOTS } from './browser.js';
import { launchApp } from './harness.js';

// Signed PDF reports printed by headless Chromium from the built print page (npm run
// build:report), read back with poppler's pdftotext (an extractor independent of the PDF.js
// that verify-report uses), checked with `ssse verify-report`, and tampered with.

/** Poppler's tools (apt-get install poppler-utils): a clear failure when they are missing. */
function poppler(tool: 'pdftotext' | 'pdftoppm', args: string[]): string {
  try {
    return execFileSync(tool, args, { encoding: 'utf8' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${tool} is missing: apt-get install -y poppler-utils`);
    throw e;
  }
}

const flat = (s: string): string => s.normalize('NFKC').replace(/\s+/g, '');

let fixture: PopulatedStore;
let keyDir: string;
let pdf: string;
let html: string;
let reportOut: { code: number; out: string; err: string };

before(async () => {
  process.env['CHROME_PATH'] = await chromiumPath();
  fixture = await populatedStore('report-browser');
  keyDir = path.join(fixture.dir, 'keys');
  pdf = path.join(fixture.dir, 'reports', 'request-1.pdf');
  html = path.join(fixture.dir, 'reports', 'request-1.html');
  reportOut = await ssse('report', '--request', '1', '--pdf', pdf, '--html', html, '--db', fixture.db, '--key-dir', keyDir, '--actor', 'dpo.alice');
});

after(() => {
  if (fixture) fs.rmSync(fixture.dir, { recursive: true, force: true });
});

describe('ssse report', () => {
  test('prints the request, γ_S, ε and the verdict, as the database holds them, with page numbers', () => {
    assert.equal(reportOut.code, 0, reportOut.out + reportOut.err);
    assert.match(reportOut.out, new RegExp(`PDF +${pdf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +\\(\\d+ pages`));
    const store = openStore(fixture.db, { mode: 'read', actor: 'test' });
    let row;
    try {
      row = getRequest(store.db, 1);
    } finally {
      store.close();
    }
    assert.ok(row?.gamma_S !== null && row?.gamma_S !== undefined && row.epsilon !== null);
    const text = poppler('pdftotext', ['-enc', 'UTF-8', pdf, '-']);
    const t = flat(text);
    assert.ok(t.includes(flat('Erasure request #1')), 'the request id');
    assert.ok(t.includes(flat(`γ_S ${row.gamma_S.toFixed(3)}`)), `γ_S = ${row.gamma_S.toFixed(3)}`);
    assert.ok(t.includes(flat(`ε ${fmtEpsilonText(row.epsilon)} (${row.epsilon_source ?? ''})`)), `ε = ${row.epsilon}`);
    assert.ok(t.includes(flat(`Verdict Closer to retraining than to the original: γ_S = ${row.gamma_S.toFixed(3)}`)), 'the verdict');
    assert.ok(t.includes(flat('γ_S ≤ 0.5: poor')), 'the thresholds the verdict used');
    assert.ok(t.includes(flat('GDPR Art. 17(1)(a)')), 'the legal ground');
    assert.ok(t.includes(row.subject_hash ?? 'no subject hash'), 'the subject reference, hashed, in full');
    const pages = Number(/page 1 of (\d+)/.exec(text)?.[1]);
    assert.ok(pages >= 2);
    for (let p = 1; p <= pages; p++) assert.ok(t.includes(flat(`page ${p} of ${pages}`)), `page ${p} is numbered`);
    const key = loadOrCreateSigningKey(keyDir);
    assert.ok(t.includes(flat(key.fingerprint)), 'the key fingerprint');
    assert.equal(fs.statSync(key.file).mode & 0o777, 0o600);
  });

  test('writes the self-contained HTML page too, and logs the export with both files', () => {
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /Content-Security-Policy/);
    assert.ok(!/<script[^>]*src=/.test(page), 'nothing is loaded from elsewhere');
    const store = openStore(fixture.db, { mode: 'read', actor: 'test' });
    try {
      const entry = listAudit(store.db).at(-1);
      assert.equal(entry?.action, EXPORT_ACTION);
      assert.equal(entry?.actor, 'dpo.alice');
      assert.deepEqual((JSON.parse(entry?.payload ?? '{}') as { files: { kind: string }[] }).files.map((f) => f.kind), ['pdf', 'html']);
    } finally {
      store.close();
    }
    assert.equal(fs.existsSync(path.join(keyDir, 'report-signing-key.pub.pem')), true);
  });

  test('with no browser: a clear error saying how to get one, and the HTML report written all the same', async () => {
    const saved = process.env['CHROME_PATH'];
    process.env['CHROME_PATH'] = path.join(fixture.dir, 'no-such-chromium');
    try {
      const out = path.join(fixture.dir, 'nobrowser', 'r.pdf');
      const r = await ssse('report', '--request', '1', '--pdf', out, '--db', fixture.db, '--key-dir', keyDir);
      assert.equal(r.code, 1);
      assert.match(r.err, /CHROME_PATH=.*no-such-chromium: no such file/);
      assert.match(r.err, /apt-get install chromium/);
      assert.match(r.err, /the HTML report was: .*nobrowser[/\\]r\.html/);
      assert.equal(fs.existsSync(out), false);
      assert.match(fs.readFileSync(path.join(fixture.dir, 'nobrowser', 'r.html'), 'utf8'), /ssse-report-data/);
    } finally {
      process.env['CHROME_PATH'] = saved;
    }
  });
});

describe('ssse verify-report', () => {
  const pub = () => path.join(keyDir, 'report-signing-key.pub.pem');

  test('passes on a fresh report: signature, pages, database record and audit chain', async () => {
    const r = await ssse('verify-report', pdf, '--db', fixture.db, '--key', pub());
    assert.equal(r.code, 0, r.out + r.err);
    for (const check of ['signature', 'pages', 'request', 'audit chain', 'audit entries', 'export']) assert.match(r.out, new RegExp(`^ok +${check} `, 'm'));
    assert.match(r.out, /^OK: /m);
    assert.equal((await ssse('verify-report', pdf)).code, 0, 'and on its own, with the embedded key');
  });

  async function resealed(name: string, change: (e: { json: Buffer; signature: Buffer; publicKeyPem: string }) => void): Promise<string> {
    const bytes = fs.readFileSync(pdf);
    const read = await readPdf(bytes, pdf);
    const evidence = {
      json: read.attachments.get(REPORT_ATTACHMENTS.json) as Buffer,
      signature: Buffer.from(read.attachments.get(REPORT_ATTACHMENTS.signature) as Buffer),
      publicKeyPem: (read.attachments.get(REPORT_ATTACHMENTS.publicKey) as Buffer).toString(),
    };
    change(evidence);
    const doc = JSON.parse(evidence.json.toString()) as ReportDocument;
    const file = path.join(fixture.dir, 'tampered', name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, await sealPdf(bytes, evidence, pdfInfoFor(doc)));
    return file;
  }

  test('fails on a changed attachment, naming the signature', async () => {
    const file = await resealed('json.pdf', (e) => {
      e.json = Buffer.from(e.json.toString().replace(/"gammaS":[0-9.]+/, '"gammaS":0.999'));
    });
    const r = await ssse('verify-report', file);
    assert.equal(r.code, 1);
    assert.match(r.out, /FAILED: .*json\.pdf: signature: the signature does not verify .* the JSON or the signature was altered/);
  });

  test('fails on a changed signature', async () => {
    const file = await resealed('sig.pdf', (e) => {
      e.signature[10] = (e.signature[10] as number) ^ 0x01;
    });
    const r = await ssse('verify-report', file, '--key', pub());
    assert.equal(r.code, 1);
    assert.match(r.out, /FAILED: .*: signature: /);
  });

  test("fails with another workstation's key", async () => {
    const other = loadOrCreateSigningKey(path.join(fixture.dir, 'other-workstation'));
    const r = await ssse('verify-report', pdf, '--key', other.publicFile);
    assert.equal(r.code, 1);
    assert.match(r.out, new RegExp(`FAILED: .*signature: the report was signed by key ${loadOrCreateSigningKey(keyDir).fingerprint}, not by the key in .*other-workstation`));
  });

  test('fails when the request was altered in the database after the report, naming the field', async () => {
    const copy = copyStore(fixture, 'report-altered');
    try {
      const db = new Database(copy.db);
      db.prepare('UPDATE requests SET gamma_S = 0.25 WHERE id = 1').run();
      db.close();
      const r = await ssse('verify-report', pdf, '--db', copy.db, '--key', pub());
      assert.equal(r.code, 1);
      assert.match(r.out, /FAILED: .*: request: request #1 was changed in .* after the report was made: gammaS is 0\.25 in the database/);
    } finally {
      fs.rmSync(copy.dir, { recursive: true, force: true });
    }
  });

  test("fails when the resulting model's recorded parameter hash was altered, though the request's record was not", async () => {
    const copy = copyStore(fixture, 'report-model-altered');
    try {
      const db = new Database(copy.db);
      db.prepare("UPDATE models SET parameters_sha256 = '0000000000000000000000000000000000000000000000000000000000000000' WHERE id = 2").run();
      db.close();
      const r = await ssse('verify-report', pdf, '--db', copy.db);
      assert.equal(r.code, 1);
      assert.match(r.out, /FAILED: .*: request: .*after\.parametersSha256 is "0{64}" in the database/);
    } finally {
      fs.rmSync(copy.dir, { recursive: true, force: true });
    }
  });

  test('fails on a PDF without evidence, and on a file that is not a PDF', async () => {
    const plain = path.join(fixture.dir, 'plain.pdf');
    const bytes = fs.readFileSync(pdf);
    const { PDFDocument } = await import('pdf-lib');
    const stripped = await PDFDocument.load(bytes);
    const copy = await PDFDocument.create();
    for (const p of await copy.copyPages(stripped, stripped.getPageIndices())) copy.addPage(p);
    fs.writeFileSync(plain, await copy.save());
    const a = await ssse('verify-report', plain);
    assert.equal(a.code, 1);
    assert.match(a.out, /attachments: the PDF has no ssse-report\.json/);
    const notPdf = path.join(fixture.dir, 'not.pdf');
    fs.writeFileSync(notPdf, 'hello');
    const b = await ssse('verify-report', notPdf);
    assert.equal(b.code, 1);
    assert.match(b.out, /FAILED: .*pdf: .*not a readable PDF/);
  });
});

describe('npm run demo', () => {
  const dir = tempDir('report-demo');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('writes the signed PDF and prints its path; its first page kept as a PNG with the screenshots', { timeout: 300_000 }, async () => {
    // The demo's own data (bundled Fashion-MNIST), sliced small: 300 images pooled to 7×7.
    const data = writeSmallNpyDataset(path.join(dir, 'fashion-small'), 300, 100);
    const db = path.join(dir, 'out', 'ssse.db');
    const r = await ssse('demo', '--dataset', data, '--db', db, '--out', path.join(dir, 'out', 'demo'), '--epsilon-sweep', '0.3,1,3,10', '--backend', 'cpu', '--key-dir', path.join(dir, 'keys'));
    assert.equal(r.code, 0, r.out + r.err);
    const shown = /^Signed PDF report: (.+)$/m.exec(r.out)?.[1];
    assert.ok(shown, r.out);
    assert.equal(shown, path.join(dir, 'out', 'demo', 'request-1-report.pdf'));
    const v = await ssse('verify-report', shown, '--db', db, '--key', path.join(dir, 'keys', 'report-signing-key.pub.pem'));
    assert.equal(v.code, 0, v.out);
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const prefix = path.join(SCREENSHOTS, 'report-demo-page');
    for (const f of fs.readdirSync(SCREENSHOTS)) if (f.startsWith('report-demo-page')) fs.rmSync(path.join(SCREENSHOTS, f));
    poppler('pdftoppm', ['-png', '-r', '80', '-f', '1', '-l', '2', shown, prefix]);
    const pngs = fs.readdirSync(SCREENSHOTS).filter((f) => f.startsWith('report-demo-page') && f.endsWith('.png'));
    assert.equal(pngs.length, 2, pngs.join(', '));
    for (const f of pngs) assert.ok(fs.statSync(path.join(SCREENSHOTS, f)).size > 10_000, `${f} has content`);
  });
});

describe('the app', () => {
  test('"Export signed PDF" prints the report on screen to a signed PDF that verifies, and logs who exported it', { timeout: 120_000 }, async () => {
    const copy = copyStore(fixture, 'report-app');
    const target = path.join(copy.dir, 'exported', 'from-the-app.pdf');
    const asked: string[] = [];
    // Electron's parts replaced: Chromium (playwright-core) prints instead of printToPDF, the save dialog answers at once.
    const app = await launchApp({
      dbPath: copy.db,
      reports: {
        key: () => loadOrCreateSigningKey(keyDir),
        printer: chromiumPrinter({ executable: await chromiumPath(), source: 'test' }),
        choosePath: async (suggested) => {
          asked.push(suggested);
          return target;
        },
        version: 'test',
        runtime: 'desktop app (test harness)',
      },
    });
    try {
      const { page } = app;
      await page.fill('[data-testid=actor]', 'dpo.bob');
      await page.press('[data-testid=actor]', 'Tab');
      await page.goto(`${ORIGIN}/index.html#/requests/1`);
      await page.waitForSelector('[data-testid=verdict]');
      await page.click('[data-testid=export-pdf]');
      await page.waitForSelector('[data-testid=export-done]', { timeout: 60_000 });
      assert.deepEqual(asked, ['ssse-request-1-report.pdf']);
      assert.match(await page.innerText('[data-testid=export-done]'), new RegExp(`${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(\\d+ pages; key ${loadOrCreateSigningKey(keyDir).fingerprint}`));
      // The report view reloads: its audit entries now end with the export.
      await page.waitForSelector('[data-testid=audit-table] td:text-is("report.signed")');
      await app.screenshot('report-exported-light');
      const v = await ssse('verify-report', target, '--db', copy.db, '--key', path.join(keyDir, 'report-signing-key.pub.pem'));
      assert.equal(v.code, 0, v.out);
      const text = flat(poppler('pdftotext', ['-enc', 'UTF-8', target, '-']));
      assert.ok(text.includes(flat('desktop app (test harness)')));
      const store = openStore(copy.db, { mode: 'read', actor: 'test' });
      try {
        const entry = listAudit(store.db).at(-1);
        assert.equal(entry?.action, EXPORT_ACTION);
        assert.equal(entry?.actor, 'dpo.bob');
      } finally {
        store.close();
      }
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
      fs.rmSync(copy.dir, { recursive: true, force: true });
    }
  });
});

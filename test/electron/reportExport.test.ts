import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Module } from 'node:module';
import * as path from 'node:path';
import { PDFDocument } from 'pdf-lib';
import type { ReportExportDeps } from '../../main/app/reportExporter.js';
import { tempDir } from '../helpers/fixtures.js';

// Electron's part of a signed export (main/electron/reportExport.ts) against a stand-in
// 'electron' module: the key kept with safeStorage (or, without a real keychain, the owner-only
// file, and the report says so), the hidden sandboxed print window and its printToPDF options,
// and the save dialog. The export itself is the command line's (test/report, test/browser).

let dir: string;
const printed: { options: Record<string, unknown>; windowOptions: Record<string, unknown>; loaded: string; destroyed: boolean }[] = [];
let backend = 'gnome_libsecret';
let dialogAnswer: { canceled: boolean; filePath?: string } = { canceled: true };
let deps: ReportExportDeps;

before(async () => {
  dir = tempDir('ssse-electron-report-');
  const userData = path.join(dir, 'user-data');
  class BrowserWindow {
    private record: (typeof printed)[number];
    webContents: { executeJavaScript(code: string): Promise<unknown>; printToPDF(o: Record<string, unknown>): Promise<Buffer> };
    constructor(options: Record<string, unknown>) {
      this.record = { options: {}, windowOptions: options, loaded: '', destroyed: false };
      printed.push(this.record);
      const record = this.record;
      let polls = 0;
      this.webContents = {
        // The page reports "drawn" on the third look, as a real one does once its charts settle.
        executeJavaScript: async (code: string) => {
          assert.match(code, /data-report-ready/);
          return ++polls >= 3 ? 'true' : null;
        },
        printToPDF: async (o: Record<string, unknown>) => {
          record.options = o;
          const pdf = await PDFDocument.create();
          pdf.addPage();
          return Buffer.from(await pdf.save());
        },
      };
    }
    async loadFile(file: string) {
      this.record.loaded = fs.readFileSync(file, 'utf8');
      assert.equal(fs.statSync(file).mode & 0o077, 0, 'the page is written owner-only');
    }
    destroy() {
      this.record.destroyed = true;
    }
    static getFocusedWindow() {
      return null;
    }
  }
  const electron = {
    app: { getPath: (name: string) => (name === 'userData' ? userData : dir), getVersion: () => '1.2.3' },
    BrowserWindow,
    dialog: { showSaveDialog: async () => dialogAnswer },
    safeStorage: {
      isEncryptionAvailable: () => true,
      getSelectedStorageBackend: () => backend,
      // A reversible stand-in for the keychain's encryption.
      encryptString: (s: string) => Buffer.from(`sealed:${Buffer.from(s).toString('base64')}`),
      decryptString: (b: Buffer) => Buffer.from(b.toString().replace(/^sealed:/, ''), 'base64').toString(),
    },
  };
  const resolved = require.resolve('electron');
  const mod = new Module(resolved);
  mod.exports = electron;
  mod.loaded = true;
  require.cache[resolved] = mod;
  const { electronReportExport } = await import('../../main/electron/reportExport.js');
  deps = electronReportExport();
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the key is kept encrypted with safeStorage, owner-only, and read back the same', { skip: process.platform === 'win32' }, () => {
  const key = deps.key();
  assert.equal(key.protection, 'Electron safeStorage (gnome_libsecret), owner-only file');
  const stored = fs.readFileSync(key.file);
  assert.match(stored.toString(), /^sealed:/, 'no PEM in clear on disk');
  assert.equal(fs.statSync(key.file).mode & 0o777, 0o600);
  assert.equal(path.dirname(key.file), path.join(dir, 'user-data', 'keys'));
  assert.equal(deps.key().fingerprint, key.fingerprint);
});

test('with only basic_text (a fixed password), the key is the owner-only file and the report says so', () => {
  backend = 'basic_text';
  try {
    const key = deps.key();
    assert.match(key.protection, /^file, owner-only \(0600\); no OS keychain for safeStorage$/);
    assert.match(fs.readFileSync(key.file, 'utf8'), /BEGIN PRIVATE KEY/);
  } finally {
    backend = 'gnome_libsecret';
  }
});

test('the printer: a hidden sandboxed window, A4 with the footer of page numbers, waited on until drawn, then destroyed', async () => {
  const pdf = await deps.printer('<html><body>report</body></html>', { requestId: 42 });
  assert.ok(pdf.length > 100);
  const p = printed.at(-1);
  assert.ok(p);
  assert.equal(p.loaded, '<html><body>report</body></html>');
  assert.equal(p.windowOptions['show'], false);
  assert.deepEqual(p.windowOptions['webPreferences'], { sandbox: true, contextIsolation: true, nodeIntegration: false, javascript: true, spellcheck: false });
  assert.equal(p.options['pageSize'], 'A4');
  assert.equal(p.options['displayHeaderFooter'], true);
  assert.match(String(p.options['footerTemplate']), /erasure request #42.*pageNumber.*totalPages/);
  const margins = p.options['margins'] as Record<string, number>;
  assert.ok(Math.abs((margins['left'] ?? 0) - 12 / 25.4) < 1e-12, 'margins in inches');
  assert.equal(p.destroyed, true);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('ssse-report-')), [], 'the temporary page is removed');
});

test('the save dialog: a cancel is null, a choice is the path', async () => {
  dialogAnswer = { canceled: true };
  assert.equal(await deps.choosePath('ssse-request-1-report.pdf'), null);
  dialogAnswer = { canceled: false, filePath: '/home/u/r.pdf' };
  assert.equal(await deps.choosePath('ssse-request-1-report.pdf'), '/home/u/r.pdf');
  assert.equal(deps.version, '1.2.3');
  assert.match(deps.runtime, /^desktop app \(Electron /);
});

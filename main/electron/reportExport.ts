import { app, BrowserWindow, dialog, safeStorage } from 'electron';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ReportExportDeps } from '../app/reportExporter.js';
import { SsseError } from '../engine/errors.js';
import { footerTemplate, HEADER_TEMPLATE, PAGE, READY_ATTRIBUTE, READY_TIMEOUT_MS, type PdfPrinter } from '../report/print.js';
import { FILE_PROTECTOR, loadOrCreateSigningKey, type KeyProtector } from '../report/signingKey.js';

/**
 * Electron's part of a signed PDF export, kept thin: the key's protection (safeStorage), the
 * printer (a hidden, sandboxed window and webContents.printToPDF) and the save dialog. Building,
 * signing, sealing and logging are main/report/export.ts, shared with the command line.
 */

/** The private key encrypted by the operating system's keychain through safeStorage. */
function safeStorageProtector(): KeyProtector | null {
  if (!safeStorage.isEncryptionAvailable()) return null;
  const backend = process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'the OS keychain';
  // basic_text is a fixed, public password: no better than the owner-only file, and less honest about it.
  if (backend === 'basic_text' || backend === 'unknown') return null;
  return {
    description: `Electron safeStorage (${backend}), owner-only file`,
    fileName: 'report-signing-key.safe',
    protect: (pem) => safeStorage.encryptString(pem),
    unprotect: (stored) => safeStorage.decryptString(stored),
  };
}

const mm = (v: number): number => v / 25.4;

async function waitUntilDrawn(win: BrowserWindow): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const state = (await win.webContents.executeJavaScript(`document.body && document.body.getAttribute(${JSON.stringify(READY_ATTRIBUTE)})`)) as unknown;
    if (state === 'true') return;
    if (typeof state === 'string') throw new SsseError('RESOURCE', `the report page failed to draw: ${state}`);
    if (Date.now() > deadline) throw new SsseError('RESOURCE', `the report page did not finish drawing in ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const electronPrinter: PdfPrinter = async (html, { requestId }) => {
  const dir = fs.mkdtempSync(path.join(app.getPath('temp'), 'ssse-report-'));
  const file = path.join(dir, 'report.html');
  fs.writeFileSync(file, html, { mode: 0o600 });
  const win = new BrowserWindow({
    show: false,
    width: PAGE.widthPx,
    height: PAGE.heightPx,
    webPreferences: { sandbox: true, contextIsolation: true, nodeIntegration: false, javascript: true, spellcheck: false },
  });
  try {
    await win.loadFile(file);
    await waitUntilDrawn(win);
    const m = PAGE.marginMm;
    const pdf = await win.webContents.printToPDF({
      pageSize: 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: HEADER_TEMPLATE,
      footerTemplate: footerTemplate(requestId),
      margins: { top: mm(m.top), bottom: mm(m.bottom), left: mm(m.left), right: mm(m.right) },
      generateTaggedPDF: true,
      generateDocumentOutline: true,
    });
    return new Uint8Array(pdf);
  } finally {
    win.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

export function electronReportExport(): ReportExportDeps {
  const keyDir = path.join(app.getPath('userData'), 'keys');
  return {
    key: () => {
      const protector = safeStorageProtector();
      return protector ? loadOrCreateSigningKey(keyDir, protector) : loadOrCreateSigningKey(keyDir, { ...FILE_PROTECTOR, description: `${FILE_PROTECTOR.description}; no OS keychain for safeStorage` });
    },
    printer: electronPrinter,
    choosePath: async (suggested) => {
      const owner = BrowserWindow.getFocusedWindow();
      const options = { title: 'Save the signed report', defaultPath: path.join(app.getPath('documents'), suggested), filters: [{ name: 'PDF', extensions: ['pdf'] }] };
      const r = owner ? await dialog.showSaveDialog(owner, options) : await dialog.showSaveDialog(options);
      return r.canceled || !r.filePath ? null : r.filePath;
    },
    version: app.getVersion(),
    runtime: `desktop app (Electron ${process.versions.electron ?? '?'}, ${process.platform} ${process.arch})`,
  };
}

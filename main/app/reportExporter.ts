import * as path from 'node:path';
import type { Store } from '../../db/connection.js';
import { getRequest } from '../../db/queries.js';
import type { ExportedReport } from '../../preload/contract.js';
import { HandlerError } from '../ipc/errors.js';
import { exportReport } from '../report/export.js';
import type { PdfPrinter } from '../report/print.js';
import type { SigningKey } from '../report/signingKey.js';

/** What the app needs to export a signed report; Electron supplies each part (main/electron/reportExport.ts). */
export interface ReportExportDeps {
  /** The workstation's signing key, created on first use (in the app: kept with safeStorage). */
  key: () => SigningKey;
  /** Prints a self-contained report page to PDF (in the app: webContents.printToPDF). */
  printer: PdfPrinter;
  /** Asks where to save; null when the user cancels. */
  choosePath: (suggestedName: string) => Promise<string | null>;
  version: string;
  runtime: string;
}

export interface ReportExporter {
  exportPdf(requestId: number, actor: string): Promise<ExportedReport | null>;
}

/** The reports:export channel's work, with no Electron in sight: the same export the command line does. */
export function createReportExporter(store: Store, deps: ReportExportDeps): ReportExporter {
  return {
    async exportPdf(requestId, actor) {
      if (!getRequest(store.db, requestId)) throw new HandlerError('NOT_FOUND', `request ${requestId} does not exist in ${store.file}`);
      const target = await deps.choosePath(`ssse-request-${requestId}-report.pdf`);
      if (target === null) return null;
      const result = await exportReport(store, requestId, {
        pdfPath: path.resolve(target),
        htmlPath: null,
        actor,
        key: deps.key(),
        software: { version: deps.version, runtime: deps.runtime },
        printer: () => Promise.resolve(deps.printer),
      });
      const pdf = result.files.find((f) => f.kind === 'pdf');
      if (!pdf) throw new HandlerError('INTERNAL', 'the export wrote no PDF');
      return { path: pdf.path, sha256: pdf.sha256, bytes: pdf.bytes, pages: pdf.pages ?? 0, keyFingerprint: result.doc.signer.fingerprint, auditSeq: result.auditSeq };
    },
  };
}

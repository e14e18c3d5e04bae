/**
 * How a report page becomes a PDF: the same paper, margins and page-number footer whether
 * Chromium prints it for the command line (playwright-core) or Electron does in the app
 * (webContents.printToPDF). The printer only has to load the HTML, wait until the page says it
 * has drawn everything, and print.
 */

/** A function that prints a self-contained report page to PDF bytes. */
export type PdfPrinter = (html: string, page: { requestId: number }) => Promise<Uint8Array>;

/** The page sets this attribute on <body> once the report (charts included) is drawn, or "error". */
export const READY_ATTRIBUTE = 'data-report-ready';

/** A4 at 96 px per inch, less the margins below: the width the page lays itself out at. */
export const PAGE = {
  widthPx: 794,
  heightPx: 1123,
  marginMm: { top: 14, bottom: 16, left: 12, right: 12 },
} as const;

/** Chromium's footer template: the request, and page N of M on every page. */
export function footerTemplate(requestId: number): string {
  return (
    '<div style="font: 8px/1.2 \'DejaVu Sans\', sans-serif; color: #555; width: 100%; margin: 0 12mm; display: flex; justify-content: space-between;">' +
    `<span>SSSE audit report · erasure request #${requestId}</span>` +
    '<span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span>' +
    '</div>'
  );
}

export const HEADER_TEMPLATE = '<div></div>';

/** How long a page may take to draw before printing gives up. */
export const READY_TIMEOUT_MS = 30_000;

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { Store } from '../../../db/connection.js';
import { SsseError } from '../../engine/errors.js';
import { findBrowser, chromiumPrinter } from '../../report/chromium.js';
import { commandLineRuntime } from '../../report/document.js';
import { exportReport, type ExportResult } from '../../report/export.js';
import { packageVersion } from '../../report/paths.js';
import { defaultKeyDir, loadOrCreateSigningKey } from '../../report/signingKey.js';
import { verifyReportPdf } from '../../report/verify.js';
import { usageError, type CliIo } from '../options.js';
import { dbPathOf, parseId, STORE_OPTIONS, withCliStore } from '../storeOptions.js';

export const REPORT_USAGE = `  ssse report --request ID --pdf FILE [--html FILE] [--key-dir DIR]
      prints the request's audit report to a signed PDF (the app's report layout, through headless
      Chromium: $CHROME_PATH, else the system's Chrome/Chromium, else @sparticuz/chromium). The
      report's canonical JSON, its Ed25519 signature and the public key are embedded; the key is
      created on first use in --key-dir (default $SSSE_DATA_DIR/keys or ~/.local/share/ssse/keys,
      owner-only). --html also writes the self-contained HTML page. The export is logged.
  ssse verify-report FILE [--key PUBLIC_KEY_FILE] [--db PATH]
      checks a signed report: the signature over the embedded JSON (with --key: by that key),
      that the pages show the JSON's request id, figures and verdict, and with --db that the
      request's record, its audit entries and the chain are as the report says; exits 0 when
      all holds, else 1 naming the first failure
`;

const REPORT_OPTIONS = {
  ...STORE_OPTIONS,
  request: { type: 'string' },
  pdf: { type: 'string' },
  html: { type: 'string' },
  'key-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Writes a signed report of one request with the command line's printer and key; used by `ssse demo` too. */
export async function writeSignedReport(store: Store, requestId: number, files: { pdf: string | null; html: string | null; keyDir?: string | undefined }): Promise<ExportResult> {
  const key = loadOrCreateSigningKey(files.keyDir ?? defaultKeyDir());
  return exportReport(store, requestId, {
    pdfPath: files.pdf,
    htmlPath: files.html,
    key,
    software: { version: packageVersion(), runtime: commandLineRuntime() },
    printer: async () => chromiumPrinter(await findBrowser()),
  });
}

export function describeExport(result: ExportResult): string {
  const lines = result.files.map((f) => `  ${f.kind.toUpperCase().padEnd(4)}  ${f.path}  (${f.pages !== null ? `${f.pages} pages, ` : ''}${f.bytes} bytes, SHA-256 ${f.sha256})`);
  return (
    `Signed report of request #${result.doc.report.request.id} (${result.doc.report.request.status}):\n${lines.join('\n')}\n` +
    `  signed by key ${result.doc.signer.fingerprint} at ${result.doc.generatedAt}; logged as audit entry ${result.auditSeq}\n`
  );
}

export async function commandReport(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args, options: REPORT_OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    io.out.write(REPORT_USAGE);
    return 0;
  }
  const id = parseId('--request', values.request);
  if (values.pdf === undefined) throw usageError('report: --pdf FILE is required (where the signed PDF goes)');
  const pdf = path.resolve(values.pdf);
  const html = values.html === undefined ? null : path.resolve(values.html);
  if (html === pdf) throw usageError('report: --pdf and --html name the same file');
  if (!fs.existsSync(dbPathOf(values.db))) throw new SsseError('BAD_ARGUMENT', `report: no database at ${dbPathOf(values.db)} (give --db PATH)`);
  return withCliStore(values, 'write', async (store) => {
    const result = await writeSignedReport(store, id, { pdf, html, keyDir: values['key-dir'] });
    if (values.json) io.out.write(`${JSON.stringify({ request: id, files: result.files, report_sha256: result.jsonSha256, key_fingerprint: result.doc.signer.fingerprint, audit_seq: result.auditSeq }, null, 2)}\n`);
    else io.out.write(describeExport(result));
    return 0;
  });
}

const VERIFY_OPTIONS = {
  db: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function commandVerifyReport(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: VERIFY_OPTIONS, strict: true, allowPositionals: true });
  if (values.help) {
    io.out.write(REPORT_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw usageError('verify-report: give one PDF file, e.g. ssse verify-report report.pdf');
  const file = path.resolve(positionals[0] as string);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new SsseError('BAD_ARGUMENT', `verify-report: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let trustedKey: { pem: string; source: string } | null = null;
  if (values.key !== undefined) {
    const keyFile = path.resolve(values.key);
    try {
      trustedKey = { pem: fs.readFileSync(keyFile, 'utf8'), source: keyFile };
    } catch (e) {
      throw new SsseError('BAD_ARGUMENT', `--key ${keyFile}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
  const run = (store: Store | null) => verifyReportPdf(bytes, file, { trustedKey, store });
  let result;
  if (values.db !== undefined) {
    if (!fs.existsSync(dbPathOf(values.db))) throw new SsseError('BAD_ARGUMENT', `verify-report: no database at ${dbPathOf(values.db)}`);
    result = await withCliStore({ db: values.db, actor: 'verify-report' }, 'read', (store) => run(store));
  } else {
    result = await run(null);
  }
  if (values.json) {
    io.out.write(`${JSON.stringify({ file, ok: result.ok, failure: result.failure, checks: result.checks }, null, 2)}\n`);
  } else {
    for (const c of result.checks) io.out.write(`${c.ok ? 'ok    ' : 'FAILED'}  ${c.name.padEnd(13)}  ${c.detail}\n`);
    io.out.write(result.ok ? `OK: ${file} is a signed report whose evidence holds${values.db === undefined ? ' (give --db to check it against the workstation\'s records)' : ''}\n` : `FAILED: ${file}: ${result.failure?.name}: ${result.failure?.detail}\n`);
  }
  return result.ok ? 0 : 1;
}

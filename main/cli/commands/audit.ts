import { parseArgs } from 'node:util';
import { listAudit, tailAudit } from '../../../db/audit.js';
import { verifyStore } from '../../../db/verify.js';
import { parseNumber, usageError, type CliIo } from '../options.js';
import { STORE_OPTIONS, withCliStore } from '../storeOptions.js';

export const AUDIT_USAGE = `  ssse audit log [--limit N] [--json]
      prints the audit log (the last N entries with --limit)
  ssse audit verify [--json]
      recomputes the hash chain, every record against its audit entry and every artefact's
      SHA-256; exits 1 naming the first bad entry or file when anything was altered
`;

const OPTIONS = {
  ...STORE_OPTIONS,
  limit: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function commandAudit(args: string[], io: CliIo): Promise<void | number> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help || verb === undefined || verb === 'help') {
    io.out.write(AUDIT_USAGE);
    return;
  }
  if (verb === 'log') {
    const limit = values.limit === undefined ? null : parseNumber('limit', values.limit, 0, (v) => Number.isInteger(v) && v > 0, 'a whole number > 0');
    return withCliStore(values, 'read', (store) => {
      const entries = limit === null ? listAudit(store.db) : tailAudit(store.db, limit);
      if (values.json) {
        io.out.write(`${JSON.stringify(entries.map((e) => ({ ...e, payload: JSON.parse(e.payload) as unknown })), null, 2)}\n`);
        return;
      }
      // The human form shortens long payloads; --json prints every entry in full.
      const short = (p: string): string => (p.length > 160 ? `${p.slice(0, 159)}…` : p);
      for (const e of entries) io.out.write(`${String(e.seq).padStart(5)}  ${e.at}  ${e.actor.padEnd(10)}  ${e.action.padEnd(20)}  ${e.hash.slice(0, 12)}  ${short(e.payload)}\n`);
    });
  }
  if (verb === 'verify') {
    return withCliStore(values, 'read', (store) => {
      const report = verifyStore(store.db, store.root);
      if (values.json) {
        io.out.write(`${JSON.stringify({ database: store.file, artefact_folder: store.root, ...report }, null, 2)}\n`);
      } else if (report.ok) {
        io.out.write(
          `OK: ${store.file}: ${report.entries} audit entries chain correctly, ${report.records} records match the log, ` +
            `${report.artefacts} artefact files match their SHA-256\n`,
        );
      } else {
        io.out.write(`FAILED: ${store.file}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}; the first:\n  ${report.problems[0]}\n`);
        for (const p of report.problems.slice(1)) io.out.write(`  ${p}\n`);
      }
      if (!values.json) for (const w of report.warnings) io.out.write(`warning: ${w}\n`);
      return report.ok ? 0 : 1;
    });
  }
  throw usageError(`audit: unknown subcommand "${verb}" (log or verify)`);
}

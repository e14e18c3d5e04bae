import { parseArgs } from 'node:util';
import { auditHead } from '../../../db/audit.js';
import { schemaVersion } from '../../../db/migrate.js';
import { LATEST_VERSION } from '../../../db/migrations/index.js';
import { counts } from '../../../db/queries.js';
import { usageError, type CliIo } from '../options.js';
import { STORE_OPTIONS, withCliStore } from '../storeOptions.js';

export const DB_USAGE = `  ssse db info [--json]     schema version, counts and the audit head
  ssse db upgrade           applies pending migrations (writing commands do it themselves)
`;

const OPTIONS = { ...STORE_OPTIONS, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } as const;

export async function commandDb(args: string[], io: CliIo): Promise<void> {
  const [verb, ...rest] = args;
  const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help || verb === undefined || verb === 'help') {
    io.out.write(DB_USAGE);
    return;
  }
  if (verb !== 'info' && verb !== 'upgrade') throw usageError(`db: unknown subcommand "${verb}" (info or upgrade)`);
  await withCliStore(values, verb === 'upgrade' ? 'write' : 'read', (store) => {
    const info = { database: store.file, artefact_folder: store.root, schema_version: schemaVersion(store.db), latest_version: LATEST_VERSION, ...counts(store.db), audit_head: auditHead(store.db) };
    if (values.json) io.out.write(`${JSON.stringify(info, null, 2)}\n`);
    else {
      io.out.write(
        `${info.database}: schema version ${info.schema_version} (this ssse: ${info.latest_version}); ${info.datasets} datasets, ${info.models} model versions, ` +
          `${info.certifications} certifications, ${info.requests} requests, ${info.artefacts} artefacts; audit log ${info.audit_head.seq} entries, head ${info.audit_head.hash}\n`,
      );
    }
  });
}

import * as path from 'node:path';
import { sha256Buffer } from '../../db/artefacts.js';
import { appendAudit } from '../../db/audit.js';
import type { Store } from '../../db/connection.js';
import { transaction } from '../../db/queries.js';
import type { OutputFile } from '../engine/output.js';

/** Records that a request's results were written out (the files' names, SHA-256 and sizes). */
export function recordExport(store: Store, requestId: number, dir: string, files: OutputFile[]): void {
  transaction(store.db, () => {
    appendAudit(store.db, {
      actor: store.actor,
      action: 'report.exported',
      payload: {
        request: requestId,
        dir: path.resolve(dir),
        files: files.map((f) => {
          const data = typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data;
          return { name: f.name, sha256: sha256Buffer(data), bytes: data.length };
        }),
      },
    });
  });
}

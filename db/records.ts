/**
 * Record digests: the SHA-256 of a stored record as the audit log saw it.
 *
 * Every audit entry that creates or changes a record names it, `{table, id, sha256}`, where
 * sha256 is the digest of the record's columns (listed here, in a fixed set, so that a later
 * migration adding a column does not change old digests) together with its child rows. `audit
 * verify` recomputes the digest of every record and compares it with the last entry that named
 * it, which makes an edit to any recorded value, or a record added or deleted outside ssse,
 * visible, not only edits to the log itself.
 */
import { sha256Json } from '../main/engine/hash.js';
import type { Db } from './queries.js';

export type RecordTable = 'datasets' | 'artefacts' | 'models' | 'certifications' | 'calibrations' | 'requests';

export interface RecordRef {
  table: RecordTable;
  id: number;
  sha256: string;
}

const COLUMNS: Record<RecordTable, readonly string[]> = {
  datasets: ['id', 'name', 'fingerprint', 'dir', 'format', 'n', 'd', 'attributes', 'attribute_names', 'test_n', 'limit_train', 'limit_test', 'registered_at', 'registered_by'],
  artefacts: ['id', 'kind', 'path', 'sha256', 'bytes', 'format', 'created_at'],
  models: [
    'id', 'name', 'version', 'parent_id', 'dataset_id', 'origin', 'architecture', 'd', 'attributes', 'l2', 'seed', 'training',
    'backend', 'backend_provider', 'parameters_id', 'parameters_sha256', 'created_at', 'created_by',
  ],
  certifications: ['id', 'model_id', 'curvature', 'damping', 'method', 'blocks', 'minibatch', 'terms', 'fisher_id', 'backend', 'seconds', 'created_at', 'created_by'],
  calibrations: ['id', 'certification_id', 'epsilon', 'rule', 'gamma_S', 'removal_fraction', 'k', 'seed', 'sweep', 'created_at', 'created_by'],
  requests: [
    'id', 'status', 'model_ref', 'model_id', 'result_model_id', 'subject_hash', 'legal_ground', 'received_at', 'due_at', 'entered_by',
    'removal_source', 'removal_sha256', 'k', 'method', 'settings', 'certification_id', 'epsilon', 'epsilon_source', 'gamma_S',
    'normalized_distance', 'metrics', 'timings', 'reason', 'updated_at',
  ],
};

/** Child rows folded into a record's digest, in a fixed order. */
function children(db: Db, table: RecordTable, recordId: number): Record<string, unknown[]> {
  if (table === 'datasets') {
    return { files: db.prepare('SELECT path, sha256, bytes FROM dataset_files WHERE dataset_id = ? ORDER BY path').raw().all(recordId) };
  }
  if (table === 'requests') {
    return {
      samples: db.prepare('SELECT sample_id, row_index, features_sha256 FROM request_samples WHERE request_id = ? ORDER BY sample_id').raw().all(recordId),
      sweep: db
        .prepare(
          `SELECT epsilon, gamma_S, normalized_distance, accuracy_removed, accuracy_retained, accuracy_test, mean_abs_accuracy_difference
           FROM request_sweep WHERE request_id = ? ORDER BY epsilon`,
        )
        .raw()
        .all(recordId),
    };
  }
  return {};
}

function select(table: RecordTable): string {
  // Table and column names come from COLUMNS above, never from input.
  return `SELECT ${COLUMNS[table].join(', ')} FROM ${table}`;
}

function digest(db: Db, table: RecordTable, row: Record<string, unknown>): string {
  return sha256Json({ table, row, children: children(db, table, row['id'] as number) });
}

/** The digest of one record as it is now; null when it does not exist. */
export function recordDigest(db: Db, table: RecordTable, recordId: number): string | null {
  const row = db.prepare<[number], Record<string, unknown>>(`${select(table)} WHERE id = ?`).get(recordId);
  return row ? digest(db, table, row) : null;
}

/** A reference to a record for an audit entry's payload; the record must exist. */
export function recordRef(db: Db, table: RecordTable, recordId: number): RecordRef {
  const sha256 = recordDigest(db, table, recordId);
  if (sha256 === null) throw new Error(`recordRef: ${table} #${recordId} does not exist`);
  return { table, id: recordId, sha256 };
}

/** Every record of every table with its digest, for verification. */
export function allRecordDigests(db: Db): RecordRef[] {
  const out: RecordRef[] = [];
  for (const table of Object.keys(COLUMNS) as RecordTable[]) {
    for (const row of db.prepare<[], Record<string, unknown>>(`${select(table)} ORDER BY id`).all()) {
      out.push({ table, id: row['id'] as number, sha256: digest(db, table, row) });
    }
  }
  return out;
}

export const RECORD_TABLES = Object.keys(COLUMNS) as RecordTable[];

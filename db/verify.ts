/**
 * `ssse audit verify`: everything an auditor needs re-computed, in one pass, read-only.
 *
 * 1. The hash chain (db/audit.ts): each entry's hash, the links, no gaps, the head.
 * 2. The records: each record's digest against the last audit entry naming it (db/records.ts);
 *    records missing from the log and logged records that no longer exist.
 * 3. The artefact files: each one's size and SHA-256 against its artefacts row.
 * 4. Files in the artefact folder that no row names: warnings (an interrupted write leaves such
 *    files until the next writing command removes them; they are never read).
 */
import { absolute, hashFile, listArtefactFiles } from './artefacts.js';
import { verifyChain } from './audit.js';
import { describeArtefact, listArtefacts, listOperations, type Db } from './queries.js';
import { allRecordDigests } from './records.js';

export interface VerifyReport {
  ok: boolean;
  entries: number;
  records: number;
  artefacts: number;
  /** Problems, the first bad entry or file first. */
  problems: string[];
  warnings: string[];
}

export function verifyStore(db: Db, root: string): VerifyReport {
  const problems: string[] = [];
  const warnings: string[] = [];

  const chain = verifyChain(db);
  problems.push(...chain.problems.map((p) => p.message));

  const digests = allRecordDigests(db);
  const present = new Set<string>();
  for (const r of digests) {
    const key = `${r.table}#${r.id}`;
    present.add(key);
    const logged = chain.latest.get(key);
    if (!logged) problems.push(`${r.table} #${r.id}: not in the audit log (added outside ssse?)`);
    else if (logged.sha256 !== r.sha256) problems.push(`${r.table} #${r.id}: differs from what audit entry ${logged.seq} recorded (altered after it was logged)`);
  }
  for (const [key, logged] of chain.latest) {
    if (!present.has(key)) problems.push(`${key.replace('#', ' #')}: recorded by audit entry ${logged.seq} but no longer in the database (deleted)`);
  }

  const rows = listArtefacts(db);
  const known = new Set(rows.map((r) => r.path));
  for (const row of rows) {
    const file = absolute(root, row.path);
    const what = `artefact #${row.id} ${file} (${describeArtefact(db, row.id)})`;
    const actual = hashFile(file);
    if (!actual) problems.push(`${what}: the file is missing`);
    else if (actual.bytes !== row.bytes) problems.push(`${what}: ${actual.bytes} bytes, the database recorded ${row.bytes} (altered, replaced or truncated)`);
    else if (actual.sha256 !== row.sha256) problems.push(`${what}: SHA-256 ${actual.sha256}, the database recorded ${row.sha256} (altered or replaced)`);
  }
  const planned = new Set<string>();
  for (const op of listOperations(db)) for (const p of JSON.parse(op.planned_paths) as string[]) planned.add(p);
  for (const rel of listArtefactFiles(root)) {
    if (known.has(rel)) continue;
    const note = planned.has(rel) ? 'being written, or left by an interrupted write' : 'not recorded in the database';
    warnings.push(`${absolute(root, rel)}: ${note}; it is not part of the record and is never read`);
  }

  return { ok: problems.length === 0, entries: chain.entries, records: digests.length, artefacts: rows.length, problems, warnings };
}

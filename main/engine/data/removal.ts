/**
 * Erasure requests: which training rows to remove.
 *
 * A removal file has one sample id per line; blank lines and lines starting with '#' are ignored
 * and whitespace is trimmed. Ids are those of ids.txt, or, without it, the row index written as a
 * plain decimal integer ("0".."n-1"), so one lookup serves both. Every problem is an
 * SsseError('BAD_REQUEST') whose message starts with the file (or source) it came from, because a
 * bad request is the user's to fix, not a bug.
 *
 * Seeded helpers build requests without a file: a random k rows, or a fraction of one class.
 */
import fs from 'node:fs';
import { SsseError } from '../errors.js';
import { mulberry32, sampleWithoutReplacement } from './random.js';

/** How many unknown ids an error lists before summarising the rest. */
const MAX_LISTED = 10;

/**
 * Reads a removal file and resolves it against the training ids: sorted, unique row indices.
 * `idsFromFile` says whether `ids` came from ids.txt (false: they are the row indices), which only
 * changes the hint given for unknown entries.
 */
export function readRemovalFile(path: string, ids: string[], idsFromFile: boolean): number[] {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SsseError('BAD_REQUEST', `${path}: removal file not found`);
    throw new SsseError('BAD_REQUEST', `${path}: cannot read the removal file (${code ?? String(e)})`);
  }
  return resolveRemoval(text.replace(/^\uFEFF/, '').split(/\r?\n/), ids, path, idsFromFile);
}

/**
 * Resolves removal lines (as if read from a file called `source`) to sorted, unique row indices.
 * `idsFromFile` defaults to whether `ids` differ from the row indices "0".."n-1".
 */
export function resolveRemoval(
  lines: string[],
  ids: string[],
  source: string,
  idsFromFile: boolean = !areRowIndices(ids),
): number[] {
  const n = ids.length;
  const rowOf = new Map<string, number>();
  ids.forEach((id, row) => rowOf.set(id, row));

  const rows: number[] = [];
  const lineOfId = new Map<string, number>();
  const unknown: string[] = [];
  let unknownCount = 0;
  const duplicates: string[] = [];
  let duplicateCount = 0;

  lines.forEach((rawLine, index) => {
    const entry = rawLine.trim();
    if (entry === '' || entry.startsWith('#')) return;
    const line = index + 1;
    const earlier = lineOfId.get(entry);
    if (earlier !== undefined) {
      duplicateCount++;
      if (duplicates.length < MAX_LISTED) duplicates.push(`"${entry}" (lines ${earlier} and ${line})`);
      return;
    }
    lineOfId.set(entry, line);
    const row = rowOf.get(entry);
    if (row === undefined) {
      unknownCount++;
      if (unknown.length < MAX_LISTED) unknown.push(`"${entry}" (line ${line})`);
      return;
    }
    rows.push(row);
  });

  if (lineOfId.size === 0) {
    throw new SsseError('BAD_REQUEST', `${source}: the removal request is empty (k = 0)`);
  }
  if (unknownCount > 0) {
    const hint = idsFromFile
      ? ''
      : `; there is no ids.txt, so samples are named by row index 0..${n - 1}, and row indices are written as plain integers (7, not 007 or 7.0)`;
    throw new SsseError(
      'BAD_REQUEST',
      `${source}: ${unknownCount} ${unknownCount === 1 ? 'entry names' : 'entries name'} no training sample: ` +
        `${unknown.join(', ')}${more(unknownCount, unknown.length)}${hint}`,
    );
  }
  if (duplicateCount > 0) {
    throw new SsseError(
      'BAD_REQUEST',
      `${source}: ${duplicateCount} duplicate ${duplicateCount === 1 ? 'entry' : 'entries'}: ` +
        `${duplicates.join(', ')}${more(duplicateCount, duplicates.length)}; name each sample once`,
    );
  }
  checkLeavesOne(source, rows.length, n);
  return rows.sort((a, b) => a - b);
}

/**
 * k distinct rows out of n chosen by a seeded PRNG (mulberry32 + partial Fisher–Yates), sorted
 * ascending. The same (n, k, seed) always gives the same rows.
 */
export function randomRemoval(n: number, k: number, seed: number): number[] {
  checkInteger('randomRemoval', 'n', n);
  checkInteger('randomRemoval', 'k', k);
  checkInteger('randomRemoval', 'seed', seed);
  if (k < 1) throw new SsseError('BAD_REQUEST', `randomRemoval: the removal request is empty (k = ${k})`);
  checkLeavesOne('randomRemoval', k, n);
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  return sampleWithoutReplacement(pool, k, mulberry32(seed)).sort((a, b) => a - b);
}

/**
 * round(fraction · count) rows (at least 1) of class `cls`, where count is the number of rows with
 * that class id, chosen by a seeded PRNG; sorted ascending. Math.round rounds halves up.
 */
export function classRemoval(classIds: ArrayLike<number>, cls: number, fraction: number, seed: number): number[] {
  checkInteger('classRemoval', 'cls', cls);
  checkInteger('classRemoval', 'seed', seed);
  if (!(fraction > 0 && fraction <= 1)) {
    throw new SsseError('BAD_ARGUMENT', `classRemoval: fraction must be in (0, 1], got ${fraction}`);
  }
  const members: number[] = [];
  for (let row = 0; row < classIds.length; row++) if (classIds[row] === cls) members.push(row);
  if (members.length === 0) {
    throw new SsseError('BAD_REQUEST', `classRemoval: class ${cls} has no training samples`);
  }
  const k = Math.max(1, Math.round(fraction * members.length));
  checkLeavesOne('classRemoval', k, classIds.length);
  return sampleWithoutReplacement(members, k, mulberry32(seed)).sort((a, b) => a - b);
}

/**
 * How many of `rows` (every row when absent) carry each class id 0 … numClasses−1. Throws
 * BAD_INPUT naming the training sample whose id is outside that range.
 */
export function classCounts(classIds: ArrayLike<number>, numClasses: number, rows?: ArrayLike<number>): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  const count = (i: number) => {
    const c = classIds[i] as number;
    if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) throw new SsseError('BAD_INPUT', `training sample ${i} has class id ${c}, outside 0..${numClasses - 1}`);
    counts[c] = (counts[c] as number) + 1;
  };
  if (rows === undefined) for (let i = 0; i < classIds.length; i++) count(i);
  else for (let j = 0; j < rows.length; j++) count(rows[j] as number);
  return counts;
}

function checkLeavesOne(source: string, k: number, n: number): void {
  if (k >= n) {
    throw new SsseError(
      'BAD_REQUEST',
      k === n
        ? `${source}: the removal request names all n = ${n} training samples; at least one must remain (k < n)`
        : `${source}: the removal request names k = ${k} samples but there are only n = ${n}; at least one must remain (k < n)`,
    );
  }
}

function checkInteger(fn: string, name: string, value: number): void {
  if (!Number.isSafeInteger(value)) {
    throw new SsseError('BAD_ARGUMENT', `${fn}: ${name} must be an integer, got ${String(value)}`);
  }
}

function more(total: number, listed: number): string {
  return total > listed ? ` and ${total - listed} more (${total} in all)` : '';
}

function areRowIndices(ids: string[]): boolean {
  return ids.every((id, row) => id === String(row));
}

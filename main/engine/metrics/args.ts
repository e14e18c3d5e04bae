/**
 * Argument checks shared by the metric functions (internal to metrics/). Every violation is an
 * SsseError('BAD_ARGUMENT') whose message names the function, the argument and the index at fault.
 */
import { SsseError } from '../errors.js';

export function badArgument(fn: string, message: string): SsseError {
  return new SsseError('BAD_ARGUMENT', `${fn}: ${message}`);
}

/** `value` must be a non-negative safe integer. */
export function checkCount(fn: string, name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw badArgument(fn, `${name} must be a non-negative integer, got ${String(value)}`);
  }
}

/** Checks n and A and that the n×A row-major arrays have n·A entries. */
export function checkMatrix(
  fn: string,
  n: number,
  A: number,
  arrays: ReadonlyArray<readonly [name: string, array: ArrayLike<number>]>,
): void {
  checkCount(fn, 'n', n);
  checkCount(fn, 'A', A);
  for (const [name, array] of arrays) {
    if (array.length !== n * A) {
      throw badArgument(fn, `${name} has length ${array.length}, expected n·A = ${n}·${A} = ${n * A}`);
    }
  }
}

/**
 * The selected row indices: `rows` when given (each an integer in [0, n), no repeats, since it
 * names a set such as the removed set S), otherwise 0..n−1.
 */
export function resolveRows(fn: string, n: number, rows: ArrayLike<number> | undefined): Int32Array {
  if (rows === undefined) {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  const out = new Int32Array(rows.length);
  const seen = new Uint8Array(n);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j] as number;
    if (!Number.isInteger(r) || r < 0 || r >= n) {
      throw badArgument(fn, `rows[${j}] = ${String(r)} is not a row index in [0, ${n})`);
    }
    if (seen[r] === 1) throw badArgument(fn, `rows[${j}] = ${r} is repeated`);
    seen[r] = 1;
    out[j] = r;
  }
  return out;
}

/** A 0/1 label. */
export function checkLabel(fn: string, name: string, index: number, value: number): void {
  if (value !== 0 && value !== 1) {
    throw badArgument(fn, `${name}[${index}] = ${String(value)} is not a 0/1 label`);
  }
}

/** A score that is not NaN (±Infinity orders fine). */
export function checkScore(fn: string, name: string, index: number, value: number): void {
  if (Number.isNaN(value)) throw badArgument(fn, `${name}[${index}] is NaN`);
}

/** Equal lengths. */
export function checkSameLength(fn: string, nameA: string, a: ArrayLike<unknown>, nameB: string, b: ArrayLike<unknown>): void {
  if (a.length !== b.length) {
    throw badArgument(fn, `${nameA} has length ${a.length} but ${nameB} has length ${b.length}`);
  }
}

import { SsseError } from '../engine/errors.js';

/** Where a command writes: injectable so tests can capture it. */
export interface CliIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WriteStream;
}

export function usageError(message: string): SsseError {
  return new SsseError('BAD_ARGUMENT', message);
}

/** A numeric flag's value, or `fallback` when absent; the error names the flag and the value. */
export function parseNumber(flag: string, value: string | undefined, fallback: number, check: (v: number) => boolean, expect: string): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v) || !check(v)) throw usageError(`--${flag}: expected ${expect}, got "${value}"`);
  return v;
}

export function parseChoice<T extends string>(flag: string, value: string | undefined, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usageError(`--${flag}: expected ${allowed.join(' or ')}, got "${value}"`);
}

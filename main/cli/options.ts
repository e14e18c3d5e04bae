import type { LoadOptions } from '../engine/data/dataset.js';
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

/** --limit-train / --limit-test as the dataset loader's options (whole numbers > 0). */
export function limitsOf(values: { 'limit-train'?: string; 'limit-test'?: string }): LoadOptions {
  const opt: LoadOptions = {};
  const whole = (v: number): boolean => Number.isInteger(v) && v > 0;
  if (values['limit-train'] !== undefined) opt.limitTrain = parseNumber('limit-train', values['limit-train'], 0, whole, 'a whole number > 0');
  if (values['limit-test'] !== undefined) opt.limitTest = parseNumber('limit-test', values['limit-test'], 0, whole, 'a whole number > 0');
  return opt;
}

/**
 * Ctrl-C for a long command: the first aborts `signal` (the work stops at its next check and the
 * command exits 130), with a note on stderr; a second ends the process at once. Listens between
 * `listen()` and `release()`.
 */
export class SigintCancel {
  private readonly controller = new AbortController();
  readonly signal: AbortSignal = this.controller.signal;

  constructor(private readonly io: CliIo) {}

  private readonly onSigint = (): void => {
    if (this.controller.signal.aborted) process.exit(130);
    this.io.err.write('\nssse: cancelling (press Ctrl-C again to stop at once)…\n');
    this.controller.abort();
  };

  listen(): void {
    process.on('SIGINT', this.onSigint);
  }

  release(): void {
    process.off('SIGINT', this.onSigint);
  }
}

/**
 * Errors the engine raises on purpose. Every one carries a stable `code` so that callers on the
 * other side of a process boundary (CLI, utility process, IPC) can turn it into a result
 * instead of a stack trace, and a message that names the file, row or field at fault.
 */
export type SsseErrorCode =
  | 'BAD_INPUT' // a file or argument is malformed (shape, dtype, NaN, header…)
  | 'BAD_REQUEST' // an erasure request is invalid (empty, unknown ids, k = n…)
  | 'BAD_ARGUMENT' // a function was called with arguments that violate its contract
  | 'CANCELLED' // the caller aborted
  | 'NOT_CONVERGED' // an iterative method did not reach its tolerance
  | 'NUMERIC' // a numeric failure (not positive definite, NaN produced…)
  | 'RESOURCE'; // would not fit in memory, backend unavailable…

export class SsseError extends Error {
  readonly code: SsseErrorCode;
  constructor(code: SsseErrorCode, message: string) {
    super(message);
    this.name = 'SsseError';
    this.code = code;
  }
}

/** A data file is malformed. The message always starts with the file's path. */
export class DataError extends SsseError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super('BAD_INPUT', `${file}: ${problem}`);
    this.name = 'DataError';
    this.file = file;
  }
}

export class CancelledError extends SsseError {
  constructor(what = 'operation') {
    super('CANCELLED', `${what} was cancelled`);
    this.name = 'CancelledError';
  }
}

export function isSsseError(e: unknown): e is SsseError {
  return e instanceof SsseError;
}

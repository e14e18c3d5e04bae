import { ZodError } from 'zod';
import { IPC_ERROR_CODES, type IpcError, type IpcErrorCode } from '../../preload/contract.js';
import { isSsseError } from '../engine/errors.js';
import { describeIssues } from './schemas.js';

/** An error a handler raises on purpose, with the code the renderer will see. */
export class HandlerError extends Error {
  constructor(
    readonly code: IpcErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HandlerError';
  }
}

export function notFound(what: string): HandlerError {
  return new HandlerError('NOT_FOUND', `${what} does not exist`);
}

const PASSED_THROUGH = new Set<string>(IPC_ERROR_CODES.filter((c) => c !== 'INTERNAL'));

/**
 * Turns anything thrown into the error half of an IpcResult. Errors raised on purpose keep their
 * code and message; anything else is an INTERNAL error whose message is kept (the user must be
 * able to report it) but whose stack stays in the main process's log.
 */
export function toIpcError(e: unknown): IpcError {
  if (e instanceof HandlerError) return { code: e.code, message: e.message };
  if (e instanceof ZodError) return { code: 'VALIDATION', message: describeIssues(e) };
  if (isSsseError(e)) return { code: e.code, message: e.message };
  if (e instanceof Error && 'code' in e && typeof e.code === 'string' && PASSED_THROUGH.has(e.code)) {
    return { code: e.code as IpcErrorCode, message: e.message };
  }
  if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('SQLITE_')) {
    return { code: 'STORE', message: `the audit store: ${e.message}` };
  }
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

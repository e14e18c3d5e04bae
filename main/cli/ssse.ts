import { isSsseError } from '../engine/errors.js';
import { AUDIT_USAGE, commandAudit } from './commands/audit.js';
import { CACHE_USAGE, commandCache } from './commands/cache.js';
import { CERTIFY_USAGE, commandCertify } from './commands/certify.js';
import { commandDb, DB_USAGE } from './commands/db.js';
import { commandDemoStore, DEMO_USAGE } from './commands/demo.js';
import { ERASE_USAGE } from './commands/erase.js';
import { commandEraseAny, ERASURE_USAGE } from './commands/erasure.js';
import { commandModel, MODEL_USAGE } from './commands/model.js';
import { commandReport, commandVerifyReport, REPORT_USAGE } from './commands/report.js';
import { commandRequest, commandRequests, REQUESTS_USAGE } from './commands/requests.js';
import { STORE_USAGE } from './storeOptions.js';
import { CALIBRATE_USAGE, commandCalibrate } from './commands/calibrate.js';
import { NETWORK_USAGE } from './commands/eraseNetwork.js';
import type { CliIo } from './options.js';

/**
 * The `ssse` command line. Each command lives in commands/; this file only dispatches and turns
 * engine errors into messages and exit codes (1: bad input or failure, 2: usage, 130: cancelled).
 */
type Command = (args: string[], io: CliIo) => Promise<void | number>;

const COMMANDS: Record<string, Command> = {
  // --dataset: the stand-alone erasure (commands/erase.ts); --model/--resume: against the store.
  erase: commandEraseAny,
  demo: commandDemoStore,
  model: commandModel,
  certify: commandCertify,
  requests: commandRequests,
  request: commandRequest,
  report: commandReport,
  'verify-report': commandVerifyReport,
  audit: commandAudit,
  db: commandDb,
  calibrate: commandCalibrate,
  cache: commandCache,
};

const USAGE = `ssse: Single-Step Sample Erasure for trained models

Usage:
${ERASE_USAGE}
${NETWORK_USAGE}${CALIBRATE_USAGE}${CACHE_USAGE}
The audit store (a SQLite database with its artefacts; every action is logged):
${MODEL_USAGE}${CERTIFY_USAGE}${ERASURE_USAGE}${REQUESTS_USAGE}${REPORT_USAGE}${AUDIT_USAGE}${DB_USAGE}${DEMO_USAGE}
${STORE_USAGE}`;

/** Runs the command line; returns the exit code. */
export async function main(argv: string[], io: CliIo = { out: process.stdout, err: process.stderr }): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      io.out.write(USAGE);
      return command === undefined ? 2 : 0;
    }
    const run = COMMANDS[command];
    if (!run) {
      io.err.write(`ssse: unknown command "${command}"\n\n${USAGE}`);
      return 2;
    }
    return (await run(rest, io)) ?? 0;
  } catch (e) {
    if (isSsseError(e)) {
      io.err.write(`ssse: ${e.message}\n`);
      return e.code === 'CANCELLED' ? 130 : e.code === 'BAD_ARGUMENT' ? 2 : 1;
    }
    if (e instanceof Error && 'code' in e && typeof e.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
      io.err.write(`ssse: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}


import { isSsseError } from '../engine/errors.js';
import { commandDemo, commandErase, ERASE_USAGE } from './commands/erase.js';
import { NETWORK_USAGE } from './commands/eraseNetwork.js';
import type { CliIo } from './options.js';

/**
 * The `ssse` command line. Each command lives in commands/; this file only dispatches and turns
 * engine errors into messages and exit codes (1: bad input or failure, 2: usage, 130: cancelled).
 */
type Command = (args: string[], io: CliIo) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  erase: commandErase,
  demo: commandDemo,
};

const USAGE = `ssse: Single-Step Sample Erasure for trained models

Usage:
${ERASE_USAGE}
${NETWORK_USAGE}`;

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
    await run(rest, io);
    return 0;
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


// Runs the ssse command line from source in a child process (tests that need a real process:
// signals, exit codes). Usage: node --import tsx test/helpers/cliEntry.ts erase …
import { main } from '../../main/cli/ssse.js';

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

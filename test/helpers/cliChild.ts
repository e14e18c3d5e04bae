/** Runs `ssse ARGS…` as its own process (for the crash tests, which kill it with SIGKILL). */
import { main } from '../../main/cli/ssse.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(99);
  },
);

import { main } from '../main/cli/ssse.js';

/**
 * `ssse …` as the benchmark's child process: the command line's own main(), then the process's
 * peak resident memory on stderr (BENCH_MAXRSS_KB=…), which the parent cannot read once the
 * child has exited.
 */
main(process.argv.slice(2))
  .then((code) => {
    process.stderr.write(`BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  });

import * as fs from 'node:fs';

/**
 * Crash-test hook. When the environment variable SSSE_TEST_PAUSE_AT names `point`, the process
 * announces it on stderr ("ssse-test: paused at POINT") and blocks forever, so that a test can
 * kill it with SIGKILL at exactly that point instead of guessing with sleeps. Points:
 *   computing        an erasure is running (request 'computing', nothing written yet)
 *   write-staged     artefact files are written under their staging names, not yet published
 *   write-published  artefact files are under their final names, the database not yet updated
 * Unset (always, outside tests), it does nothing.
 */
export function pauseIfRequested(point: 'computing' | 'write-staged' | 'write-published'): void {
  if (process.env['SSSE_TEST_PAUSE_AT'] !== point) return;
  fs.writeSync(2, `ssse-test: paused at ${point} (pid ${process.pid})\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

import * as fs from 'node:fs';
import * as path from 'node:path';

export const ORIGIN = 'http://ssse.test';
export const RENDERER = path.join(__dirname, '..', '..', 'renderer', 'dist');
export const SCREENSHOTS = path.join(__dirname, '..', '..', 'test-artifacts', 'screenshots');

/**
 * The Chromium to test with: $CHROMIUM_PATH, else Debian's (apt-get install chromium; .ci/run
 * installs it), else the one the npm package @sparticuz/chromium ships (a devDependency, so
 * `npm ci && npm test` works offline on a machine without it; unpacked to the temp folder).
 */
export async function chromiumPath(): Promise<string> {
  const env = process.env['CHROMIUM_PATH'];
  if (env) {
    if (!fs.existsSync(env)) throw new Error(`CHROMIUM_PATH=${env}: no such file`);
    return env;
  }
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (fs.existsSync(p)) return p;
  try {
    type Chromium = { executablePath(): Promise<string> };
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sparticuz = require('@sparticuz/chromium') as Chromium & { default?: Chromium };
    return await (sparticuz.default ?? sparticuz).executablePath();
  } catch (e) {
    throw new Error(`no Chromium found: apt-get install -y chromium, set CHROMIUM_PATH, or npm install @sparticuz/chromium (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** Flags that work as root in a container: no sandbox, no GPU, nothing fetched from the network. */
export const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

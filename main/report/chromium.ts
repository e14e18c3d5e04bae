/**
 * Printing from the command line: headless Chromium through playwright-core. Nothing is
 * downloaded; the browser is found in this order:
 *
 *   1. $CHROME_PATH (then $CHROMIUM_PATH): a Chrome or Chromium executable; an error if it is not there
 *   2. the system's: Debian/Ubuntu's chromium (/usr/bin/chromium, /usr/bin/chromium-browser),
 *      Google Chrome (/usr/bin/google-chrome-stable, /usr/bin/google-chrome), the snap
 *      (/snap/bin/chromium); on macOS the Chrome and Chromium apps; on Windows Chrome under
 *      Program Files or the user's local app data
 *   3. the npm package @sparticuz/chromium, where it is installed (npm install @sparticuz/chromium)
 *
 * None found: an error saying how to get one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SsseError } from '../engine/errors.js';
import { footerTemplate, HEADER_TEMPLATE, PAGE, READY_ATTRIBUTE, READY_TIMEOUT_MS, type PdfPrinter } from './print.js';

export interface BrowserFound {
  executable: string;
  /** Where it was found: "CHROME_PATH", "system", "@sparticuz/chromium". */
  source: string;
}

export function systemBrowserPaths(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string[] {
  if (platform === 'darwin') {
    return ['/Applications/Google Chrome.app/Contents/MacOS/Google Chrome', '/Applications/Chromium.app/Contents/MacOS/Chromium'];
  }
  if (platform === 'win32') {
    const roots = [env['PROGRAMFILES'], env['PROGRAMFILES(X86)'], env['LOCALAPPDATA']].filter((r): r is string => !!r);
    return roots.map((r) => path.join(r, 'Google', 'Chrome', 'Application', 'chrome.exe'));
  }
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome-stable', '/usr/bin/google-chrome', '/snap/bin/chromium'];
}

export const HOW_TO_GET_A_BROWSER =
  'Install one (Debian/Ubuntu: sudo apt-get install chromium; elsewhere Google Chrome or Chromium), ' +
  'or npm install @sparticuz/chromium in this folder, or set CHROME_PATH to a Chrome or Chromium executable';

export interface FindOptions {
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  exists?: (file: string) => boolean;
  /** The executable of @sparticuz/chromium, or null where it is not installed. */
  sparticuz?: () => Promise<string | null>;
}

/** @sparticuz/chromium's browser (it unpacks itself on first use), or null when the package is absent. */
async function sparticuzChromium(): Promise<string | null> {
  const name = '@sparticuz/chromium';
  try {
    require.resolve(name);
  } catch {
    return null;
  }
  const mod = (await import(name)) as { default?: { executablePath?: () => Promise<string> } };
  const executablePath = mod.default?.executablePath;
  return executablePath ? executablePath() : null;
}

export async function findBrowser(options: FindOptions = {}): Promise<BrowserFound> {
  const env = options.env ?? process.env;
  const exists = options.exists ?? ((f: string) => fs.existsSync(f) && fs.statSync(f).isFile());
  for (const variable of ['CHROME_PATH', 'CHROMIUM_PATH']) {
    const given = env[variable];
    if (given && given.trim()) {
      if (!exists(given)) throw new SsseError('RESOURCE', `${variable}=${given}: no such file. ${HOW_TO_GET_A_BROWSER}`);
      return { executable: given, source: variable };
    }
  }
  const tried = systemBrowserPaths(options.platform, env);
  const system = tried.find((p) => exists(p));
  if (system) return { executable: system, source: 'system' };
  const packaged = await (options.sparticuz ?? sparticuzChromium)();
  if (packaged) return { executable: packaged, source: '@sparticuz/chromium' };
  throw new SsseError('RESOURCE', `no Chrome or Chromium to print the PDF with (tried CHROME_PATH, CHROMIUM_PATH, ${tried.join(', ')}, @sparticuz/chromium). ${HOW_TO_GET_A_BROWSER}`);
}

/** Flags for a headless print as any user, root in a container included; nothing goes to the network. */
const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A printer that launches the browser for each report and closes it after. */
export function chromiumPrinter(browser: BrowserFound): PdfPrinter {
  return async (html, { requestId }) => {
    const { chromium } = await import('playwright-core');
    const instance = await chromium.launch({ executablePath: browser.executable, args: LAUNCH_ARGS, headless: true });
    try {
      const context = await instance.newContext({ viewport: { width: PAGE.widthPx, height: PAGE.heightPx }, colorScheme: 'light', javaScriptEnabled: true });
      // The page is self-contained: any request it makes is refused.
      await context.route('**/*', (route) => route.abort());
      const page = await context.newPage();
      // A script error on the page fails the print at once rather than after the time-out.
      const failed = new Promise<never>((_, reject) => page.once('pageerror', (e) => reject(new SsseError('RESOURCE', `the report page failed to draw: ${e.message}`))));
      failed.catch(() => undefined);
      await page.emulateMedia({ media: 'print', colorScheme: 'light' });
      await page.setContent(html, { waitUntil: 'load' });
      const ready = page.waitForSelector(`body[${READY_ATTRIBUTE}]`, { state: 'attached', timeout: READY_TIMEOUT_MS }).catch(() => {
        throw new SsseError('RESOURCE', `the report page did not finish drawing in ${READY_TIMEOUT_MS / 1000} s`);
      });
      await Promise.race([ready, failed]);
      const state = await page.getAttribute('body', READY_ATTRIBUTE);
      if (state !== 'true') throw new SsseError('RESOURCE', `the report page failed to draw: ${state ?? 'unknown error'}`);
      const m = PAGE.marginMm;
      const pdf = await page.pdf({
        format: 'A4',
        printBackground: true,
        displayHeaderFooter: true,
        headerTemplate: HEADER_TEMPLATE,
        footerTemplate: footerTemplate(requestId),
        margin: { top: `${m.top}mm`, bottom: `${m.bottom}mm`, left: `${m.left}mm`, right: `${m.right}mm` },
        tagged: true,
        outline: true,
      });
      return new Uint8Array(pdf);
    } finally {
      await instance.close();
    }
  };
}

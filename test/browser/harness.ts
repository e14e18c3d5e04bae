/**
 * Runs the built renderer in headless Chromium with the contract's methods bound to the real
 * main-side handlers (real engine processes, real SQLite on a temporary database): only
 * Electron's transport is replaced, by Playwright's exposeBinding for calls and page.evaluate
 * for events. Every call still goes through the dispatcher, which checks the calling frame's
 * URL against the app's origin (here http://ssse.test) and validates the argument.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { API_KEY, METHODS, SUBSCRIPTIONS, type EventChannel, type EventMap, type InvokeChannel } from '../../preload/contract.js';
import { mimeType, resolveAppFile } from '../../main/app/staticFiles.js';
import type { ReportExportDeps } from '../../main/app/reportExporter.js';
import { createWorkstation, type Workstation } from '../../main/app/workstation.js';
import { forkEngine } from '../../main/app/forkEngine.js';
import { createDispatcher } from '../../main/ipc/dispatch.js';

import { chromiumPath, LAUNCH_ARGS, ORIGIN, RENDERER, SCREENSHOTS } from './browser.js';

export { ORIGIN, SCREENSHOTS };

export interface App {
  browser: Browser;
  context: BrowserContext;
  page: Page;
  workstation: Workstation;
  dir: string;
  dbPath: string;
  /** Console errors and page errors seen so far (a test fails on any). */
  problems: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** The page-side half of the transport: the same named methods and subscriptions as the preload. */
function initScript(): string {
  return `(() => {
    const methods = ${JSON.stringify(METHODS)};
    const subscriptions = ${JSON.stringify(SUBSCRIPTIONS)};
    const listeners = new Map();
    const api = {};
    for (const [name, channel] of Object.entries(methods)) api[name] = (args) => window.__ssseInvoke(channel, args ?? null);
    for (const [name, channel] of Object.entries(subscriptions)) api[name] = (listener) => {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel).add(listener);
      return () => listeners.get(channel).delete(listener);
    };
    window.__ssseEmit = (channel, payload) => { for (const l of listeners.get(channel) ?? []) l(payload); };
    Object.defineProperty(window, ${JSON.stringify(API_KEY)}, { value: Object.freeze(api), writable: false });
  })();`;
}

export interface LaunchOptions {
  theme?: 'light' | 'dark';
  width?: number;
  height?: number;
  /** An existing database to open (default: a new one in the app's temporary folder). */
  dbPath?: string;
  /** Signed PDF exports (reports:export); absent, the channel answers RESOURCE as in a build without a printer. */
  reports?: ReportExportDeps;
}

export async function launchApp(options: LaunchOptions = {}): Promise<App> {
  if (!fs.existsSync(path.join(RENDERER, 'index.html'))) throw new Error(`${RENDERER}/index.html is missing: run npm run build:app first`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-browser-'));
  const dbPath = options.dbPath ?? path.join(dir, 'ssse.db');
  const problems: string[] = [];
  let page: Page | null = null;
  const pending: Promise<unknown>[] = [];
  const workstation = createWorkstation({
    dbPath,
    cacheDir: path.join(dir, 'cache'),
    appVersion: 'test',
    spawn: forkEngine,
    emit: <C extends EventChannel>(channel: C, payload: EventMap[C]) => {
      if (!page || page.isClosed()) return;
      pending.push(page.evaluate(([c, p]) => (globalThis as unknown as { __ssseEmit: (c: string, p: unknown) => void }).__ssseEmit(c, p), [channel, payload] as const).catch(() => undefined));
    },
    ...(options.reports ? { reports: options.reports } : {}),
  });
  const dispatch = createDispatcher(workstation.handlers, { origin: ORIGIN, isOurWindow: (id) => id === 1 });

  const browser = await chromium.launch({
    executablePath: await chromiumPath(),
    args: LAUNCH_ARGS,
  });
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1360, height: options.height ?? 900 },
    colorScheme: options.theme ?? 'light',
    deviceScaleFactor: 1,
    serviceWorkers: 'block',
  });
  // Nothing leaves the machine: the app's origin is served from renderer/dist, anything else fails.
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    const file = url.startsWith(`${ORIGIN}/`) ? resolveAppFile(RENDERER, url, 'ssse.test') : null;
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      if (!url.startsWith(`${ORIGIN}/`)) problems.push(`request outside the app: ${url}`);
      await route.fulfill({ status: 404, body: 'not found' });
      return;
    }
    await route.fulfill({ status: 200, body: fs.readFileSync(file), headers: { 'content-type': mimeType(file) } });
  });
  await context.exposeBinding('__ssseInvoke', (source, channel: unknown, args: unknown) =>
    dispatch(channel as InvokeChannel, { webContentsId: 1, frameUrl: source.frame.url() }, args),
  );
  await context.addInitScript({ content: initScript() });
  await context.addInitScript({ content: `localStorage.setItem('ssse-theme', ${JSON.stringify(options.theme ?? 'light')});` });
  page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.goto(`${ORIGIN}/index.html#/requests`);

  const thePage = page;
  return {
    browser,
    context,
    page: thePage,
    workstation,
    dir,
    dbPath,
    problems,
    async screenshot(name) {
      fs.mkdirSync(SCREENSHOTS, { recursive: true });
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await thePage.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await Promise.allSettled(pending);
      workstation.close();
      await browser.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

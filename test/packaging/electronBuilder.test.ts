import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';

// electron-builder.yml, read and validated by electron-builder's own loader and schema (no
// packaging, which would download Electron): the targets, the native module unpacked and
// rebuilt, and the fuses.

interface BuilderConfig {
  /** As the loader normalises it: one entry with a filter list. */
  files: { filter: string[] }[];
  asarUnpack: string[];
  npmRebuild: boolean;
  electronFuses: Record<string, boolean>;
  linux: { target: string[] };
  win: { target: string[] };
  mac: { target: string[] };
}

test('electron-builder.yml is valid and packages Linux, Windows and macOS with fuses set and better-sqlite3 unpacked', async () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
    getConfig(dir: string, file: string, extra: null): Promise<BuilderConfig>;
    validateConfiguration(config: BuilderConfig, logger: unknown): Promise<void>;
  };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DebugLogger } = require('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
  const root = path.join(__dirname, '..', '..');
  const config = await getConfig(root, path.join(root, 'electron-builder.yml'), null);
  await validateConfiguration(config, new DebugLogger(false));
  assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
  assert.ok(config.win.target.length > 0 && config.mac.target.length > 0);
  assert.equal(config.npmRebuild, true);
  assert.ok(config.asarUnpack.some((p) => p.includes('better-sqlite3')));
  assert.deepEqual(config.electronFuses, {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    loadBrowserProcessSpecificV8Snapshot: false,
    grantFileProtocolExtraPrivileges: false,
  });
  for (const needed of ['dist/main/**/*.js', 'dist/preload/**/*.js', 'renderer/dist/**', 'data/fashion-mnist-3k/**']) assert.ok(config.files.some((f) => f.filter.includes(needed)), needed);
});

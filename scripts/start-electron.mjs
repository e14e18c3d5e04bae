// `npm start`: opens the app with Electron, in development.
//
// better-sqlite3 in node_modules is built for Node (the command line and the tests use it); the
// app's main and utility processes run Electron's Node, whose ABI differs. So a copy of the addon
// is built once per Electron version under .electron-native/ (a prebuilt binary when one can be
// downloaded, else compiled from source against Electron's headers) and the app is pointed at it
// with SSSE_SQLITE_BINDING, leaving node_modules as it was. Packaged apps need none of this:
// electron-builder rebuilds the addon for Electron (electron-builder.yml).
//
// require('electron') downloads Electron's binary the first time (this needs internet).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const electronVersion = require('electron/package.json').version;
const bin = (name) => path.join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const target = path.join(root, '.electron-native', `electron-${electronVersion}-${process.platform}-${process.arch}`, 'better_sqlite3.node');

function run(command, args, cwd) {
  const r = spawnSync(command, args, { cwd, stdio: 'inherit', shell: process.platform === 'win32' });
  return r.status === 0;
}

if (!fs.existsSync(target)) {
  console.log(`ssse: building better-sqlite3 for Electron ${electronVersion} (once)…`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssse-electron-native-'));
  const copy = path.join(work, 'better-sqlite3');
  fs.cpSync(path.join(root, 'node_modules', 'better-sqlite3'), copy, { recursive: true, filter: (src) => !src.includes(`${path.sep}build${path.sep}`) && !src.endsWith(`${path.sep}build`) });
  const common = [`--target=${electronVersion}`, `--arch=${process.arch}`];
  const ok =
    run(bin('prebuild-install'), ['--runtime=electron', ...common, '--verbose'], copy) ||
    run(bin('node-gyp'), ['rebuild', '--release', '--runtime=electron', ...common, '--dist-url=https://electronjs.org/headers'], copy);
  const built = path.join(copy, 'build', 'Release', 'better_sqlite3.node');
  if (!ok || !fs.existsSync(built)) {
    console.error('ssse: could not build better-sqlite3 for Electron (needs internet for the prebuilt binary or Electron\'s headers)');
    process.exit(1);
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(built, target);
  fs.rmSync(work, { recursive: true, force: true });
}

const electron = require('electron');
const child = spawn(electron, ['.', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit', env: { ...process.env, SSSE_SQLITE_BINDING: target } });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));

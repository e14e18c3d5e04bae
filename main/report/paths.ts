import * as fs from 'node:fs';
import * as path from 'node:path';
import { SsseError } from '../engine/errors.js';

const PACKAGE_NAME = 'ssse-workstation';

/**
 * The project's root: the folder of our package.json, found upwards from this file, so that
 * the same code works from main/ (tsx), dist/main/ (compiled) and the packaged app's archive.
 */
export function packageRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      try {
        const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown };
        if (pkg.name === PACKAGE_NAME) return dir;
      } catch {
        // not ours: keep looking
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new SsseError('RESOURCE', `cannot find the ${PACKAGE_NAME} package folder above ${from}`);
    dir = parent;
  }
}

export function packageVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The built print page of the report (renderer/vite.report.config.mts). */
export function reportTemplateDir(): string {
  return path.join(packageRoot(), 'renderer', 'dist-report');
}

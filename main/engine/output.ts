import * as fs from 'node:fs';
import * as path from 'node:path';
import { SsseError } from './errors.js';

export interface OutputFile {
  name: string;
  data: Buffer | string;
}

function isNonEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/**
 * Fails early, before any work, when `--out` cannot be written as asked: it is a file, or a
 * folder with content and no permission to replace it.
 */
export function checkOutputDir(outDir: string, overwrite: boolean): void {
  if (fs.existsSync(outDir)) {
    if (!fs.statSync(outDir).isDirectory()) throw new SsseError('BAD_ARGUMENT', `--out ${outDir}: exists and is not a folder`);
    if (!overwrite && isNonEmptyDir(outDir)) {
      throw new SsseError('BAD_ARGUMENT', `--out ${outDir}: exists and is not empty; choose another folder or pass --overwrite`);
    }
  }
}

/**
 * Writes all files or none: they are staged in a sibling folder, flushed, and the folder is
 * renamed into place (replacing an earlier output only when `overwrite`). A failure, or a
 * process killed part-way, leaves `outDir` as it was; a stale `*.partial-*` sibling is all a
 * SIGKILL can leave behind, and it is never mistaken for output.
 */
export function commitOutputDir(outDir: string, files: OutputFile[], overwrite: boolean): void {
  checkOutputDir(outDir, overwrite);
  const target = path.resolve(outDir);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const stage = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.partial-`));
  try {
    for (const f of files) {
      const fd = fs.openSync(path.join(stage, f.name), 'w');
      try {
        fs.writeSync(fd, typeof f.data === 'string' ? Buffer.from(f.data, 'utf8') : f.data);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    if (fs.existsSync(target)) {
      const old = `${stage}.old`;
      fs.renameSync(target, old);
      try {
        fs.renameSync(stage, target);
      } catch (e) {
        fs.renameSync(old, target);
        throw e;
      }
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(stage, target);
    }
  } catch (e) {
    fs.rmSync(stage, { recursive: true, force: true });
    throw e;
  }
}

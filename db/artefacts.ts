/**
 * Artefact files: model parameters and Fisher inverses, kept in a folder next to the database
 * (`<db>.artefacts/`) and named in the artefacts table by a path relative to it.
 *
 * Writing is two-phase so that no file is ever half-written under its final name:
 *   stage:   write `<root>/.staging/<token>.<name>`, fsync it;
 *   publish: hard-link it to its final name (link fails rather than replace an existing file),
 *            remove the staged name, fsync both folders.
 * The database transaction that records the files comes after publishing. A process killed in
 * between leaves files that no artefact row names; the operation's lease lists them (planned
 * paths), so recovery can remove exactly those (main/store/operations.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SsseError } from '../main/engine/errors.js';
import type { ArtefactKind } from './queries.js';

export const STAGING = '.staging';

export function artefactRoot(dbPath: string): string {
  return `${path.resolve(dbPath)}.artefacts`;
}

/** A fresh, unique relative path for a new artefact: `<kind>/<16 hex>.npy`. */
export function newArtefactPath(kind: ArtefactKind): string {
  return `${kind}/${randomBytes(8).toString('hex')}.npy`;
}

export function stagingPath(relPath: string): string {
  return `${STAGING}/${relPath.replace(/\//g, '.')}`;
}

export function absolute(root: string, relPath: string): string {
  return path.join(root, ...relPath.split('/'));
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function sha256Buffer(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Writes `data` under its staging name and flushes it to disk. */
export function stageFile(root: string, relPath: string, data: Buffer): void {
  const file = absolute(root, stagingPath(relPath));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const fd = fs.openSync(file, 'wx');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Moves a staged file to its final name, never replacing an existing file. */
export function publishStaged(root: string, relPath: string): void {
  const staged = absolute(root, stagingPath(relPath));
  const final = absolute(root, relPath);
  fs.mkdirSync(path.dirname(final), { recursive: true });
  try {
    fs.linkSync(staged, final);
    fs.unlinkSync(staged);
  } catch (e) {
    // Filesystems without hard links (FAT, some network shares): rename instead. The final name
    // holds 64 random bits, so only a file this operation itself put there could be replaced.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    if (fs.existsSync(final)) throw new SsseError('RESOURCE', `${final}: already exists; refusing to replace an artefact`);
    fs.renameSync(staged, final);
  }
  fsyncDir(path.dirname(final));
  fsyncDir(path.dirname(staged));
}

/** Removes a file if it is there; true when something was removed. */
export function removeFile(root: string, relPath: string): boolean {
  try {
    fs.unlinkSync(absolute(root, relPath));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export interface FileHash {
  sha256: string;
  bytes: number;
}

/** SHA-256 and size of a file, or null when it does not exist. */
export function hashFile(file: string): FileHash | null {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  return { sha256: sha256Buffer(data), bytes: data.length };
}

/**
 * Reads an artefact and checks it against its recorded SHA-256 and size: nothing is computed
 * from a file that differs from what the database recorded.
 */
export function readArtefact(root: string, row: { path: string; sha256: string; bytes: number }, what: string): Buffer {
  const file = absolute(root, row.path);
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SsseError('BAD_INPUT', `${file}: ${what}: ${code === 'ENOENT' ? 'file is missing' : `cannot be read (${code ?? String(e)})`}`);
  }
  const sha = sha256Buffer(data);
  if (data.length !== row.bytes || sha !== row.sha256) {
    throw new SsseError(
      'BAD_INPUT',
      `${file}: ${what}: the file does not match the database (SHA-256 ${sha}, ${data.length} bytes; recorded ${row.sha256}, ${row.bytes} bytes); ` +
        'it was altered or replaced, so nothing is computed from it (run ssse audit verify)',
    );
  }
  return data;
}

/** Every file under the artefact folder, as relative '/'-separated paths, sorted. */
export function listArtefactFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), childRel);
      else out.push(childRel);
    }
  };
  walk(root, '');
  return out.sort();
}

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { listCache, type CacheFile } from '../../engine/cache.js';
import { formatBytes } from '../../engine/nn/blockFisher.js';
import { parseNumber, usageError, type CliIo } from '../options.js';
import { defaultCacheDir } from './erase.js';

export const CACHE_USAGE = `  ssse cache [list] [--cache-dir DIR] [--json]
                            what the cache of stand-alone erasures holds (θ*, F̂⁻¹): kind, size,
                            when written; a network's F̂⁻¹ is most of a GB
  ssse cache clear [--kind K] [--older-than DAYS] [--dry-run] [--cache-dir DIR]
                            removes entries (all, those of kind K, or those written more than DAYS
                            days ago) and what killed writers left; an entry is rebuilt when next
                            needed, except that a linear \`ssse erase --epsilon-from\` reading S
                            alone needs \`ssse calibrate\` again. The audit store keeps its own
                            artefacts and is not touched
`;

/** What each kind of entry holds (cache.ts's callers). */
const KINDS: Record<string, string> = {
  'theta-star': 'θ* of a linear model',
  fisher: 'F̂⁻¹ of a linear model',
  'nn-theta-star': 'θ* of a network',
  'nn-fisher-columns': "a network's Fisher columns G_b",
  'nn-fisher-factors': "a network's F̂⁻¹ block factors",
};

const OPTIONS = {
  'cache-dir': { type: 'string' },
  json: { type: 'boolean' },
  kind: { type: 'string' },
  'older-than': { type: 'string' },
  'dry-run': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function holds(kind: string): string | null {
  return Object.prototype.hasOwnProperty.call(KINDS, kind) ? (KINDS[kind] as string) : null;
}

function describe(f: CacheFile): string {
  const what = holds(f.kind) ?? 'not written by this version of ssse';
  const status = f.status === 'entry' ? '' : f.status === 'writing' ? ' (being written now)' : ' (left by a killed writer)';
  return `${formatBytes(f.bytes).padStart(10)}  ${f.modified.toISOString().slice(0, 19).replace('T', ' ')}  ${f.kind.padEnd(17)}  ${what}${status}`;
}

function total(files: CacheFile[]): number {
  return files.reduce((s, f) => s + f.bytes, 0);
}

export function commandCache(args: string[], io: CliIo): Promise<void> {
  return Promise.resolve(cacheCommand(args, io));
}

function cacheCommand(args: string[], io: CliIo): void {
  const [first, ...others] = args;
  const verb = first === undefined || first.startsWith('-') ? 'list' : first;
  const rest = first === undefined || first.startsWith('-') ? args : others;
  const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help || verb === 'help') {
    io.out.write(CACHE_USAGE);
    return;
  }
  const dir = path.resolve(values['cache-dir'] ?? defaultCacheDir());
  if (verb === 'list') {
    for (const flag of ['kind', 'older-than', 'dry-run'] as const) {
      if (values[flag] !== undefined) throw usageError(`cache list: --${flag} is an option of "ssse cache clear"`);
    }
    const files = listCache(dir);
    if (values.json) {
      io.out.write(`${JSON.stringify({ dir, bytes: total(files), files: files.map((f) => ({ ...f, modified: f.modified.toISOString(), holds: holds(f.kind) })) }, null, 2)}\n`);
      return;
    }
    if (files.length === 0) {
      io.out.write(`${dir}: empty\n`);
      return;
    }
    io.out.write(`${dir}: ${files.length} file${files.length === 1 ? '' : 's'}, ${formatBytes(total(files))}\n`);
    for (const f of files) io.out.write(`${describe(f)}\n`);
    return;
  }
  if (verb !== 'clear') throw usageError(`cache: unknown subcommand "${verb}" (list or clear)`);
  if (values.json) throw usageError('cache clear: --json is an option of "ssse cache list"');
  const days = values['older-than'] === undefined ? null : parseNumber('older-than', values['older-than'], 0, (v) => v >= 0, 'a number of days ≥ 0');
  const kind = values.kind ?? null;
  const files = listCache(dir);
  if (kind !== null && !files.some((f) => f.kind === kind) && holds(kind) === null) {
    throw usageError(`cache clear: --kind ${kind}: no such kind (known: ${Object.keys(KINDS).join(', ')})`);
  }
  const before = days === null ? null : Date.now() - days * 86_400_000;
  // A live writer's file is never touched; a killed writer's is always garbage.
  const chosen = files.filter(
    (f) => f.status !== 'writing' && (f.status === 'orphan' || ((kind === null || f.kind === kind) && (before === null || f.modified.getTime() < before))),
  );
  const dry = values['dry-run'] === true;
  let removed = 0;
  for (const f of chosen) {
    io.out.write(`${dry ? 'would remove' : 'removing'}  ${describe(f)}\n`);
    if (!dry) {
      fs.rmSync(path.join(dir, f.name), { force: true });
      removed += f.bytes;
    }
  }
  const kept = files.length - chosen.length;
  io.out.write(
    dry
      ? `${dir}: would remove ${chosen.length} file${chosen.length === 1 ? '' : 's'} (${formatBytes(total(chosen))}), keep ${kept}\n`
      : `${dir}: removed ${chosen.length} file${chosen.length === 1 ? '' : 's'} (${formatBytes(removed)}), kept ${kept}\n`,
  );
}

import { migration0001 } from './0001-audit-log.js';
import { migration0002 } from './0002-registry.js';
import { migration0003 } from './0003-requests.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';
export { GENESIS_HASH } from './0001-audit-log.js';

/** Every migration, in order. The schema version of a database is the last one applied. */
export const MIGRATIONS: readonly Migration[] = [migration0001, migration0002, migration0003];

export const LATEST_VERSION = MIGRATIONS.length === 0 ? 0 : (MIGRATIONS[MIGRATIONS.length - 1] as Migration).version;

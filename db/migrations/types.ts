import type Database from 'better-sqlite3';

/**
 * One numbered schema change. `up` runs inside a transaction that also sets PRAGMA user_version
 * to `version` (see migrate.ts), so a migration is applied completely or not at all.
 * A migration, once released, is never edited: later changes are new migrations.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

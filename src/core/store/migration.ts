// A schema migration: one numbered file per migration under migrations/, applied in order inside one transaction.
import type Database from 'better-sqlite3';

export interface Migration {
  /** 1, 2, 3…: PRAGMA user_version after it has run. */
  readonly version: number;
  readonly name: string;
  /** Runs inside the migration transaction; must not change PRAGMAs that transactions ignore (foreign_keys). */
  up(db: Database.Database): void;
}

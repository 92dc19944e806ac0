// Opens studio.db, the local store in the SAE Studio home folder (SQLite through better-sqlite3, WAL journal).
//
// One writer, many readers. The writer is the process that opens with `{ readonly: false }` (the default): the
// Electron main process, or the CLI / engine job when no app runs. It migrates the schema on open and every write
// goes through it. Readers (a second CLI, a `serve` process, tests) open with `{ readonly: true }`: a read-only
// connection that never blocks the writer and is never blocked by it, and sees the last committed state (WAL
// snapshot isolation). Several writers are not corrupted by SQLite, only serialized: each write waits up to
// BUSY_TIMEOUT_MS for the others, then fails with SQLITE_BUSY.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../errors';
import { studioHome } from '../home';
import { checkSchema, latestVersion, migrate } from './migrate';
import type { Migration } from './migration';
import { MIGRATIONS } from './migrations';
import { sweepAbandonedAnalyses } from './staged-analyses';

export const DATABASE_FILE = 'studio.db';
/** Large arrays go to safetensors files in this folder beside studio.db. */
export const ARRAYS_DIR = 'arrays';
export const BUSY_TIMEOUT_MS = 5000;

/**
 * Whether `err` is SQLite's "database is locked": another connection held the write lock for longer than this
 * connection's busy timeout. Nothing was written; the same write may be tried again.
 */
export function isStoreBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export interface Store {
  readonly db: Database.Database;
  /** The folder holding studio.db and arrays/ (the SAE Studio home by default). */
  readonly dir: string;
  /** Path of studio.db. */
  readonly file: string;
  readonly readonly: boolean;
  close(): void;
}

export interface OpenStoreOptions {
  /** The folder holding studio.db (default: SAE_STUDIO_HOME, see core/home.ts). */
  dir?: string;
  /** A reader's read-only connection (default false: the writer, which creates and migrates the file). */
  readonly?: boolean;
  /** The migrations to apply (default: all of them); tests pass a prefix to build an older file. */
  migrations?: readonly Migration[];
  /**
   * How long a write waits for another process's write lock before it fails with SQLITE_BUSY (default
   * BUSY_TIMEOUT_MS). The wait blocks the thread: a server keeps it short and retries without blocking.
   */
  busyTimeoutMs?: number;
}

/** SQLite's codes for "this file is not a (sound) database". */
const NOT_A_DATABASE = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

function describeOpenError(e: unknown, file: string): Error {
  if (e instanceof InputError) return e;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && NOT_A_DATABASE.has(code)) {
    return new InputError(
      `${file}: not an SQLite database, or a corrupt one (${(e as Error).message}); move it aside to start a new store`,
    );
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_CANTOPEN')) {
    return new InputError(`${file}: cannot be opened (${(e as Error).message})`);
  }
  return e as Error;
}

export function openStore(options: OpenStoreOptions = {}): Store {
  const dir = resolve(options.dir ?? studioHome().root);
  const file = join(dir, DATABASE_FILE);
  const readonly = options.readonly ?? false;
  const migrations = options.migrations ?? MIGRATIONS;
  if (existsSync(file) && !statSync(file).isFile()) throw new InputError(`${file}: not a file`);
  if (readonly && !existsSync(file)) {
    throw new InputError(`${file}: no SAE Studio store yet (the app or the CLI creates it on its first write)`);
  }
  if (!readonly) mkdirSync(dir, { recursive: true });

  let db: Database.Database | undefined;
  try {
    const busyTimeout = options.busyTimeoutMs ?? BUSY_TIMEOUT_MS;
    db = new Database(file, { readonly, fileMustExist: readonly, timeout: busyTimeout });
    db.pragma(`busy_timeout = ${busyTimeout}`);
    if (readonly) {
      const version = checkSchema(db, migrations, file);
      if (version < latestVersion(migrations)) {
        throw new InputError(
          `${file}: schema version ${version} is older than this SAE Studio's (${latestVersion(migrations)}); open it once with a writer (the app or the CLI) to migrate it`,
        );
      }
    } else {
      // A file that is not ours (or from a newer SAE Studio) is refused before anything is written to it: switching
      // to WAL rewrites the file's header. migrate() checks again inside its transaction.
      checkSchema(db, migrations, file);
      db.pragma('journal_mode = WAL'); // persistent: readers of this file read WAL too
      // NORMAL in WAL mode: a killed process never corrupts nor half-commits; a power cut may lose the last commits.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON'); // must be set outside a transaction, so before migrating
      migrate(db, migrations, file);
      // What a killed save or removal left under a reserved name (never visible) goes now.
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'analyses'").get())
        sweepAbandonedAnalyses(db, dir);
    }
  } catch (e) {
    db?.close();
    throw describeOpenError(e, file);
  }
  const opened = db;
  return { db: opened, dir, file, readonly, close: () => opened.close() };
}

/** Throws unless `store` is the writer: repositories call it before any write. */
export function assertWriter(store: Store, what: string): void {
  if (store.readonly) throw new InputError(`${store.file}: opened read-only; ${what} needs the writer's connection`);
}

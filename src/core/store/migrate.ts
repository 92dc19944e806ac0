// Schema versioning: PRAGMA user_version holds the number of the last migration applied and PRAGMA application_id
// marks the file as SAE Studio's. Opening an older file migrates it in one transaction (all pending migrations or
// none); a newer or foreign file is refused with an InputError naming it.
import type Database from 'better-sqlite3';
import { InputError } from '../errors';
import type { Migration } from './migration';

/** 'SAES' in ASCII: PRAGMA application_id of every studio.db. */
export const APPLICATION_ID = 0x53414553;

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.at(-1)?.version ?? 0;
}

/** Programming errors in the migration list itself: versions must run 1, 2, 3… with no gap. */
function checkMigrationList(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration '${m.name}' has version ${m.version}, expected ${i + 1}`);
  });
}

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

function userTableCount(db: Database.Database): number {
  return db
    .prepare(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
    .pluck()
    .get() as number;
}

/** Refuses files of other applications and files from a newer SAE Studio; returns the file's schema version. */
export function checkSchema(db: Database.Database, migrations: readonly Migration[], file: string): number {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = schemaVersion(db);
  if (appId !== 0 && appId !== APPLICATION_ID) {
    throw new InputError(
      `${file}: an SQLite database of another application (application_id 0x${(appId >>> 0).toString(16)}), not an SAE Studio store`,
    );
  }
  const latest = latestVersion(migrations);
  if (version > latest) {
    throw new InputError(
      `${file}: schema version ${version} is newer than this SAE Studio supports (${latest}); update SAE Studio to open it`,
    );
  }
  if (version === 0 && userTableCount(db) > 0) {
    throw new InputError(
      `${file}: an SQLite database with tables of its own but no SAE Studio schema version; not an SAE Studio store`,
    );
  }
  return version;
}

/**
 * Brings the schema up to the latest migration, all pending migrations in one IMMEDIATE transaction (a second
 * writer opening at the same moment waits, then finds nothing left to do). Returns the versions before and after.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[],
  file: string,
): { from: number; to: number } {
  checkMigrationList(migrations);
  const run = db.transaction(() => {
    const from = checkSchema(db, migrations, file);
    for (const m of migrations) {
      if (m.version <= from) continue;
      try {
        m.up(db);
      } catch (e) {
        throw new Error(
          `${file}: migration ${String(m.version).padStart(4, '0')}-${m.name} failed: ${(e as Error).message}`,
          { cause: e },
        );
      }
      db.pragma(`user_version = ${m.version}`);
    }
    if (from < latestVersion(migrations)) {
      db.pragma(`application_id = ${APPLICATION_ID}`);
      const broken = db.pragma('foreign_key_check') as unknown[];
      if (broken.length > 0) throw new Error(`${file}: migrations left ${broken.length} rows breaking foreign keys`);
    }
    return { from, to: latestVersion(migrations) };
  });
  return run.immediate();
}

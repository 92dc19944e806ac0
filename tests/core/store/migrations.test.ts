// Opening studio.db: a fresh file, an older schema migrated in place, a newer or foreign or corrupt file refused.
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/core/errors';
import {
  addBookmark,
  APPLICATION_ID,
  appendRunMetrics,
  createRun,
  getDictionary,
  getRunMetrics,
  listBookmarks,
  MIGRATIONS,
  openStore,
  schemaVersion,
  upsertDictionary,
  type Migration,
} from '../../../src/core/store';
import { TABLE_COLUMNS } from '../../../src/core/store/rows';
import { useTempDirs } from './helpers';

const tempDir = useTempDirs();
const LATEST = MIGRATIONS.length;

function expectInputError(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InputError);
  expect((caught as Error).message).toMatch(pattern);
  expect((caught as Error).message).not.toContain('\n');
}

describe('openStore on a fresh or up-to-date store', () => {
  it('creates a fresh store in WAL mode with foreign keys, a busy timeout and the latest schema', () => {
    const dir = tempDir();
    const store = openStore({ dir });
    try {
      expect(store.file).toBe(join(dir, 'studio.db'));
      expect(schemaVersion(store.db)).toBe(LATEST);
      expect(store.db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
      expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(store.db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    } finally {
      store.close();
    }
  });

  it('creates exactly the columns the row types list, for every table', () => {
    const store = openStore({ dir: tempDir() });
    try {
      const tables = store.db
        .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
        .pluck()
        .all();
      expect(tables).toEqual(Object.keys(TABLE_COLUMNS).sort());
      for (const [table, columns] of Object.entries(TABLE_COLUMNS)) {
        const actual = (store.db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
        expect([...actual].sort(), table).toEqual([...columns].sort());
      }
    } finally {
      store.close();
    }
  });

  it('reopens an up-to-date store without migrating again', () => {
    const dir = tempDir();
    openStore({ dir }).close();
    const store = openStore({ dir });
    expect(schemaVersion(store.db)).toBe(LATEST);
    store.close();
  });
});

describe('openStore migrating an older schema', () => {
  it('migrates a version-1 file with rows to the latest version, keeping the rows', () => {
    const dir = tempDir();
    const old = openStore({ dir, migrations: MIGRATIONS.slice(0, 1) });
    expect(schemaVersion(old.db)).toBe(1);
    upsertDictionary(old, {
      name: 'old-sae',
      path: '/d/old',
      config: { d_sae: 32, hook_point_in: 'blocks.0.hook_resid_post' },
      metrics: { l0: 12 },
    });
    createRun(old, { id: 'run-1', dictionaryName: 'old-sae', config: { lr: 1e-4 } });
    appendRunMetrics(old, 'run-1', [{ step: 10, tokens: 4096, values: { loss: 0.5 } }]);
    expect(old.db.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'features'`).pluck().get()).toBe(0);
    old.close();

    const store = openStore({ dir });
    try {
      expect(schemaVersion(store.db)).toBe(LATEST);
      expect(getDictionary(store, 'old-sae')).toMatchObject({ dSae: 32, metrics: { l0: 12 }, path: '/d/old' });
      expect(getRunMetrics(store, 'run-1')).toEqual([{ step: 10, tokens: 4096, values: { loss: 0.5 } }]);
      addBookmark(store, 'old-sae', 3, { tags: ['kept'] }); // a table of migration 2, on a row of migration 1
      expect(listBookmarks(store).map((b) => b.index)).toEqual([3]);
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      store.close();
    }
  });

  it('applies pending migrations all or nothing: a failing one leaves the file at its old version', () => {
    const dir = tempDir();
    openStore({ dir, migrations: MIGRATIONS.slice(0, 1) }).close();
    const broken: Migration = {
      version: LATEST + 1,
      name: 'broken',
      up(db) {
        db.exec('CREATE TABLE half_done (x INTEGER)');
        throw new Error('boom');
      },
    };
    expect(() => openStore({ dir, migrations: [...MIGRATIONS, broken] })).toThrow(
      /migration 000\d-broken failed: boom/,
    );
    const raw = new Database(join(dir, 'studio.db'), { readonly: true });
    try {
      expect(schemaVersion(raw)).toBe(1);
      expect(
        raw.prepare(`SELECT count(*) FROM sqlite_schema WHERE name IN ('half_done', 'features')`).pluck().get(),
      ).toBe(0);
    } finally {
      raw.close();
    }
  });
});

describe('openStore refusing files it cannot open', () => {
  it('refuses a file from a newer SAE Studio, naming the file, its version and the supported one', () => {
    const dir = tempDir();
    openStore({ dir }).close();
    const raw = new Database(join(dir, 'studio.db'));
    raw.pragma('user_version = 99');
    raw.close();
    const file = join(dir, 'studio.db').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const newer = new RegExp(`^${file}: schema version 99 is newer than this SAE Studio supports \\(${LATEST}\\)`);
    expectInputError(() => openStore({ dir }), newer);
    expectInputError(() => openStore({ dir, readonly: true }), newer);
  });

  it('refuses a file that is not an SQLite database', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'studio.db'),
      Buffer.from('this is not a database, just some text that is long enough '.repeat(40)),
    );
    expectInputError(() => openStore({ dir }), /studio\.db: not an SQLite database, or a corrupt one/);
    expectInputError(() => openStore({ dir, readonly: true }), /studio\.db: not an SQLite database, or a corrupt one/);
  });

  it('refuses a damaged SQLite file', () => {
    const dir = tempDir();
    openStore({ dir }).close();
    const file = join(dir, 'studio.db');
    const bytes = new Uint8Array(readFileSync(file));
    bytes.fill(0xa5, 16, 100); // the page size and the rest of the header
    writeFileSync(file, bytes);
    expectInputError(() => openStore({ dir }), /not an SQLite database, or a corrupt one/);
  });

  it("refuses another application's SQLite database", () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'studio.db'));
    raw.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    raw.close();
    expectInputError(() => openStore({ dir }), /not an SAE Studio store/);
    const marked = new Database(join(dir, 'studio.db'));
    marked.pragma('application_id = 1234');
    marked.close();
    expectInputError(() => openStore({ dir }), /another application \(application_id 0x4d2\)/);
  });

  it('leaves a refused file as it was: not switched to WAL, not a byte changed', () => {
    const dir = tempDir();
    const raw = new Database(join(dir, 'studio.db'));
    raw.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)');
    raw.close();
    const before = readFileSync(join(dir, 'studio.db'));
    expectInputError(() => openStore({ dir }), /not an SAE Studio store/);
    const after = readFileSync(join(dir, 'studio.db'));
    expect(after[18], 'file format write version (2 = WAL)').toBe(1);
    expect(after.equals(before)).toBe(true);
  });

  it('lets readers open only an existing, migrated store', () => {
    const dir = tempDir();
    expectInputError(() => openStore({ dir, readonly: true }), /no SAE Studio store yet/);
    openStore({ dir, migrations: MIGRATIONS.slice(0, 1) }).close();
    expectInputError(
      () => openStore({ dir, readonly: true }),
      /schema version 1 is older .*open it once with a writer/,
    );
  });
});

// Language models and datasets by name (lm-saes `models` and `datasets`: { name, cfg }), which analyses refer to.
import type Database from 'better-sqlite3';
import { selectList } from './columns';
import { nowIso, parseJson } from './codec';
import { assertWriter, type Store } from './database';
import { DATASET_COLUMNS, MODEL_COLUMNS, type DatasetRow, type ModelRow } from './rows';

export interface CatalogEntry {
  name: string;
  cfg: Record<string, unknown>;
  createdAt: string;
}

type Table = 'models' | 'datasets';

/** Inserts `name` with `cfg`, or replaces the cfg of the existing entry. */
export function upsertCatalogEntry(
  db: Database.Database,
  table: Table,
  name: string,
  cfg: Readonly<Record<string, unknown>>,
): void {
  db.prepare(
    `INSERT INTO ${table} (name, cfg, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET cfg = excluded.cfg`,
  ).run(name, JSON.stringify(cfg), nowIso());
}

/** Inserts `name` with `cfg` unless an entry of that name exists (whose cfg is kept). */
export function ensureCatalogEntry(
  db: Database.Database,
  table: Table,
  name: string,
  cfg: Readonly<Record<string, unknown>>,
): void {
  db.prepare(`INSERT INTO ${table} (name, cfg, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`).run(
    name,
    JSON.stringify(cfg),
    nowIso(),
  );
}

function list(store: Store, table: Table): CatalogEntry[] {
  const columns = table === 'models' ? MODEL_COLUMNS : DATASET_COLUMNS;
  const rows = store.db.prepare(`SELECT ${selectList(columns)} FROM ${table} ORDER BY name`).all() as (
    ModelRow | DatasetRow
  )[];
  return rows.map((r) => ({ name: r.name, cfg: parseJson(r.cfg, `${table} '${r.name}'`), createdAt: r.created_at }));
}

export function upsertModel(store: Store, name: string, cfg: Readonly<Record<string, unknown>>): void {
  assertWriter(store, 'saving a model');
  upsertCatalogEntry(store.db, 'models', name, cfg);
}

export function upsertDataset(store: Store, name: string, cfg: Readonly<Record<string, unknown>>): void {
  assertWriter(store, 'saving a dataset');
  upsertCatalogEntry(store.db, 'datasets', name, cfg);
}

export const listModels = (store: Store): CatalogEntry[] => list(store, 'models');
export const listDatasets = (store: Store): CatalogEntry[] => list(store, 'datasets');

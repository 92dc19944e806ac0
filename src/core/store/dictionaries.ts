// Dictionaries (lm-saes `saes`): a name, where its lm-saes directory lives, its config and evaluation metrics.
import type Database from 'better-sqlite3';
import { InputError } from '../errors';
import { insertSql, selectList } from './columns';
import { nowIso, numbersFromJson, numbersToJson, parseJson } from './codec';
import { assertWriter, type Store } from './database';
import { DICTIONARY_COLUMNS, type DictionaryRow } from './rows';

export const DEFAULT_SERIES = 'default';

export interface DictionaryInput {
  name: string;
  /** lm-saes `series` (a namespace of dictionaries in its MongoDB); default 'default'. */
  series?: string;
  /** The lm-saes directory (config.json + sae_weights.safetensors). */
  path: string;
  /** The dictionary's own config, lm-saes field names; `d_sae` is required, `sae_type` defaults to 'sae'. */
  config: Readonly<Record<string, unknown>> & { readonly d_sae: number };
  metrics?: Readonly<Record<string, number>> | null;
  modelName?: string | null;
}

export interface Dictionary {
  name: string;
  series: string;
  path: string;
  saeType: string;
  dSae: number;
  modelName: string | null;
  config: Record<string, unknown>;
  metrics: Record<string, number> | null;
  createdAt: string;
  updatedAt: string;
}

export function dictionaryFromRow(row: DictionaryRow): Dictionary {
  const where = `dictionary '${row.name}'`;
  return {
    name: row.name,
    series: row.series,
    path: row.path,
    saeType: row.sae_type,
    dSae: row.d_sae,
    modelName: row.model_name,
    config: parseJson(row.config, where),
    metrics: row.metrics === null ? null : numbersFromJson(row.metrics, where),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function findDictionaryRow(db: Database.Database, name: string): DictionaryRow | undefined {
  return db.prepare(`SELECT ${selectList(DICTIONARY_COLUMNS)} FROM dictionaries WHERE name = ?`).get(name) as
    DictionaryRow | undefined;
}

/** The row of `name`, or an InputError listing the dictionaries that exist. */
export function requireDictionaryRow(db: Database.Database, name: string): DictionaryRow {
  const row = findDictionaryRow(db, name);
  if (row) return row;
  const names = db.prepare('SELECT name FROM dictionaries ORDER BY name').pluck().all() as string[];
  const known =
    names.length === 0
      ? 'there are none yet'
      : `known: ${names.slice(0, 20).join(', ')}${names.length > 20 ? `, … (${names.length} in all)` : ''}`;
  throw new InputError(`unknown dictionary '${name}' (${known})`);
}

/**
 * How many features the dictionary's analyses number: d_sae, or n_layers · d_sae for a CLT, whose latent i of
 * source layer s is feature s·d_sae + i (lm-saes analyses a CLT layer by layer).
 */
export function featureCount(row: Pick<DictionaryRow, 'name' | 'sae_type' | 'd_sae' | 'config'>): number {
  if (row.sae_type !== 'clt') return row.d_sae;
  const hooks = parseJson<{ hook_points_in?: unknown }>(row.config, `dictionary '${row.name}'`).hook_points_in;
  return Array.isArray(hooks) && hooks.length > 0 ? hooks.length * row.d_sae : row.d_sae;
}

/** An InputError unless `index` is a feature of the dictionary (0 ≤ index < featureCount). */
export function checkFeatureIndex(row: DictionaryRow, index: number): void {
  const n = featureCount(row);
  if (!Number.isInteger(index) || index < 0 || index >= n) {
    throw new InputError(`feature index ${index} is out of range for dictionary '${row.name}' (0 to ${n - 1})`);
  }
}

function checkInput(input: DictionaryInput): void {
  if (input.name.trim() === '') throw new InputError(`dictionary name: must not be empty`);
  const dSae = input.config.d_sae;
  if (!Number.isInteger(dSae) || dSae <= 0)
    throw new InputError(
      `dictionary '${input.name}': config field 'd_sae' must be a positive integer (got ${String(dSae)})`,
    );
}

/** Inserts or updates (by name) a dictionary. Changing d_sae while analyses exist is refused (they would be stale). */
export function upsertDictionary(store: Store, input: DictionaryInput): Dictionary {
  assertWriter(store, 'saving a dictionary');
  checkInput(input);
  const db = store.db;
  return db
    .transaction(() => {
      const existing = findDictionaryRow(db, input.name);
      const now = nowIso();
      const fields = {
        name: input.name,
        series: input.series ?? existing?.series ?? DEFAULT_SERIES,
        path: input.path,
        sae_type: typeof input.config.sae_type === 'string' ? input.config.sae_type : 'sae',
        d_sae: input.config.d_sae,
        model_name: input.modelName ?? (typeof input.config.model_name === 'string' ? input.config.model_name : null),
        config: JSON.stringify(input.config),
        metrics:
          input.metrics === undefined
            ? (existing?.metrics ?? null)
            : input.metrics === null
              ? null
              : numbersToJson(input.metrics),
      };
      if (!existing) {
        const columns = DICTIONARY_COLUMNS.filter((c) => c !== 'id');
        db.prepare(insertSql('dictionaries', columns)).run({ ...fields, created_at: now, updated_at: now });
      } else {
        if (existing.d_sae !== fields.d_sae) {
          const analyses = db
            .prepare('SELECT count(*) FROM analyses WHERE dictionary_id = ?')
            .pluck()
            .get(existing.id) as number;
          if (analyses > 0) {
            throw new InputError(
              `dictionary '${input.name}': d_sae changes from ${existing.d_sae} to ${fields.d_sae} but ${analyses} analyses of the old one exist; remove the dictionary first`,
            );
          }
        }
        db.prepare(
          `UPDATE dictionaries SET series = @series, path = @path, sae_type = @sae_type, d_sae = @d_sae,
        model_name = @model_name, config = @config, metrics = @metrics, updated_at = @updated_at WHERE id = @id`,
        ).run({ ...fields, updated_at: now, id: existing.id });
      }
      return dictionaryFromRow(findDictionaryRow(db, input.name)!);
    })
    .immediate();
}

export function getDictionary(store: Store, name: string): Dictionary {
  return dictionaryFromRow(requireDictionaryRow(store.db, name));
}

export function listDictionaries(store: Store, options: { series?: string } = {}): Dictionary[] {
  const sql = `SELECT ${selectList(DICTIONARY_COLUMNS)} FROM dictionaries ${options.series === undefined ? '' : 'WHERE series = ?'} ORDER BY name`;
  const rows = (
    options.series === undefined ? store.db.prepare(sql).all() : store.db.prepare(sql).all(options.series)
  ) as DictionaryRow[];
  return rows.map(dictionaryFromRow);
}

/** Replaces the dictionary's evaluation metrics (explained variance, L0, CE loss…). */
export function setDictionaryMetrics(
  store: Store,
  name: string,
  metrics: Readonly<Record<string, number>>,
): Dictionary {
  assertWriter(store, 'saving dictionary metrics');
  const row = requireDictionaryRow(store.db, name);
  store.db
    .prepare('UPDATE dictionaries SET metrics = ?, updated_at = ? WHERE id = ?')
    .run(numbersToJson(metrics), nowIso(), row.id);
  return getDictionary(store, name);
}

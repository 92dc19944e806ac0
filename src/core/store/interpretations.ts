// Interpretations of features: per dictionary and feature index, like lm-saes's `features[].interpretation`
// ({ text, validation, complexity, consistency, detail, passed }), so they survive a re-analysis.
import type Database from 'better-sqlite3';
import { selectList } from './columns';
import { nowIso, parseJson } from './codec';
import { assertWriter, type Store } from './database';
import { checkFeatureIndex, requireDictionaryRow } from './dictionaries';
import { INTERPRETATION_COLUMNS, type InterpretationRow } from './rows';

export interface Interpretation {
  text: string;
  /** lm-saes's other interpretation fields (auto-interpretation scores), or null for a hand-written one. */
  detail: Record<string, unknown> | null;
  updatedAt: string;
}

export function findInterpretation(db: Database.Database, dictionaryId: number, index: number): Interpretation | null {
  const row = db
    .prepare(
      `SELECT ${selectList(INTERPRETATION_COLUMNS)} FROM feature_interpretations WHERE dictionary_id = ? AND feature_index = ?`,
    )
    .get(dictionaryId, index) as InterpretationRow | undefined;
  if (!row) return null;
  return {
    text: row.text,
    detail: row.detail === null ? null : parseJson(row.detail, `interpretation of feature ${index}`),
    updatedAt: row.updated_at,
  };
}

/** Sets (or, with null or blank text, removes) a feature's interpretation. */
export function setInterpretation(
  store: Store,
  dictionary: string,
  index: number,
  text: string | null,
  options: { detail?: Readonly<Record<string, unknown>> } = {},
): Interpretation | null {
  assertWriter(store, 'saving an interpretation');
  const db = store.db;
  const dict = requireDictionaryRow(db, dictionary);
  checkFeatureIndex(dict, index);
  if (text === null || text.trim() === '') {
    db.prepare('DELETE FROM feature_interpretations WHERE dictionary_id = ? AND feature_index = ?').run(dict.id, index);
    return null;
  }
  const row: InterpretationRow = {
    dictionary_id: dict.id,
    feature_index: index,
    text,
    detail: options.detail ? JSON.stringify(options.detail) : null,
    updated_at: nowIso(),
  };
  db.prepare(
    `INSERT INTO feature_interpretations (${INTERPRETATION_COLUMNS.join(', ')})
    VALUES (@dictionary_id, @feature_index, @text, @detail, @updated_at)
    ON CONFLICT (dictionary_id, feature_index) DO UPDATE SET text = excluded.text, detail = excluded.detail, updated_at = excluded.updated_at`,
  ).run(row);
  return findInterpretation(db, dict.id, index);
}

export function getInterpretation(store: Store, dictionary: string, index: number): Interpretation | null {
  const dict = requireDictionaryRow(store.db, dictionary);
  checkFeatureIndex(dict, index);
  return findInterpretation(store.db, dict.id, index);
}

// Analyses of a dictionary (lm-saes `analyses`: { name, sae_name, sae_series }): listing, choosing, removing.
import type Database from 'better-sqlite3';
import { InputError } from '../errors';
import { removeArrayFile } from './array-files';
import { selectList } from './columns';
import { assertWriter, type Store } from './database';
import { requireDictionaryRow } from './dictionaries';
import { ANALYSIS_COLUMNS, type AnalysisRow, type DictionaryRow } from './rows';
import { deleteAnalysisInChunks, stagedName, VISIBLE_ANALYSIS } from './staged-analyses';

/** lm-saes's name for the analysis its UI shows first. */
export const DEFAULT_ANALYSIS = 'default';

export interface AnalysisInfo {
  name: string;
  modelName: string;
  datasetName: string;
  datasetSplit: string;
  contextSize: number;
  hookPointIn: string;
  hookPointOut: string;
  nAnalyzedTokens: number;
  nFeatures: number;
  createdAt: string;
}

export function analysisInfo(row: AnalysisRow): AnalysisInfo {
  return {
    name: row.name,
    modelName: row.model_name,
    datasetName: row.dataset_name,
    datasetSplit: row.dataset_split,
    contextSize: row.context_size,
    hookPointIn: row.hook_point_in,
    hookPointOut: row.hook_point_out,
    nAnalyzedTokens: row.n_analyzed_tokens,
    nFeatures: row.n_features,
    createdAt: row.created_at,
  };
}

function analysisRows(db: Database.Database, dictionaryId: number): AnalysisRow[] {
  return db
    .prepare(
      `SELECT ${selectList(ANALYSIS_COLUMNS)} FROM analyses WHERE dictionary_id = ? AND ${VISIBLE_ANALYSIS} ORDER BY created_at DESC, id DESC`,
    )
    .all(dictionaryId) as AnalysisRow[];
}

/**
 * The analysis named `name`, or when none is named: 'default' if it exists, else the most recent one; null when
 * the dictionary has no analysis. An unknown name is an InputError listing the analyses that exist.
 */
export function chooseAnalysisRow(db: Database.Database, dictionary: DictionaryRow, name?: string): AnalysisRow | null {
  const rows = analysisRows(db, dictionary.id);
  if (name === undefined) return rows.find((r) => r.name === DEFAULT_ANALYSIS) ?? rows[0] ?? null;
  const row = rows.find((r) => r.name === name);
  if (row) return row;
  const known = rows.length === 0 ? 'it has none yet' : `it has: ${rows.map((r) => r.name).join(', ')}`;
  throw new InputError(`dictionary '${dictionary.name}' has no analysis named '${name}' (${known})`);
}

/** Most recent first. */
export function listAnalyses(store: Store, dictionary: string): AnalysisInfo[] {
  return analysisRows(store.db, requireDictionaryRow(store.db, dictionary).id).map(analysisInfo);
}

/** Removes one analysis (and its arrays file); false when the dictionary has none of that name. */
export function removeAnalysis(store: Store, dictionary: string, name: string): boolean {
  assertWriter(store, 'removing an analysis');
  const db = store.db;
  const dict = requireDictionaryRow(db, dictionary);
  const row = analysisRows(db, dict.id).find((r) => r.name === name);
  if (!row) return false;
  // Out of sight in one short transaction, then deleted in chunks (a large one would hold the write lock for long).
  db.transaction(() =>
    db.prepare('UPDATE analyses SET name = ? WHERE id = ?').run(stagedName('replaced', row.uid), row.id),
  ).immediate();
  deleteAnalysisInChunks(db, row.id);
  if (row.arrays_file) removeArrayFile(store.dir, row.arrays_file);
  return true;
}

// A dictionary at a glance, from its analysis: how often its features fire (a histogram of log10 frequency, the
// dead and dense counts) and how strongly (a histogram of each feature's largest activation), with its evaluation;
// and a random live feature for the "random feature" button.
import { chooseAnalysisRow, analysisInfo, type AnalysisInfo } from './analyses';
import type { Store } from './database';
import { dictionaryFromRow, requireDictionaryRow } from './dictionaries';

/** A feature firing on more than this fraction of tokens is dense (the trainer's own `dense` count uses 10%). */
export const DENSE_FREQUENCY = 0.1;
const BINS = 30;

export interface Histogram {
  /** BINS + 1 edges, ascending. */
  edges: number[];
  counts: number[];
}

export interface DictionaryOverview {
  dictionary: string;
  analysis: AnalysisInfo | null;
  nFeatures: number;
  /** Features that never fired during the analysis. */
  dead: number;
  /** Features firing on more than DENSE_FREQUENCY of the tokens. */
  dense: number;
  /** log10 of the frequency of the features that fired. */
  logFrequency: Histogram;
  /** Largest activation of the features that fired. */
  maxActivation: Histogram;
  /** The evaluation stored with the dictionary (explained_variance, l0, ce_loss_recovered, …), or null. */
  metrics: Record<string, number> | null;
}

/** Equal-width bins over [min, max] of `values` (one bin of width 1 when they are all equal). */
export function histogram(values: readonly number[], bins = BINS): Histogram {
  if (values.length === 0) return { edges: [], counts: [] };
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  if (hi === lo) [lo, hi] = [lo - 0.5, hi + 0.5];
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]! += 1;
  return { edges: Array.from({ length: bins + 1 }, (_, i) => lo + i * width), counts };
}

export function dictionaryOverview(store: Store, dictionary: string, analysisName?: string): DictionaryOverview {
  return store.db.transaction(() => overviewNow(store, dictionary, analysisName)).deferred();
}

function overviewNow(store: Store, dictionary: string, analysisName?: string): DictionaryOverview {
  const db = store.db;
  const row = requireDictionaryRow(db, dictionary);
  const metrics = dictionaryFromRow(row).metrics;
  const analysis = chooseAnalysisRow(db, row, analysisName);
  const empty = { edges: [], counts: [] };
  if (!analysis)
    return {
      dictionary,
      analysis: null,
      nFeatures: 0,
      dead: 0,
      dense: 0,
      logFrequency: empty,
      maxActivation: empty,
      metrics,
    };
  const rows = db
    .prepare('SELECT act_count, frequency, max_activation FROM features WHERE analysis_id = ?')
    .all(analysis.id) as { act_count: number; frequency: number; max_activation: number }[];
  const live = rows.filter((r) => r.act_count > 0);
  return {
    dictionary,
    analysis: analysisInfo(analysis),
    nFeatures: rows.length,
    dead: rows.length - live.length,
    dense: live.filter((r) => r.frequency > DENSE_FREQUENCY).length,
    logFrequency: histogram(live.map((r) => Math.log10(r.frequency))),
    maxActivation: histogram(live.map((r) => r.max_activation)),
    metrics,
  };
}

/** A feature that fired during the analysis, drawn uniformly (`random` in [0, 1)); null when none did. */
export function randomLiveFeature(
  store: Store,
  dictionary: string,
  random: number,
  analysisName?: string,
): number | null {
  const db = store.db;
  const analysis = chooseAnalysisRow(db, requireDictionaryRow(db, dictionary), analysisName);
  if (!analysis) return null;
  const n = db
    .prepare('SELECT count(*) FROM features WHERE analysis_id = ? AND act_count > 0')
    .pluck()
    .get(analysis.id) as number;
  if (n === 0) return null;
  return db
    .prepare(
      'SELECT feature_index FROM features WHERE analysis_id = ? AND act_count > 0 ORDER BY feature_index LIMIT 1 OFFSET ?',
    )
    .pluck()
    .get(analysis.id, Math.min(n - 1, Math.floor(random * n))) as number;
}

// A few facts about each of a list of features, cheap enough for long lists (the comparison of two dictionaries):
// its interpretation, its frequency, and the tokens where its strongest stored samples peak.
import { chooseAnalysisRow } from './analyses';
import { arrayReader, type ArrayReader } from './array-files';
import { float32FromBlob, int32FromBlob, parseJson } from './codec';
import type { Store } from './database';
import { requireDictionaryRow } from './dictionaries';

export interface FeatureGlimpseData {
  index: number;
  interpretation: string | null;
  frequency: number | null;
  /** Token ids at the peak of its first sampling's strongest samples, strongest first (distinct). */
  topTokenIds: number[];
}

const PEAK_SAMPLES = 6;

interface PeakRow {
  context_idx: number;
  positions: Buffer | null;
  activations: Buffer | null;
  arrays_ref: string | null;
  tokens: Buffer | null;
  tokens_ref: string | null;
}

function peakToken(r: PeakRow, arrays: ArrayReader): number | null {
  const where = `context ${r.context_idx}`;
  const positions = r.positions ? int32FromBlob(r.positions, where) : arrays.readInt32(`${r.arrays_ref}.positions`);
  const values = r.activations
    ? float32FromBlob(r.activations, where)
    : arrays.readFloat32(`${r.arrays_ref}.activations`);
  const tokens = r.tokens ? int32FromBlob(r.tokens, where) : arrays.readInt32(r.tokens_ref ?? '');
  let best = -1;
  for (let j = 0; j < values.length; j++) if (best < 0 || values[j]! > values[best]!) best = j;
  return best < 0 ? null : (tokens[positions[best]!] ?? null);
}

export function featureGlimpses(
  store: Store,
  dictionary: string,
  indices: readonly number[],
  analysisName?: string,
): Map<number, FeatureGlimpseData> {
  const db = store.db;
  const dict = requireDictionaryRow(db, dictionary);
  const analysis = chooseAnalysisRow(db, dict, analysisName);
  const interpretation = db.prepare(
    'SELECT text FROM feature_interpretations WHERE dictionary_id = ? AND feature_index = ?',
  );
  const feature = db.prepare(
    'SELECT id, frequency, sampling_names FROM features WHERE analysis_id = ? AND feature_index = ?',
  );
  const peaks = db.prepare(
    `SELECT s.context_idx, s.positions, s.activations, s.arrays_ref, c.tokens, c.tokens_ref
     FROM feature_samples s JOIN contexts c ON c.analysis_id = s.analysis_id AND c.context_idx = s.context_idx
     WHERE s.feature_id = ? AND s.sampling = ? ORDER BY s.rank LIMIT ${PEAK_SAMPLES}`,
  );
  const arrays = arrayReader(store.dir);
  const out = new Map<number, FeatureGlimpseData>();
  try {
    for (const index of indices) {
      if (out.has(index)) continue;
      const text = interpretation.pluck().get(dict.id, index) as string | undefined;
      const row = analysis
        ? (feature.get(analysis.id, index) as { id: number; frequency: number; sampling_names: string } | undefined)
        : undefined;
      const first = row ? parseJson<string[]>(row.sampling_names, `feature ${index}`)[0] : undefined;
      const ids: number[] = [];
      if (row && first !== undefined)
        for (const r of peaks.all(row.id, first) as PeakRow[]) {
          const t = peakToken(r, arrays);
          if (t !== null && !ids.includes(t)) ids.push(t);
        }
      out.set(index, { index, interpretation: text ?? null, frequency: row?.frequency ?? null, topTokenIds: ids });
    }
  } finally {
    arrays.close();
  }
  return out;
}

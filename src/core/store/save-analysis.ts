// Saves what the analysis pass produced: the analysis row, its contexts, one row per feature and one per sample.
// A large analysis would hold SQLite's write lock for seconds in one transaction, and every other writer (the app
// saving an interpretation, a run recording metrics) would wait for it; so the rows go in in short transactions
// (FEATURES_PER_CHUNK features with their samples each) under a staging name readers never see, and the analysis
// becomes visible in one short transaction at the end, which renames the one it replaces out of sight (its rows are
// then deleted in chunks). A crash or a kill mid-save leaves the previous analysis of that name whole and the new
// one invisible; the next writer to open the store removes the leftovers (staged-analyses.ts). Arrays over the size
// limit go to the analysis's safetensors file, written before the first transaction.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { AnalysisResult, FeatureAnalysis } from '../analysis/types';
import { InputError } from '../errors';
import { DEFAULT_ANALYSIS } from './analyses';
import {
  deleteAnalysisInChunks,
  RESERVED_ANALYSIS_PREFIX,
  stagedName,
  sweepAbandonedAnalyses,
} from './staged-analyses';
import { arraySpill, removeArrayFile, type ArraySpill } from './array-files';
import { diskFullError, isDiskFull } from './disk-full';
import { ensureCatalogEntry } from './catalog';
import { insertSql } from './columns';
import { arrayBlob, nowIso } from './codec';
import { assertWriter, type Store } from './database';
import { DEFAULT_SERIES, featureCount, findDictionaryRow } from './dictionaries';
import {
  ANALYSIS_COLUMNS,
  CONTEXT_COLUMNS,
  DICTIONARY_COLUMNS,
  FEATURE_COLUMNS,
  FEATURE_SAMPLE_COLUMNS,
  type AnalysisRow,
  type ContextRow,
  type DictionaryRow,
  type FeatureRow,
  type FeatureSampleRow,
} from './rows';
import { killPoint } from '../util/test-kill-point';

export interface SaveAnalysisOptions {
  /** lm-saes's analysis name; default 'default'. */
  name?: string;
  /** Replace an existing analysis of that name (otherwise it is an InputError). */
  replace?: boolean;
  /** Arrays larger than this many bytes go to the arrays file (default 1 MiB). */
  largeArrayBytes?: number;
  /** Called after each chunk of features is committed (under the staging name, not yet visible). */
  onProgress?: (featuresSaved: number, featuresTotal: number) => void;
  /** Features per write transaction (default FEATURES_PER_CHUNK). */
  featuresPerChunk?: number;
}

export interface SavedAnalysis {
  dictionary: string;
  name: string;
  features: number;
  contexts: number;
  samples: number;
  /** Store-relative path of the arrays file, or null when every array fit in its row. */
  arraysFile: string | null;
  replaced: boolean;
}

/** Features (with their samples) per write transaction: ~10-50 ms each for real analyses. */
export const FEATURES_PER_CHUNK = 128;
/**
 * How the saver lets another process write. A writer of another process waiting for the lock polls it (SQLite's busy
 * handler: after 1, 2, 5, 10, 15, 20, 25 ms, …, at most 100 ms apart; the studio's retries, each a 100 ms poll, at
 * most 80 ms apart): without a pause the saver would take the lock again at once and starve that writer for the
 * whole save. A pause of PAUSE_MS, longer than the longest wait between two polls, is always seen by a waiting
 * writer, whatever the phase of its polls, so it takes the lock at the first pause; the saver may therefore commit
 * chunks back to back for HOLD_MS before pausing, and a writer waits at most about HOLD_MS + a chunk + PAUSE_MS
 * (about 0.6 s). A 30 ms pause after every chunk (~30 ms each) cost the demo's 4096 features 1 s of sleep with
 * nobody waiting; this costs a pause per 400 ms of writing.
 */
const HOLD_MS = 400;
const PAUSE_MS = 120;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Pauses when the lock has been busy HOLD_MS since the last pause; returns when the next hold began. */
function letOthersWrite(holdStart: number): number {
  if (performance.now() - holdStart < HOLD_MS) return holdStart;
  Atomics.wait(pause, 0, 0, PAUSE_MS);
  return performance.now();
}
/** Contexts per write transaction. */
const CONTEXTS_PER_CHUNK = 512;

/** Checks the result's internal consistency, naming the first thing wrong. */
function validate(result: AnalysisResult): void {
  const what = `analysis of '${result.dictionaryName}'`;
  if (!Number.isInteger(result.dSae) || result.dSae <= 0)
    throw new InputError(`${what}: dSae ${result.dSae} is not a positive integer`);
  const contextLength = new Map<number, number>();
  for (const c of result.contexts) {
    if (contextLength.has(c.contextIndex)) throw new InputError(`${what}: context ${c.contextIndex} appears twice`);
    contextLength.set(c.contextIndex, c.tokens.length);
  }
  const seen = new Set<number>();
  for (const f of result.features) {
    if (!Number.isInteger(f.index) || f.index < 0 || f.index >= result.dSae) {
      throw new InputError(`${what}: feature index ${f.index} is out of range (0 to ${result.dSae - 1})`);
    }
    if (seen.has(f.index)) throw new InputError(`${what}: feature ${f.index} appears twice`);
    seen.add(f.index);
    const names = new Set<string>();
    for (const s of f.samplings) {
      if (names.has(s.name)) throw new InputError(`${what}: feature ${f.index} has two samplings named '${s.name}'`);
      names.add(s.name);
      s.samples.forEach((sample, rank) => {
        const where = `${what}: feature ${f.index}, sampling '${s.name}', sample ${rank}`;
        const length = contextLength.get(sample.contextIndex);
        if (length === undefined)
          throw new InputError(`${where}: context ${sample.contextIndex} is not among the result's contexts`);
        if (sample.positions.length !== sample.values.length) {
          throw new InputError(`${where}: ${sample.positions.length} positions but ${sample.values.length} values`);
        }
        for (const p of sample.positions) {
          if (p < 0 || p >= length)
            throw new InputError(`${where}: position ${p} is outside its context (0 to ${length - 1})`);
        }
      });
    }
  }
}

/** The registered dictionary, or a row made from the result when the dictionary was never registered. */
function ensureDictionary(db: Database.Database, result: AnalysisResult): DictionaryRow {
  const existing = findDictionaryRow(db, result.dictionaryName);
  if (existing) {
    const count = featureCount(existing);
    if (count !== result.dSae) {
      const what = existing.sae_type === 'clt' ? 'feature count (n_layers · d_sae)' : 'd_sae';
      throw new InputError(
        `analysis of '${result.dictionaryName}': dSae ${result.dSae} differs from the registered dictionary's ${what} ${count}`,
      );
    }
    return existing;
  }
  const now = nowIso();
  const config = {
    sae_type: 'sae',
    hook_point_in: result.hookPointIn,
    hook_point_out: result.hookPointOut,
    d_sae: result.dSae,
    model_name: result.modelName,
  };
  const row: Omit<DictionaryRow, 'id'> = {
    name: result.dictionaryName,
    series: DEFAULT_SERIES,
    path: result.dictionaryDir,
    sae_type: 'sae',
    d_sae: result.dSae,
    model_name: result.modelName,
    config: JSON.stringify(config),
    metrics: null,
    created_at: now,
    updated_at: now,
  };
  db.prepare(
    insertSql(
      'dictionaries',
      DICTIONARY_COLUMNS.filter((c) => c !== 'id'),
    ),
  ).run(row);
  return findDictionaryRow(db, result.dictionaryName)!;
}

const sampleKey = (feature: number, sampling: number, rank: number) => `${feature}/${sampling}/${rank}`;

/** Decides which arrays go to the arrays file; returns the references by context index and by sample. */
function planLargeArrays(
  result: AnalysisResult,
  spill: ArraySpill,
): { contexts: Map<number, string>; samples: Map<string, string> } {
  const contexts = new Map<number, string>();
  for (const c of result.contexts) {
    if (spill.isLarge(c.tokens)) contexts.set(c.contextIndex, spill.add(`context.${c.contextIndex}.tokens`, c.tokens));
  }
  const samples = new Map<string, string>();
  for (const f of result.features) {
    f.samplings.forEach((s, si) =>
      s.samples.forEach((sample, rank) => {
        if (!spill.isLarge(sample.positions) && !spill.isLarge(sample.values)) return;
        const prefix = `feature.${f.index}.${si}.${rank}`;
        spill.add(`${prefix}.positions`, sample.positions);
        const ref = spill.add(`${prefix}.activations`, sample.values);
        samples.set(sampleKey(f.index, si, rank), ref.slice(0, -'.activations'.length));
      }),
    );
  }
  return { contexts, samples };
}

function featureRow(f: FeatureAnalysis, analysisId: number, dictionaryId: number): Omit<FeatureRow, 'id'> {
  return {
    analysis_id: analysisId,
    dictionary_id: dictionaryId,
    feature_index: f.index,
    act_count: f.actCount,
    frequency: f.frequency,
    max_activation: f.maxActivation,
    mean_activation: f.meanActivation,
    histogram: JSON.stringify(f.histogram),
    top_logits: JSON.stringify(f.topLogits),
    bottom_logits: JSON.stringify(f.bottomLogits),
    neighbours: JSON.stringify(f.neighbours),
    sampling_names: JSON.stringify(f.samplings.map((s) => s.name)),
    kind_data: f.kindData ? JSON.stringify(f.kindData) : null,
  };
}

/** The transactions that insert a staged analysis's contexts and features (with their samples), chunk by chunk. */
function rowWriters(db: Database.Database, refs: ReturnType<typeof planLargeArrays>) {
  const insertContext = db.prepare(insertSql('contexts', CONTEXT_COLUMNS));
  const insertFeature = db.prepare(
    insertSql(
      'features',
      FEATURE_COLUMNS.filter((c) => c !== 'id'),
    ),
  );
  const insertSample = db.prepare(
    insertSql(
      'feature_samples',
      FEATURE_SAMPLE_COLUMNS.filter((c) => c !== 'id'),
    ),
  );
  const insertContexts = db.transaction((analysisId: number, contexts: AnalysisResult['contexts']) => {
    for (const c of contexts) {
      const ref = refs.contexts.get(c.contextIndex) ?? null;
      const row: ContextRow = {
        analysis_id: analysisId,
        context_idx: c.contextIndex,
        n_tokens: c.tokens.length,
        tokens: ref ? null : arrayBlob(c.tokens),
        tokens_ref: ref,
      };
      insertContext.run(row);
    }
  });

  const insertFeatures = db.transaction((analysisId: number, dictionaryId: number, features: FeatureAnalysis[]) => {
    let samples = 0;
    for (const f of features) {
      const featureId = Number(insertFeature.run(featureRow(f, analysisId, dictionaryId)).lastInsertRowid);
      f.samplings.forEach((s, si) =>
        s.samples.forEach((sample, rank) => {
          const ref = refs.samples.get(sampleKey(f.index, si, rank)) ?? null;
          const row: Omit<FeatureSampleRow, 'id'> = {
            feature_id: featureId,
            analysis_id: analysisId,
            sampling: s.name,
            rank,
            context_idx: sample.contextIndex,
            max_activation: sample.maxActivation,
            positions: ref ? null : arrayBlob(sample.positions),
            activations: ref ? null : arrayBlob(sample.values),
            arrays_ref: ref,
            kind_data: sample.kindData ? JSON.stringify(sample.kindData) : null,
          };
          insertSample.run(row);
          samples++;
        }),
      );
    }
    return samples;
  });

  return { insertContexts, insertFeatures };
}

export function saveAnalysis(store: Store, result: AnalysisResult, options: SaveAnalysisOptions = {}): SavedAnalysis {
  assertWriter(store, 'saving an analysis');
  validate(result);
  const name = options.name ?? DEFAULT_ANALYSIS;
  if (name.startsWith(RESERVED_ANALYSIS_PREFIX) || name.trim() === '')
    throw new InputError(`analysis name '${name}': must not be empty or start with '${RESERVED_ANALYSIS_PREFIX}'`);
  const db = store.db;
  sweepAbandonedAnalyses(db, store.dir);
  const uid = randomUUID();
  const staging = stagedName('saving', uid);
  const spill = arraySpill(store.dir, uid, options.largeArrayBytes);
  const refs = planLargeArrays(result, spill);
  const what = `the analysis '${name}' of '${result.dictionaryName}'`;
  try {
    spill.write();
  } catch (e) {
    throw isDiskFull(e) ? diskFullError(store.dir, what) : e;
  }

  const insertAnalysis = db.prepare(
    insertSql(
      'analyses',
      ANALYSIS_COLUMNS.filter((c) => c !== 'id'),
    ),
  );
  const findPrevious = (dictionaryId: number) =>
    db
      .prepare('SELECT id, uid, arrays_file FROM analyses WHERE dictionary_id = ? AND name = ?')
      .get(dictionaryId, name) as Pick<AnalysisRow, 'id' | 'uid' | 'arrays_file'> | undefined;
  const refuseExisting = () =>
    new InputError(
      `dictionary '${result.dictionaryName}' already has an analysis named '${name}'; replace it or choose another name`,
    );

  /** The staged analysis row (its contexts and features follow in chunks). */
  const begin = db.transaction(() => {
    const dictionary = ensureDictionary(db, result);
    if (findPrevious(dictionary.id) && !options.replace) throw refuseExisting();
    ensureCatalogEntry(db, 'models', result.modelName, {});
    ensureCatalogEntry(db, 'datasets', result.dataset.spec, { dataset_name_or_path: result.dataset.spec });
    const analysis: Omit<AnalysisRow, 'id'> = {
      uid,
      dictionary_id: dictionary.id,
      name: staging,
      model_name: result.modelName,
      dataset_name: result.dataset.spec,
      dataset_split: result.dataset.split,
      context_size: result.dataset.contextSize,
      hook_point_in: result.hookPointIn,
      hook_point_out: result.hookPointOut,
      n_analyzed_tokens: result.tokensAnalysed,
      n_features: result.features.length,
      arrays_file: spill.file,
      created_at: result.createdAt,
    };
    return { analysisId: Number(insertAnalysis.run(analysis).lastInsertRowid), dictionaryId: dictionary.id };
  });

  const { insertContexts, insertFeatures } = rowWriters(db, refs);

  /** Makes the staged analysis the one named `name`, the one it replaces renamed out of sight: one short commit. */
  const publish = db.transaction((analysisId: number, dictionaryId: number) => {
    const previous = findPrevious(dictionaryId);
    if (previous && !options.replace) throw refuseExisting();
    if (previous)
      db.prepare('UPDATE analyses SET name = ? WHERE id = ?').run(stagedName('replaced', previous.uid), previous.id);
    db.prepare('UPDATE analyses SET name = ? WHERE id = ?').run(name, analysisId);
    return previous ?? null;
  });

  let staged: { analysisId: number; dictionaryId: number } | null = null;
  let samples = 0;
  let previous: Pick<AnalysisRow, 'id' | 'uid' | 'arrays_file'> | null;
  // The lock is busy from the first transaction on (letOthersWrite).
  let holdStart = performance.now();
  try {
    staged = begin.immediate();
    const { analysisId, dictionaryId } = staged;
    for (let i = 0; i < result.contexts.length; i += CONTEXTS_PER_CHUNK)
      insertContexts.immediate(analysisId, result.contexts.slice(i, i + CONTEXTS_PER_CHUNK));
    const chunk = Math.max(1, options.featuresPerChunk ?? FEATURES_PER_CHUNK);
    for (let i = 0; i < result.features.length; i += chunk) {
      holdStart = letOthersWrite(holdStart);
      samples += insertFeatures.immediate(analysisId, dictionaryId, result.features.slice(i, i + chunk));
      killPoint('analysis-save:chunk');
      options.onProgress?.(Math.min(i + chunk, result.features.length), result.features.length);
    }
    previous = publish.immediate(analysisId, dictionaryId);
  } catch (e) {
    // What was staged goes (best effort: a failure here leaves it to the next writer's sweep).
    try {
      if (staged) deleteAnalysisInChunks(db, staged.analysisId);
      if (spill.file) removeArrayFile(store.dir, spill.file);
    } catch {
      // the original error is the one to report (staged rows left here are swept by the next writer)
    }
    throw isDiskFull(e) ? diskFullError(store.dir, what) : e;
  }
  killPoint('analysis-save:published');
  if (previous) {
    deleteAnalysisInChunks(db, previous.id);
    if (previous.arrays_file) removeArrayFile(store.dir, previous.arrays_file);
  }
  return {
    dictionary: result.dictionaryName,
    name,
    features: result.features.length,
    contexts: result.contexts.length,
    samples,
    arraysFile: spill.file,
    replaced: previous !== null,
  };
}

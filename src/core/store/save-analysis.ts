// Saves what the analysis pass produced: the analysis row, its contexts, one row per feature and one per sample,
// all in one transaction, so a crash or a kill mid-save leaves the previous analysis of that name whole and the
// new one absent. Arrays over the size limit go to the analysis's safetensors file, written before the transaction.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { AnalysisResult, FeatureAnalysis } from '../analysis/types';
import { InputError } from '../errors';
import { deleteAnalysisRows, DEFAULT_ANALYSIS } from './analyses';
import { arraySpill, removeArrayFile, type ArraySpill } from './array-files';
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

export interface SaveAnalysisOptions {
  /** lm-saes's analysis name; default 'default'. */
  name?: string;
  /** Replace an existing analysis of that name (otherwise it is an InputError). */
  replace?: boolean;
  /** Arrays larger than this many bytes go to the arrays file (default 1 MiB). */
  largeArrayBytes?: number;
  /** Called inside the transaction every 256 features and after the last. */
  onProgress?: (featuresSaved: number, featuresTotal: number) => void;
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

const PROGRESS_EVERY = 256;

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

export function saveAnalysis(store: Store, result: AnalysisResult, options: SaveAnalysisOptions = {}): SavedAnalysis {
  assertWriter(store, 'saving an analysis');
  validate(result);
  const name = options.name ?? DEFAULT_ANALYSIS;
  const db = store.db;
  const uid = randomUUID();
  const spill = arraySpill(store.dir, uid, options.largeArrayBytes);
  const refs = planLargeArrays(result, spill);
  spill.write();

  const insertAnalysis = db.prepare(
    insertSql(
      'analyses',
      ANALYSIS_COLUMNS.filter((c) => c !== 'id'),
    ),
  );
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

  const write = () => {
    const dictionary = ensureDictionary(db, result);
    const previous = db
      .prepare('SELECT id, arrays_file FROM analyses WHERE dictionary_id = ? AND name = ?')
      .get(dictionary.id, name) as Pick<AnalysisRow, 'id' | 'arrays_file'> | undefined;
    if (previous && !options.replace) {
      throw new InputError(
        `dictionary '${result.dictionaryName}' already has an analysis named '${name}'; replace it or choose another name`,
      );
    }
    if (previous) deleteAnalysisRows(db, previous.id);
    ensureCatalogEntry(db, 'models', result.modelName, {});
    ensureCatalogEntry(db, 'datasets', result.dataset.spec, { dataset_name_or_path: result.dataset.spec });

    const analysis: Omit<AnalysisRow, 'id'> = {
      uid,
      dictionary_id: dictionary.id,
      name,
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
    const analysisId = Number(insertAnalysis.run(analysis).lastInsertRowid);

    for (const c of result.contexts) {
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

    let samples = 0;
    result.features.forEach((f, i) => {
      const featureId = Number(insertFeature.run(featureRow(f, analysisId, dictionary.id)).lastInsertRowid);
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
      if ((i + 1) % PROGRESS_EVERY === 0 || i + 1 === result.features.length)
        options.onProgress?.(i + 1, result.features.length);
    });
    return { previousArrays: previous?.arrays_file ?? null, replaced: previous !== undefined, samples };
  };
  const save = db.transaction(write);

  let outcome: ReturnType<typeof save>;
  try {
    outcome = save.immediate();
  } catch (e) {
    if (spill.file) removeArrayFile(store.dir, spill.file);
    throw e;
  }
  if (outcome.previousArrays) removeArrayFile(store.dir, outcome.previousArrays);
  return {
    dictionary: result.dictionaryName,
    name,
    features: result.features.length,
    contexts: result.contexts.length,
    samples: outcome.samples,
    arraysFile: spill.file,
    replaced: outcome.replaced,
  };
}

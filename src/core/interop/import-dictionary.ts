// `sae-studio import DIR`: a dictionary trained elsewhere — an lm-saes folder of any kind (config.json +
// sae_weights.safetensors) or a SAELens one (cfg.json + sae_weights.safetensors) — copied into the home in lm-saes's
// layout and registered in the store. Analyses do not come with it: lm-saes's analyze runner writes them to MongoDB
// (runners/analyze.py → MongoClient.add_feature_analysis) or, without one, as Python pickles of per-feature dicts
// holding numpy arrays (save_analysis_to_file: <name>_analysis_<N>_features.pkl) that refer to the dataset's
// contexts by index and hold no tokens; SAELens has no analysis format. A pickle found in the folder is named in
// the result, not read; analyses come in through the MongoDB sync or its mongodump / Extended JSON folders.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { loadAnyDictionary, saveAnyDictionary } from '../dictionary/registry';
import { InputError } from '../errors';
import { dictionaryDir, type StudioHome } from '../home';
import { listAnalyses, listDictionaries, upsertDictionary, type Dictionary, type Store } from '../store';

export type DictionaryFolderFormat = 'lm-saes' | 'saelens';

/** Which format `dir` holds, or a one-line InputError naming the folder and what was expected. */
export function dictionaryFolderFormat(dir: string): DictionaryFolderFormat {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: no such folder`);
  if (existsSync(join(dir, 'config.json'))) return 'lm-saes';
  if (existsSync(join(dir, 'cfg.json'))) return 'saelens';
  throw new InputError(
    `${dir}: neither an lm-saes dictionary folder (config.json + sae_weights.safetensors) nor a SAELens one (cfg.json + sae_weights.safetensors)`,
  );
}

export interface ImportedDictionary {
  dictionary: Dictionary;
  format: DictionaryFolderFormat;
  /** Analyses imported with it (none: see the file header). */
  analyses: number;
  /** lm-saes analysis pickles found in the folder, not read (see the file header). */
  analysisPickles: string[];
}

const ANALYSIS_PICKLE = /_analysis_\d+_features\.pkl$/;

/**
 * Reads `dir` (every weight checked against its config, as loadAnyDictionary does), writes it to
 * dictionaries/<name>/ and registers it. An existing dictionary of that name is replaced only with `replace`.
 */
export function importDictionaryFolder(
  store: Store,
  home: StudioHome,
  dir: string,
  opts: { name?: string; series?: string; replace?: boolean } = {},
): ImportedDictionary {
  const source = resolve(dir);
  const format = dictionaryFolderFormat(source);
  const name = opts.name ?? basename(source);
  const target = dictionaryDir(home, name);
  if (!opts.replace && store.db.prepare('SELECT 1 FROM dictionaries WHERE name = ?').get(name) !== undefined)
    throw new InputError(
      `dictionary '${name}' already exists in the store (use --name to import under another name, or --replace)`,
    );
  if (target === source) throw new InputError(`${dir}: is already the store's folder of dictionary '${name}'`);
  const dict = loadAnyDictionary(source);
  // Checked before the folder is replaced: the store refuses a new d_sae under existing analyses.
  const existing = listDictionaries(store).find((d) => d.name === name);
  if (existing && existing.dSae !== dict.cfg.d_sae && listAnalyses(store, name).length > 0)
    throw new InputError(
      `dictionary '${name}': d_sae changes from ${existing.dSae} to ${dict.cfg.d_sae} but it has analyses; import under another --name`,
    );
  const modelName = typeof dict.lmConfig?.model_name === 'string' ? dict.lmConfig.model_name : dict.cfg.model_name;
  saveAnyDictionary(target, dict.kind, dict.cfg, dict.params, dict.lmConfig ? { lmConfig: dict.lmConfig } : {});
  const dictionary = upsertDictionary(store, {
    name,
    series: opts.series,
    path: target,
    config: dict.cfg as unknown as Record<string, unknown> & { d_sae: number },
    modelName: modelName ?? null,
  });
  const analysisPickles = readdirSync(source)
    .filter((f) => ANALYSIS_PICKLE.test(f))
    .sort();
  return { dictionary, format, analyses: 0, analysisPickles };
}

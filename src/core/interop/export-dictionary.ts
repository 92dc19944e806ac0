// Exports of the store's records as files other tools read, without a server: a dictionary as SAELens loads it
// (cfg.json + sae_weights.safetensors) or as lm-saes's from_pretrained does (config.json + sae_weights.safetensors
// + lm_config.json), and an attribution graph as the circuit-tracer / Neuronpedia graph JSON.
import { writeFileAtomic } from '../util/atomic-file';
import { InputError } from '../errors';
import { loadAnyDictionary, saveAnyDictionary, type AnyDictionary } from '../dictionary/registry';
import { exportSaeLens, type SaeLensMeta } from '../sae/formats/saelens';
import type { SaeConfig } from '../../protocol/dictionary-config';
import { getDictionary, getGraph, loadGraphJson, type Dictionary, type Store } from '../store';
import { latestRunConfigOf } from './run-of-dictionary';

/** What an export wrote, for the command's summary line. */
export interface ExportResult {
  what: string;
  path: string;
}

function loadStored(store: Store, name: string): { row: Dictionary; dict: AnyDictionary } {
  const row = getDictionary(store, name);
  return { row, dict: loadAnyDictionary(row.path) };
}

/** The SAELens metadata the store knows of a dictionary: from the run that trained it, when there is one. */
function saeLensMeta(store: Store, row: Dictionary): SaeLensMeta {
  const run = latestRunConfigOf(store, row.name);
  const meta: SaeLensMeta = {};
  const model = row.modelName ?? (typeof run?.model === 'string' ? run.model : undefined);
  if (model) meta.model_name = model;
  if (typeof run?.context_size === 'number') meta.context_size = run.context_size;
  if (typeof run?.dataset === 'string') meta.dataset_path = run.dataset;
  if (run) meta.prepend_bos = true; // SAE Studio's windows start with BOS (core/data/windows)
  return meta;
}

/**
 * `name` as a SAELens ≥ 6 directory. Only the `sae` kind (SAEs and transcoders) has a SAELens architecture; any
 * other kind is a one-line InputError naming it.
 */
export function exportDictionaryToSaeLens(store: Store, name: string, dir: string): ExportResult {
  const { row, dict } = loadStored(store, name);
  if (dict.kind.saeType !== 'sae')
    throw new InputError(
      `dictionary '${name}' is a ${dict.kind.saeType}: SAELens has no ${dict.kind.saeType} architecture (it holds standard, jumprelu and topk SAEs and transcoders); use --to lm-saes`,
    );
  exportSaeLens(dir, dict.cfg as unknown as SaeConfig, dict.params, saeLensMeta(store, row));
  return { what: `SAELens dictionary '${name}'`, path: dir };
}

/** `name` in lm-saes's layout for its kind, with lm_config.json recording the model and the activation basis. */
export function exportDictionaryToLmSaes(store: Store, name: string, dir: string): ExportResult {
  const { row, dict } = loadStored(store, name);
  const modelName = row.modelName ?? (typeof dict.cfg.model_name === 'string' ? dict.cfg.model_name : null);
  const lmConfig = dict.lmConfig ?? (modelName ? { model_name: modelName } : undefined);
  saveAnyDictionary(dir, dict.kind, dict.cfg, dict.params, lmConfig ? { lmConfig } : {});
  return { what: `lm-saes ${dict.kind.saeType} '${name}'`, path: dir };
}

/**
 * The stored graph `ref` (its name, or its uid) as the graph JSON circuit-tracer's and Neuronpedia's views load
 * (written atomically).
 */
export function exportGraphJson(store: Store, ref: string, file: string): ExportResult {
  const byUid = store.db.prepare('SELECT name FROM graphs WHERE uid = ?').pluck().get(ref) as string | undefined;
  const name = getGraph(store, ref) ? ref : (byUid ?? ref);
  if (!getGraph(store, name)) {
    const known = store.db.prepare('SELECT name FROM graphs ORDER BY name LIMIT 20').pluck().all() as string[];
    throw new InputError(
      `unknown graph '${name}' (${known.length ? `known: ${known.join(', ')}` : 'there are none yet'})`,
    );
  }
  const json = loadGraphJson(store, name);
  writeFileAtomic(file, `${JSON.stringify(json)}\n`);
  return { what: `graph '${name}' (${json.nodes.length} nodes, ${json.links.length} links)`, path: file };
}

// The store's other records as lm-saes documents (spec §1): models, datasets, saes, bookmarks, sae_sets, circuits
// (the graph JSON and full matrix as named GridFS files; lm-saes's own `attribution_id` blob is a torch.save
// pickle we do not imitate, so it stays null), and our training runs in a `studio_runs` collection of our own.
import type { Document } from 'bson';
import type Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseJson } from '../store/codec';
import { toLmSaesCfg } from '../store/lm-saes-documents';
import type {
  BookmarkRow,
  DictionaryRow,
  DictionarySetMemberRow,
  DictionarySetRow,
  GraphRow,
  ModelRow,
  RunCheckpointRow,
  RunMetricRow,
  RunRow,
} from '../store/rows';
import { derivedObjectId, isoDate, pyFloat, pyInt } from './bson-values';
import type { DocumentSink } from './sink';

export function catalogDocument(collection: 'models' | 'datasets', row: ModelRow): Document {
  return {
    _id: derivedObjectId(collection, row.name),
    name: row.name,
    cfg: parseJson(row.cfg, `${collection} '${row.name}'`),
    studio_created_at: row.created_at,
  };
}

export function saeDocument(row: DictionaryRow, weights: { file: string; id: unknown }[] | null): Document {
  const config = parseJson<Record<string, unknown>>(row.config, `dictionary '${row.name}'`);
  return {
    _id: derivedObjectId('saes', row.name, row.series),
    name: row.name,
    series: row.series,
    path: row.path,
    cfg: toLmSaesCfg(config, row.d_sae, row.sae_type),
    model_name: row.model_name,
    studio_sae_type: row.sae_type,
    studio_d_sae: pyInt(row.d_sae),
    studio_config: row.config,
    studio_metrics: row.metrics,
    studio_created_at: row.created_at,
    studio_updated_at: row.updated_at,
    ...(weights ? { studio_weights: weights } : {}),
  };
}

export function bookmarkDocument(row: BookmarkRow, dict: DictionaryRow): Document {
  return {
    _id: derivedObjectId('bookmarks', dict.name, dict.series, String(row.feature_index)),
    sae_name: dict.name,
    sae_series: dict.series,
    feature_index: pyInt(row.feature_index),
    created_at: isoDate(row.created_at, `bookmark of ${dict.name}#${row.feature_index}`),
    tags: parseJson<string[]>(row.tags, 'bookmark tags'),
    notes: row.note,
    studio_created_at: row.created_at,
  };
}

export function saeSetDocument(row: DictionarySetRow, members: DictionarySetMemberRow[], series: string): Document {
  return {
    _id: derivedObjectId('sae_sets', row.name),
    name: row.name,
    sae_series: series,
    sae_names: members.map((m) => m.dictionary_name),
    studio_roles: members.map((m) => m.role),
    studio_model_name: row.model_name,
    studio_description: row.description,
    studio_created_at: row.created_at,
    studio_updated_at: row.updated_at,
  };
}

const CIRCUIT_STATUS: Record<GraphRow['status'], string> = {
  running: 'running',
  done: 'completed',
  failed: 'failed',
  cancelled: 'failed',
};

/** lm-saes's circuit config (its defaults where our settings have no such field). */
function circuitConfig(settings: Record<string, unknown>): Document {
  const num = (key: string, fallback: number) => (typeof settings[key] === 'number' ? settings[key] : fallback);
  return {
    desired_logit_prob: pyFloat(num('desired_logit_prob', 0.98)),
    max_feature_nodes: pyInt(num('max_feature_nodes', 256)),
    qk_tracing_topk: pyInt(num('qk_tracing_topk', 10)),
    max_n_logits: pyInt(num('max_n_logits', 1)),
    list_of_features: null,
  };
}

/** A graph as a `circuits` document; its JSON and matrix go to GridFS as `circuit_<id>_graph.json` / `_matrix`. */
export async function circuitDocument(
  row: GraphRow,
  storeDir: string,
  series: string,
  sink: DocumentSink,
): Promise<Document> {
  const id = derivedObjectId('circuits', row.uid);
  const named = async (file: string | null, suffix: string) => {
    if (!file) return null;
    const bytes = new Uint8Array(readFileSync(join(storeDir, file)));
    const filename = `circuit_${id.toHexString()}_${suffix}`;
    const fileId = derivedObjectId('file', filename, bytes);
    await sink.file({ id: fileId, filename, bytes });
    return fileId;
  };
  const settings = parseJson<Record<string, unknown>>(row.settings, `graph '${row.name}'`);
  const promptIds = new Int32Array(new Uint8Array(row.prompt_ids).buffer);
  return {
    _id: id,
    name: row.name,
    group: null,
    parent_id: null,
    sae_set_name: row.dictionary_set ?? '',
    sae_series: series,
    prompt: row.prompt,
    input: { input_type: 'plain_text', text: row.prompt },
    config: circuitConfig(settings),
    created_at: isoDate(row.created_at, `graph '${row.name}'`),
    status: CIRCUIT_STATUS[row.status],
    progress: pyFloat(row.progress * 100),
    progress_phase: null,
    error_message: row.error,
    attribution_id: null,
    studio_uid: row.uid,
    studio_prompt_ids: Array.from(promptIds, pyInt),
    studio_dictionary_set: row.dictionary_set,
    studio_model_name: row.model_name,
    studio_settings: row.settings,
    studio_status: row.status,
    studio_progress: pyFloat(row.progress),
    studio_n_nodes: row.n_nodes === null ? null : pyInt(row.n_nodes),
    studio_n_links: row.n_links === null ? null : pyInt(row.n_links),
    studio_graph_json_id: await named(row.json_file, 'graph.json'),
    studio_matrix_id: await named(row.matrix_file, 'matrix.safetensors'),
    studio_created_at: row.created_at,
    studio_updated_at: row.updated_at,
    studio_finished_at: row.finished_at,
  };
}

export function runDocument(db: Database.Database, row: RunRow): Document {
  const metrics = db.prepare('SELECT * FROM run_metrics WHERE run_id = ? ORDER BY step').all(row.id) as RunMetricRow[];
  const checkpoints = db
    .prepare('SELECT * FROM run_checkpoints WHERE run_id = ? ORDER BY step')
    .all(row.id) as RunCheckpointRow[];
  return {
    _id: derivedObjectId('studio_runs', row.id),
    id: row.id,
    run: { ...row },
    metrics: metrics.map((m) => ({ step: pyInt(m.step), tokens: pyInt(m.tokens), metrics: m.metrics })),
    checkpoints: checkpoints.map((c) => ({
      step: pyInt(c.step),
      tokens: pyInt(c.tokens),
      path: c.path,
      created_at: c.created_at,
    })),
  };
}

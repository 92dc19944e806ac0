// The other lm-saes documents back into rows: models, datasets, saes (with their weights when GridFS has them),
// bookmarks, sae_sets, circuits (the graph JSON and matrix from their named GridFS files) and our runs.
import type { Document, ObjectId } from 'bson';
import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors';
import { dictionaryDir, type StudioHome } from '../home';
import { nowIso } from '../store/codec';
import { GRAPHS_DIR } from '../store/graphs';
import { writeFileAtomic } from '../util/atomic-file';
import type { FileBytes } from './import-features';
import { recordName } from './schema';

const json = (v: unknown): string => JSON.stringify(v);
const hex = (id: unknown): string | null =>
  id && typeof id === 'object' && 'toHexString' in id ? (id as ObjectId).toHexString() : null;

export function importCatalog(db: Database.Database, table: 'models' | 'datasets', doc: Document): void {
  db.prepare(
    `INSERT INTO ${table} (name, cfg, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET cfg = excluded.cfg`,
  ).run(doc.name, json(doc.cfg), doc.studio_created_at ?? nowIso());
}

/** d_sae of a lab's `saes` document: lm-saes stores d_model and expansion_factor. */
function dSaeOf(doc: Document, where: string): number {
  const cfg = doc.cfg as Record<string, unknown>;
  if (typeof doc.studio_d_sae === 'number') return doc.studio_d_sae;
  if (typeof cfg.d_sae === 'number') return cfg.d_sae;
  if (typeof cfg.d_model === 'number' && typeof cfg.expansion_factor === 'number')
    return Math.trunc(cfg.d_model * cfg.expansion_factor);
  throw new InputError(`${where}: field 'cfg.expansion_factor' (with cfg.d_model) is missing, expected a number`);
}

export function importSae(db: Database.Database, doc: Document, files: FileBytes, home: StudioHome | null): void {
  const where = recordName('saes', doc, ['name', 'series']);
  const cfg = doc.cfg as Record<string, unknown>;
  const dSae = dSaeOf(doc, where);
  let path = doc.path as string;
  const weights = doc.studio_weights as { file: string; id: ObjectId }[] | undefined;
  if (weights && home) {
    path = dictionaryDir(home, doc.name as string);
    mkdirSync(path, { recursive: true });
    for (const w of weights) {
      const bytes = files.get(hex(w.id) ?? '');
      if (!bytes) throw new InputError(`${where}: GridFS file ${hex(w.id)} (weights ${w.file}) is missing`);
      writeFileAtomic(join(path, w.file), bytes);
    }
  }
  const now = nowIso();
  db.prepare(
    `INSERT INTO dictionaries (name, series, path, sae_type, d_sae, model_name, config, metrics, created_at, updated_at)
     VALUES (@name, @series, @path, @sae_type, @d_sae, @model_name, @config, @metrics, @created_at, @updated_at)
     ON CONFLICT (name) DO UPDATE SET series = @series, path = @path, sae_type = @sae_type, d_sae = @d_sae,
     model_name = @model_name, config = @config, metrics = @metrics, updated_at = @updated_at`,
  ).run({
    name: doc.name,
    series: doc.series,
    path,
    sae_type: doc.studio_sae_type ?? cfg.sae_type,
    d_sae: dSae,
    model_name: doc.model_name ?? null,
    config: doc.studio_config ?? json({ ...cfg, d_sae: dSae }),
    metrics: doc.studio_metrics ?? null,
    created_at: doc.studio_created_at ?? now,
    updated_at: doc.studio_updated_at ?? now,
  });
}

export function importBookmark(db: Database.Database, dictionaryId: number, doc: Document): void {
  db.prepare(
    `INSERT INTO bookmarks (dictionary_id, feature_index, tags, note, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (dictionary_id, feature_index) DO UPDATE SET tags = excluded.tags, note = excluded.note`,
  ).run(
    dictionaryId,
    doc.feature_index,
    json(doc.tags),
    doc.notes ?? null,
    doc.studio_created_at ?? (doc.created_at as Date).toISOString(),
  );
}

export function importSaeSet(db: Database.Database, doc: Document): void {
  const where = recordName('sae_sets', doc, ['name']);
  const names = doc.sae_names as string[];
  const roles = (doc.studio_roles as string[] | undefined) ?? [];
  const now = nowIso();
  db.prepare('DELETE FROM dictionary_sets WHERE name = ?').run(doc.name);
  const id = db
    .prepare(
      'INSERT INTO dictionary_sets (name, model_name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
    )
    .run(
      doc.name,
      doc.studio_model_name ?? null,
      doc.studio_description ?? null,
      doc.studio_created_at ?? now,
      doc.studio_updated_at ?? now,
    ).lastInsertRowid;
  const insert = db.prepare(
    'INSERT INTO dictionary_set_members (set_id, position, dictionary_name, role) VALUES (?, ?, ?, ?)',
  );
  names.forEach((name, position) => {
    const type = db.prepare('SELECT sae_type FROM dictionaries WHERE name = ?').pluck().get(name) as string | undefined;
    if (type === undefined)
      throw new InputError(
        `${where}: field 'sae_names[${position}]' names dictionary '${name}', which is not in the store`,
      );
    insert.run(id, position, name, roles[position] ?? (type === 'lorsa' ? 'attn' : 'mlp'));
  });
}

const STATUS: Record<string, string> = { pending: 'running', running: 'running', completed: 'done', failed: 'failed' };

export function importCircuit(db: Database.Database, storeDir: string, doc: Document, files: FileBytes): void {
  const where = recordName('circuits', doc, ['_id']);
  const idHex = hex(doc._id)!;
  const uid = (doc.studio_uid as string | undefined) ?? idHex;
  const name = (doc.name as string | null) ?? `circuit-${idHex}`;
  const put = (ref: unknown, suffix: string): string | null => {
    const h = hex(ref);
    if (!h) return null;
    const bytes = files.get(h);
    if (!bytes) throw new InputError(`${where}: GridFS file ${h} (${suffix}) is missing`);
    mkdirSync(join(storeDir, GRAPHS_DIR), { recursive: true });
    const rel = `${GRAPHS_DIR}/${uid}.${suffix}`;
    writeFileAtomic(join(storeDir, rel), bytes);
    return rel;
  };
  const promptIds = Int32Array.from((doc.studio_prompt_ids as number[] | undefined) ?? []);
  const created = (doc.studio_created_at as string | undefined) ?? (doc.created_at as Date).toISOString();
  db.prepare('DELETE FROM graphs WHERE name = ? OR uid = ?').run(name, uid);
  db.prepare(
    `INSERT INTO graphs (uid, name, prompt, prompt_ids, dictionary_set, model_name, settings, status, progress, error,
     n_nodes, n_links, matrix_file, json_file, created_at, updated_at, finished_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    uid,
    name,
    doc.prompt,
    Buffer.from(promptIds.buffer),
    doc.studio_dictionary_set !== undefined ? doc.studio_dictionary_set : doc.sae_set_name || null,
    doc.studio_model_name ?? null,
    doc.studio_settings ?? json(doc.config ?? {}),
    doc.studio_status ?? STATUS[doc.status as string] ?? 'failed',
    doc.studio_progress ?? Math.min(1, Math.max(0, (doc.progress as number) / 100)),
    doc.error_message ?? null,
    doc.studio_n_nodes ?? null,
    doc.studio_n_links ?? null,
    put(doc.studio_matrix_id, 'safetensors'),
    put(doc.studio_graph_json_id, 'json'),
    created,
    doc.studio_updated_at ?? created,
    doc.studio_finished_at ?? null,
  );
}

export function importRun(db: Database.Database, doc: Document): void {
  const run = doc.run as Record<string, unknown>;
  db.prepare('DELETE FROM runs WHERE id = ?').run(doc.id);
  db.prepare(
    `INSERT INTO runs (id, dictionary_name, config, status, error, started_at, updated_at, finished_at)
     VALUES (@id, @dictionary_name, @config, @status, @error, @started_at, @updated_at, @finished_at)`,
  ).run(run);
  const metric = db.prepare('INSERT INTO run_metrics (run_id, step, tokens, metrics) VALUES (?, ?, ?, ?)');
  for (const m of doc.metrics as Document[]) metric.run(doc.id, m.step, m.tokens, m.metrics);
  const ckpt = db.prepare(
    'INSERT INTO run_checkpoints (run_id, step, tokens, path, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  for (const c of doc.checkpoints as Document[]) ckpt.run(doc.id, c.step, c.tokens, c.path, c.created_at);
}

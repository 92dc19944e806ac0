// Attribution graphs (lm-saes `circuits`): a row per graph — name, prompt and its token ids, the dictionary set,
// the settings, the job's status and progress — and two files beside the database, graphs/<uid>.safetensors (the
// full matrix, see graph-files.ts) and graphs/<uid>.json (the pruned graph JSON the view loads). Files are written
// atomically before the transaction that points the row at them; a killed save leaves an unreferenced file that
// removeOrphanGraphFiles deletes, never a row pointing at half a file.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AttributionGraph } from '../../protocol/circuits/graph';
import { GraphJsonSchema, type GraphJson } from '../../protocol/circuits/graph-json';
import { GraphJsonError, graphFromJson, parseGraphJson } from '../../protocol/circuits/graph-json-import';
import { InputError } from '../errors';
import { writeFileAtomic } from '../util/atomic-file';
import { selectList } from './columns';
import { arrayBlob, int32FromBlob, nowIso, parseJson } from './codec';
import { assertWriter, type Store } from './database';
import { readGraphMatrix, writeGraphMatrix } from './graph-files';
import { GRAPH_COLUMNS, RUN_STATUSES, type GraphRow, type RunStatus } from './rows';

/** The folder beside studio.db that holds the graphs' files. */
export const GRAPHS_DIR = 'graphs';

export interface GraphInput {
  name: string;
  prompt: string;
  promptIds: readonly number[];
  dictionarySet?: string | null;
  modelName?: string | null;
  /** The attribution settings (lm-saes names: max_feature_nodes, desired_logit_prob, …). */
  settings: Readonly<Record<string, unknown>>;
}

export interface GraphRecord {
  name: string;
  uid: string;
  prompt: string;
  promptIds: number[];
  dictionarySet: string | null;
  modelName: string | null;
  settings: Record<string, unknown>;
  status: RunStatus;
  /** 0…1. */
  progress: number;
  error: string | null;
  nNodes: number | null;
  nLinks: number | null;
  /** Whether the full matrix / the pruned JSON are stored (an imported graph has only its JSON). */
  hasMatrix: boolean;
  hasJson: boolean;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

function recordFromRow(row: GraphRow): GraphRecord {
  return {
    name: row.name,
    uid: row.uid,
    prompt: row.prompt,
    promptIds: [...int32FromBlob(row.prompt_ids, `graph '${row.name}'`)],
    dictionarySet: row.dictionary_set,
    modelName: row.model_name,
    settings: parseJson(row.settings, `graph '${row.name}'`),
    status: row.status,
    progress: row.progress,
    error: row.error,
    nNodes: row.n_nodes,
    nLinks: row.n_links,
    hasMatrix: row.matrix_file !== null,
    hasJson: row.json_file !== null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

function findRow(store: Store, name: string): GraphRow | undefined {
  return store.db.prepare(`SELECT ${selectList(GRAPH_COLUMNS)} FROM graphs WHERE name = ?`).get(name) as
    GraphRow | undefined;
}

function requireRow(store: Store, name: string): GraphRow {
  const row = findRow(store, name);
  if (!row) throw new InputError(`no graph named '${name}' in ${store.file}`);
  return row;
}

function insertRow(store: Store, input: GraphInput, status: RunStatus, progress: number): void {
  if (input.name.trim() === '') throw new InputError('graph: the name must not be empty');
  if (findRow(store, input.name)) throw new InputError(`a graph named '${input.name}' already exists in ${store.file}`);
  const now = nowIso();
  store.db
    .prepare(
      `INSERT INTO graphs (uid, name, prompt, prompt_ids, dictionary_set, model_name, settings, status, progress, created_at, updated_at)
       VALUES (@uid, @name, @prompt, @prompt_ids, @dictionary_set, @model_name, @settings, @status, @progress, @now, @now)`,
    )
    .run({
      uid: randomUUID(),
      name: input.name,
      prompt: input.prompt,
      prompt_ids: arrayBlob(Int32Array.from(input.promptIds)),
      dictionary_set: input.dictionarySet ?? null,
      model_name: input.modelName ?? null,
      settings: JSON.stringify(input.settings),
      status,
      progress,
      now,
    });
}

/** Records a graph about to be computed: status 'running', progress 0. A name already taken is an InputError. */
export function createGraph(store: Store, input: GraphInput): GraphRecord {
  assertWriter(store, 'creating a graph');
  insertRow(store, input, 'running', 0);
  return getGraph(store, input.name)!;
}

/** Progress of a running graph (0…1). */
export function setGraphProgress(store: Store, name: string, progress: number): void {
  assertWriter(store, 'updating a graph');
  if (!(progress >= 0 && progress <= 1))
    throw new InputError(`graph '${name}': progress ${progress} is outside [0, 1]`);
  const row = requireRow(store, name);
  if (row.status !== 'running') throw new InputError(`graph '${name}' is ${row.status}, not running`);
  store.db.prepare('UPDATE graphs SET progress = ?, updated_at = ? WHERE id = ?').run(progress, nowIso(), row.id);
}

/** Ends a graph without a result ('failed' with its error, or 'cancelled'), or marks one running again. */
export function setGraphStatus(
  store: Store,
  name: string,
  status: RunStatus,
  error: string | null = null,
): GraphRecord {
  assertWriter(store, 'updating a graph');
  if (!RUN_STATUSES.includes(status)) throw new InputError(`graph '${name}': unknown status '${status}'`);
  const row = requireRow(store, name);
  const now = nowIso();
  store.db
    .prepare('UPDATE graphs SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?')
    .run(status, error, now, status === 'running' ? null : now, row.id);
  return getGraph(store, name)!;
}

function writeFiles(
  store: Store,
  uid: string,
  graph: AttributionGraph | null,
  json: GraphJson,
): {
  matrix: string | null;
  json: string;
} {
  mkdirSync(join(store.dir, GRAPHS_DIR), { recursive: true });
  const matrix = graph ? `${GRAPHS_DIR}/${uid}.safetensors` : null;
  if (graph && matrix) writeGraphMatrix(join(store.dir, matrix), graph);
  const jsonFile = `${GRAPHS_DIR}/${uid}.json`;
  writeFileAtomic(join(store.dir, jsonFile), JSON.stringify(json));
  return { matrix, json: jsonFile };
}

/**
 * Stores a computed graph: the full matrix and the pruned JSON (files first, atomically), then in one transaction
 * the row's files, sizes, status 'done' and progress 1.
 */
export function saveGraphResult(
  store: Store,
  name: string,
  result: { graph: AttributionGraph; json: GraphJson },
): GraphRecord {
  assertWriter(store, 'saving a graph');
  const row = requireRow(store, name);
  const files = writeFiles(store, row.uid, result.graph, result.json);
  const now = nowIso();
  store.db
    .prepare(
      `UPDATE graphs SET matrix_file = ?, json_file = ?, n_nodes = ?, n_links = ?, status = 'done', progress = 1,
       error = NULL, updated_at = ?, finished_at = ? WHERE id = ?`,
    )
    .run(files.matrix, files.json, result.graph.nodes.length, result.json.links.length, now, now, row.id);
  return getGraph(store, name)!;
}

/** Stores a graph JSON made elsewhere (circuit-tracer, Neuronpedia, an export): its row and JSON, no matrix. */
export function importGraph(
  store: Store,
  input: { name: string; json: unknown; dictionarySet?: string | null; modelName?: string | null },
): GraphRecord {
  assertWriter(store, 'importing a graph');
  let json: GraphJson;
  let imported: ReturnType<typeof graphFromJson>;
  try {
    json = parseGraphJson(input.json); // validates and fills the optional fields
    imported = graphFromJson(json);
  } catch (e) {
    throw e instanceof GraphJsonError ? new InputError(`graph '${input.name}': ${e.message}`) : e;
  }
  const save = store.db.transaction(() => {
    insertRow(
      store,
      {
        name: input.name,
        prompt: imported.metadata.prompt,
        promptIds: imported.graph.promptIds,
        dictionarySet: input.dictionarySet ?? null,
        modelName: input.modelName ?? null,
        settings: imported.graph.settings,
      },
      'done',
      1,
    );
    const row = requireRow(store, input.name);
    const files = writeFiles(store, row.uid, null, json);
    const now = nowIso();
    store.db
      .prepare('UPDATE graphs SET json_file = ?, n_nodes = ?, n_links = ?, finished_at = ? WHERE id = ?')
      .run(files.json, json.nodes.length, json.links.length, now, row.id);
  });
  save.immediate();
  return getGraph(store, input.name)!;
}

export function getGraph(store: Store, name: string): GraphRecord | null {
  const row = findRow(store, name);
  return row ? recordFromRow(row) : null;
}

/** Newest first. */
export function listGraphs(store: Store, options: { limit?: number; offset?: number } = {}): GraphRecord[] {
  const rows = store.db
    .prepare(`SELECT ${selectList(GRAPH_COLUMNS)} FROM graphs ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
    .all(options.limit ?? -1, options.offset ?? 0) as GraphRow[];
  return rows.map(recordFromRow);
}

/** The full graph (every computed row); an InputError for a graph without a stored matrix. */
export function loadGraph(store: Store, name: string): AttributionGraph {
  const row = requireRow(store, name);
  if (!row.matrix_file) throw new InputError(`graph '${name}' has no stored matrix (status ${row.status})`);
  return readGraphMatrix(join(store.dir, row.matrix_file));
}

/** The pruned graph JSON the view loads. */
export function loadGraphJson(store: Store, name: string): GraphJson {
  const row = requireRow(store, name);
  if (!row.json_file) throw new InputError(`graph '${name}' has no stored JSON (status ${row.status})`);
  const path = join(store.dir, row.json_file);
  return GraphJsonSchema.parse(parseJson(readFileSync(path, 'utf8'), path));
}

/** Removes a graph's row, then its files; false when there was none of that name. */
export function removeGraph(store: Store, name: string): boolean {
  assertWriter(store, 'removing a graph');
  const row = findRow(store, name);
  if (!row) return false;
  store.db.prepare('DELETE FROM graphs WHERE id = ?').run(row.id);
  for (const file of [row.matrix_file, row.json_file]) if (file) rmSync(join(store.dir, file), { force: true });
  return true;
}

/** Deletes files in graphs/ of no graph row that are older than `olderThanMs` (left by killed saves). */
export function removeOrphanGraphFiles(store: Store, options: { olderThanMs?: number } = {}): string[] {
  assertWriter(store, 'removing orphan graph files');
  const dir = join(store.dir, GRAPHS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const uids = new Set(store.db.prepare('SELECT uid FROM graphs').pluck().all() as string[]);
  const cutoff = Date.now() - (options.olderThanMs ?? 3_600_000);
  const removed: string[] = [];
  for (const name of names) {
    const uid = name.replace(/^\./, '').split('.')[0]!;
    const path = join(dir, name);
    const stat = statSync(path);
    const temporary = name.endsWith('.tmp'); // a write killed before its rename
    if ((uids.has(uid) && !temporary) || !stat.isFile() || stat.mtimeMs > cutoff) continue;
    rmSync(path, { force: true });
    removed.push(name);
  }
  return removed;
}

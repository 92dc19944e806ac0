// Training runs: status, the metrics time series (one row per logged step) and the checkpoints written so far.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { InputError } from '../errors';
import { insertSql, selectList } from './columns';
import { nowIso, numbersFromJson, numbersToJson, parseJson } from './codec';
import { assertWriter, type Store } from './database';
import {
  RUN_CHECKPOINT_COLUMNS,
  RUN_COLUMNS,
  RUN_METRIC_COLUMNS,
  RUN_STATUSES,
  type RunCheckpointRow,
  type RunMetricRow,
  type RunRow,
  type RunStatus,
} from './rows';

export interface RunCheckpoint {
  step: number;
  tokens: number;
  path: string;
  createdAt: string;
}

export interface Run {
  id: string;
  dictionaryName: string;
  config: Record<string, unknown>;
  status: RunStatus;
  error: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
  /** Oldest first. */
  checkpoints: RunCheckpoint[];
  /** The last step with metrics, or null before the first. */
  lastStep: number | null;
}

export interface RunMetricPoint {
  step: number;
  tokens: number;
  /** e.g. { loss, mse, l0, explained_variance, lr }; NaN and ±Infinity survive the round trip. */
  values: Readonly<Record<string, number>>;
}

const TERMINAL: ReadonlySet<RunStatus> = new Set(['done', 'failed', 'cancelled']);

function requireRunRow(db: Database.Database, id: string): RunRow {
  const row = db.prepare(`SELECT ${selectList(RUN_COLUMNS)} FROM runs WHERE id = ?`).get(id) as RunRow | undefined;
  if (!row) throw new InputError(`unknown run '${id}'`);
  return row;
}

function runFromRow(db: Database.Database, row: RunRow): Run {
  const checkpoints = db
    .prepare(`SELECT ${selectList(RUN_CHECKPOINT_COLUMNS)} FROM run_checkpoints WHERE run_id = ? ORDER BY step`)
    .all(row.id) as RunCheckpointRow[];
  const lastStep = db.prepare('SELECT max(step) FROM run_metrics WHERE run_id = ?').pluck().get(row.id) as
    number | null;
  return {
    id: row.id,
    dictionaryName: row.dictionary_name,
    config: parseJson(row.config, `run '${row.id}'`),
    status: row.status,
    error: row.error,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
    checkpoints: checkpoints.map((c) => ({ step: c.step, tokens: c.tokens, path: c.path, createdAt: c.created_at })),
    lastStep,
  };
}

/** Starts a run in status 'running'; `id` defaults to a random UUID (the CLI passes its runs/<id>/ folder name). */
export function createRun(
  store: Store,
  input: { id?: string; dictionaryName: string; config: Readonly<Record<string, unknown>> },
): Run {
  assertWriter(store, 'creating a run');
  const id = input.id ?? randomUUID();
  if (id.trim() === '') throw new InputError('run id: must not be empty');
  const now = nowIso();
  const row: RunRow = {
    id,
    dictionary_name: input.dictionaryName,
    config: JSON.stringify(input.config),
    status: 'running',
    error: null,
    started_at: now,
    updated_at: now,
    finished_at: null,
  };
  try {
    store.db.prepare(insertSql('runs', RUN_COLUMNS)).run(row);
  } catch (e) {
    if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
      throw new InputError(`run '${id}' already exists`);
    throw e;
  }
  return runFromRow(store.db, row);
}

export function getRun(store: Store, id: string): Run {
  return runFromRow(store.db, requireRunRow(store.db, id));
}

/** Sets the status ('done', 'failed' and 'cancelled' also set finished_at; 'running' clears it, for a resume). */
export function updateRunStatus(
  store: Store,
  id: string,
  status: RunStatus,
  options: { error?: string | null } = {},
): Run {
  assertWriter(store, 'updating a run');
  if (!RUN_STATUSES.includes(status))
    throw new InputError(`run status '${String(status)}': expected one of ${RUN_STATUSES.join(', ')}`);
  const db = store.db;
  requireRunRow(db, id);
  const now = nowIso();
  db.prepare('UPDATE runs SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?').run(
    status,
    options.error ?? null,
    now,
    TERMINAL.has(status) ? now : null,
    id,
  );
  return getRun(store, id);
}

/**
 * Appends a batch of metric points in one transaction (call it every few hundred steps, not every step). A step
 * logged again (a run resumed from an earlier checkpoint) replaces the earlier point.
 */
export function appendRunMetrics(store: Store, id: string, points: readonly RunMetricPoint[]): void {
  assertWriter(store, 'saving run metrics');
  const db = store.db;
  const insert = db.prepare(insertSql('run_metrics', RUN_METRIC_COLUMNS).replace('INSERT', 'INSERT OR REPLACE'));
  db.transaction(() => {
    requireRunRow(db, id);
    for (const p of points) {
      if (!Number.isInteger(p.step) || p.step < 0)
        throw new InputError(`run '${id}': metric step ${p.step} is not a non-negative integer`);
      const row: RunMetricRow = { run_id: id, step: p.step, tokens: p.tokens, metrics: numbersToJson(p.values) };
      insert.run(row);
    }
    db.prepare('UPDATE runs SET updated_at = ? WHERE id = ?').run(nowIso(), id);
  }).immediate();
}

/** Metric points in step order, from `fromStep` on (inclusive), at most `limit` of them. */
export function getRunMetrics(
  store: Store,
  id: string,
  options: { fromStep?: number; limit?: number } = {},
): RunMetricPoint[] {
  requireRunRow(store.db, id);
  const rows = store.db
    .prepare(
      `SELECT ${selectList(RUN_METRIC_COLUMNS)} FROM run_metrics WHERE run_id = ? AND step >= ? ORDER BY step LIMIT ?`,
    )
    .all(id, options.fromStep ?? 0, options.limit ?? -1) as RunMetricRow[];
  return rows.map((r) => ({
    step: r.step,
    tokens: r.tokens,
    values: numbersFromJson(r.metrics, `run '${id}' step ${r.step}`),
  }));
}

/** Records a complete checkpoint (call it after the checkpoint folder has been renamed into place). */
export function addRunCheckpoint(
  store: Store,
  id: string,
  checkpoint: { step: number; tokens: number; path: string },
): Run {
  assertWriter(store, 'recording a checkpoint');
  const db = store.db;
  db.transaction(() => {
    requireRunRow(db, id);
    const row: RunCheckpointRow = {
      run_id: id,
      step: checkpoint.step,
      tokens: checkpoint.tokens,
      path: checkpoint.path,
      created_at: nowIso(),
    };
    db.prepare(insertSql('run_checkpoints', RUN_CHECKPOINT_COLUMNS).replace('INSERT', 'INSERT OR REPLACE')).run(row);
    db.prepare('UPDATE runs SET updated_at = ? WHERE id = ?').run(row.created_at, id);
  }).immediate();
  return getRun(store, id);
}

/** Most recently updated first. */
export function listRecentRuns(
  store: Store,
  options: { limit?: number; status?: RunStatus; dictionaryName?: string } = {},
): Run[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (options.status !== undefined) {
    where.push('status = ?');
    params.push(options.status);
  }
  if (options.dictionaryName !== undefined) {
    where.push('dictionary_name = ?');
    params.push(options.dictionaryName);
  }
  const sql = `SELECT ${selectList(RUN_COLUMNS)} FROM runs ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY updated_at DESC, rowid DESC LIMIT ?`;
  const rows = store.db.prepare(sql).all(...params, options.limit ?? 20) as RunRow[];
  return rows.map((r) => runFromRow(store.db, r));
}

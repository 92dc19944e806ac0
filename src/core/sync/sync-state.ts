// What the store remembers of each sync target (migration 0005): a hash per record as last pushed (`local:`
// collections) or last pulled (`remote:`), the interpretation text last agreed on (`interpretation`), one row per
// sync run, and the conflict log.
import { createHash } from 'node:crypto';
import { EJSON, type Document } from 'bson';
import { assertWriter, type Store } from '../store/database';
import { nowIso } from '../store/codec';
import type { SyncConflictRow, SyncRunRow } from '../store/rows';

export const docHash = (doc: Document): string =>
  createHash('sha256')
    .update(EJSON.stringify(doc, { relaxed: false }))
    .digest('hex');

export const textHash = (text: string | null): string =>
  text === null ? 'none' : createHash('sha256').update(text, 'utf8').digest('hex');

export interface SyncState {
  get(collection: string, key: string): string | undefined;
  set(collection: string, key: string, hash: string): void;
  /** Every key of a collection with its hash. */
  all(collection: string): Map<string, string>;
}

export function syncState(store: Store, target: string): SyncState {
  const get = store.db.prepare('SELECT hash FROM sync_records WHERE target = ? AND collection = ? AND record_key = ?');
  const set = store.db.prepare(
    `INSERT INTO sync_records (target, collection, record_key, hash, synced_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (target, collection, record_key) DO UPDATE SET hash = excluded.hash, synced_at = excluded.synced_at`,
  );
  const all = store.db.prepare('SELECT record_key, hash FROM sync_records WHERE target = ? AND collection = ?');
  return {
    get: (collection, key) => get.pluck().get(target, collection, key) as string | undefined,
    set: (collection, key, hash) => {
      assertWriter(store, 'recording sync state');
      set.run(target, collection, key, hash, nowIso());
    },
    all: (collection) =>
      new Map(
        (all.all(target, collection) as { record_key: string; hash: string }[]).map((r) => [r.record_key, r.hash]),
      ),
  };
}

export function startSyncRun(store: Store, target: string, direction: 'push' | 'pull'): number {
  assertWriter(store, 'recording a sync run');
  return Number(
    store.db
      .prepare(
        "INSERT INTO sync_runs (target, direction, status, counts, started_at) VALUES (?, ?, 'running', '{}', ?)",
      )
      .run(target, direction, nowIso()).lastInsertRowid,
  );
}

export function finishSyncRun(
  store: Store,
  id: number,
  status: 'done' | 'failed',
  counts: Record<string, unknown>,
  error: string | null = null,
): void {
  store.db
    .prepare('UPDATE sync_runs SET status = ?, counts = ?, error = ?, finished_at = ? WHERE id = ?')
    .run(status, JSON.stringify(counts), error, nowIso(), id);
}

export function listSyncRuns(store: Store, options: { target?: string; limit?: number } = {}): SyncRunRow[] {
  return store.db
    .prepare(`SELECT * FROM sync_runs ${options.target ? 'WHERE target = @target' : ''} ORDER BY id DESC LIMIT @limit`)
    .all({ ...(options.target ? { target: options.target } : {}), limit: options.limit ?? 20 }) as SyncRunRow[];
}

export type ConflictInput = Omit<SyncConflictRow, 'id' | 'resolved_at'>;

export function logConflict(store: Store, conflict: ConflictInput): void {
  assertWriter(store, 'logging a sync conflict');
  store.db
    .prepare(
      `INSERT INTO sync_conflicts (target, collection, record_key, field, winner, local_value, remote_value,
       local_updated_at, remote_updated_at, resolved_at) VALUES (@target, @collection, @record_key, @field, @winner,
       @local_value, @remote_value, @local_updated_at, @remote_updated_at, @resolved_at)`,
    )
    .run({ ...conflict, resolved_at: nowIso() });
}

export function listConflicts(store: Store, options: { target?: string; limit?: number } = {}): SyncConflictRow[] {
  return store.db
    .prepare(
      `SELECT * FROM sync_conflicts ${options.target ? 'WHERE target = @target' : ''} ORDER BY id DESC LIMIT @limit`,
    )
    .all({ ...(options.target ? { target: options.target } : {}), limit: options.limit ?? 100 }) as SyncConflictRow[];
}

// Analyses on their way in or out of the store, under reserved names that readers never see. A large analysis is
// saved in many short transactions (so that another process waiting for the write lock — the app saving an
// interpretation, a run recording its metrics — waits for one chunk, not for the whole save) under a staging name,
// and becomes visible in one short transaction at the end, which also renames the analysis it replaces out of sight;
// the replaced one's rows are then deleted in chunks. Each reserved name carries the pid and start time of the
// process doing the work, so a writer opening the store removes what a killed process left, and never the rows of
// a save still under way in another process.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { processAlive, processStartTime } from '../util/pid-lock';

/** Analysis names starting with this are reserved (user names may not start with it). */
export const RESERVED_ANALYSIS_PREFIX = '~';
/** SQL: the analyses readers may see. */
export const VISIBLE_ANALYSIS = `substr(name, 1, 1) <> '${RESERVED_ANALYSIS_PREFIX}'`;

/** Rows deleted per transaction when an analysis is removed in chunks. */
const DELETE_CHUNK = 5000;

export type StagedState = 'saving' | 'replaced';

/** A reserved name for an analysis that this process is saving or removing. */
export function stagedName(state: StagedState, uid: string): string {
  const start = processStartTime(process.pid) ?? '0';
  return `${RESERVED_ANALYSIS_PREFIX}${state}~${process.pid}~${start}~${uid}`;
}

/** Deletes an analysis's rows, children first, in transactions of at most DELETE_CHUNK rows. */
export function deleteAnalysisInChunks(db: Database.Database, analysisId: number): void {
  for (const table of ['feature_samples', 'features', 'contexts']) {
    const del = db.prepare(
      `DELETE FROM ${table} WHERE rowid IN (SELECT rowid FROM ${table} WHERE analysis_id = ? LIMIT ${DELETE_CHUNK})`,
    );
    while (db.transaction(() => del.run(analysisId).changes).immediate() > 0) {
      // one chunk per transaction
    }
  }
  db.transaction(() => db.prepare('DELETE FROM analyses WHERE id = ?').run(analysisId)).immediate();
}

/**
 * Removes the staged analyses (and their arrays files) whose process is gone: saves killed before they finished,
 * replaced analyses whose removal was cut short. Returns how many.
 */
export function sweepAbandonedAnalyses(db: Database.Database, storeDir: string): number {
  const rows = db.prepare(`SELECT id, name, arrays_file FROM analyses WHERE NOT (${VISIBLE_ANALYSIS})`).all() as {
    id: number;
    name: string;
    arrays_file: string | null;
  }[];
  let swept = 0;
  for (const row of rows) {
    const [, , pid, start] = row.name.split('~');
    if (processAlive(Number(pid), start === '0' ? null : (start ?? null))) continue;
    deleteAnalysisInChunks(db, row.id);
    if (row.arrays_file) rmSync(join(storeDir, row.arrays_file), { force: true });
    swept++;
  }
  return swept;
}

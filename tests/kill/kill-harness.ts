// The kill suite's tools: start the built CLI, SIGKILL it at a chosen moment (or let it kill itself at a test-only
// kill point, src/core/util/test-kill-point.ts), and judge what it left: a digest of the outputs (dictionary files,
// cache chunks, the store's analysis rows) to compare with an uninterrupted run, SQLite's integrity check, and a
// scan for anything half-written (temporary files and folders, staged analyses).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { ROOT } from '../helpers/fixtures';

/** mulberry32: a small seeded generator for the kill moments. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface CliRun {
  /** Exit code, or null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs `sae-studio <args>` with SAE_STUDIO_HOME=home; SIGKILLs it `killAfterMs` after the spawn when given (the
 * result then says whether the kill or the exit came first).
 */
export function runCli(
  args: string[],
  home: string,
  opts: { killAfterMs?: number; env?: Record<string, string> } = {},
): Promise<CliRun> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'sae-studio.js'), ...args], {
    env: { ...process.env, SAE_STUDIO_HOME: home, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
  return new Promise((resolve) =>
    child.once('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, ms: performance.now() - t0 });
    }),
  );
}

function hashFile(h: ReturnType<typeof createHash>, file: string, name: string): void {
  h.update(`${name}\0`);
  if (name.endsWith('manifest.json')) {
    // The cache's manifest records when the cache was first created; everything else in it must match.
    const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    delete m.created_at;
    h.update(JSON.stringify(m));
  } else h.update(readFileSync(file));
  h.update('\0');
}

/**
 * sha256 of every file under `dir` (sorted relative paths and contents), the manifest without its creation time;
 * null when there is no `dir`.
 */
export function dirDigest(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else hashFile(h, p, relative(dir, p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** What a leftover of an interrupted write looks like: a hidden entry, or one ending .tmp / .old. */
const HALF_WRITTEN = /^\.|\.tmp$|\.old$/;

/** Every half-written-looking entry under `dir` (relative paths), the store's own -wal/-shm files aside. */
export function leftovers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (HALF_WRITTEN.test(e)) out.push(relative(dir, p));
      else if (statSync(p).isDirectory()) walk(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

function hex(v: unknown): unknown {
  return Buffer.isBuffer(v) ? v.toString('hex') : v;
}

function rowsDigest(db: Database.Database, sql: string, ...params: unknown[]): string {
  const h = createHash('sha256');
  for (const row of db.prepare(sql).iterate(...params) as Iterable<Record<string, unknown>>)
    h.update(JSON.stringify(Object.values(row).map(hex)));
  return h.digest('hex');
}

export interface StoreCheck {
  integrity: string;
  /** Analyses under a reserved (staging or replaced) name. */
  staged: number;
  /** Digest of the dictionary's visible analysis `name` (its row, contexts, features, samples; no ids, no times). */
  analysis: string | null;
}

/** Opens the store (never creating it), runs PRAGMA integrity_check and digests `dictionary`'s analysis `name`. */
export function checkStore(home: string, dictionary: string, name = 'default'): StoreCheck | null {
  const file = join(home, 'studio.db');
  if (!existsSync(file)) return null;
  const db = new Database(file, { fileMustExist: true });
  try {
    const integrity = (db.pragma('integrity_check') as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    const staged = (db.prepare("SELECT count(*) AS n FROM analyses WHERE name LIKE '~%'").get() as { n: number }).n;
    const row = db
      .prepare(
        'SELECT a.id FROM analyses a JOIN dictionaries d ON d.id = a.dictionary_id WHERE d.name = ? AND a.name = ?',
      )
      .get(dictionary, name) as { id: number } | undefined;
    if (!row) return { integrity, staged, analysis: null };
    const parts = [
      rowsDigest(
        db,
        `SELECT name, model_name, dataset_name, dataset_split, context_size, hook_point_in, hook_point_out,
                n_analyzed_tokens, n_features FROM analyses WHERE id = ?`,
        row.id,
      ),
      rowsDigest(
        db,
        'SELECT context_idx, n_tokens, tokens, tokens_ref FROM contexts WHERE analysis_id = ? ORDER BY context_idx',
        row.id,
      ),
      rowsDigest(
        db,
        `SELECT feature_index, act_count, frequency, max_activation, mean_activation, histogram, top_logits,
                bottom_logits, neighbours, sampling_names, kind_data FROM features WHERE analysis_id = ?
         ORDER BY feature_index`,
        row.id,
      ),
      rowsDigest(
        db,
        `SELECT f.feature_index, s.sampling, s.rank, s.context_idx, s.max_activation, s.positions, s.activations,
                s.arrays_ref, s.kind_data FROM feature_samples s JOIN features f ON f.id = s.feature_id
         WHERE s.analysis_id = ? ORDER BY f.feature_index, s.sampling, s.rank`,
        row.id,
      ),
    ];
    return { integrity, staged, analysis: createHash('sha256').update(parts.join(':')).digest('hex') };
  } finally {
    db.close();
  }
}

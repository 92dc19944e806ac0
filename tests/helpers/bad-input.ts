// The bad-input suite's harness: each case runs the built CLI in a folder of its own (home, inputs, TMPDIR) and is
// held to the one-line error rule — exit code 2, one `sae-studio: error:` line naming the culprit, no stack trace,
// no file or folder added, removed or changed under the case's folder, and the store's rows unchanged.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { saveAnyDictionary, kindOf } from '../../src/core/dictionary/registry';
import { parseConfig } from '../../src/core/config/validate';
import { studioHome } from '../../src/core/home';
import { createRun, openStore, updateRunStatus, upsertDictionary } from '../../src/core/store';
import { errorLines, type CliResult } from './cli';
import { ROOT } from './fixtures';

/** The folder a case runs in: `home` (a copy of the seeded studio home), `input` (its files), `tmp` (TMPDIR). */
export interface CaseDir {
  root: string;
  home: string;
  input: string;
  tmp: string;
  /** A path under `input`. */
  at(...parts: string[]): string;
}

export interface BadInputCase {
  name: string;
  /** The CLI arguments (no `--backend` needed: SAE_STUDIO_BACKEND=cpu is set). */
  args: (c: CaseDir) => string[];
  /** What the one error line must name: the file, field path or value. */
  culprit: RegExp;
  /** Writes the case's input files under c.input (or edits c.home). */
  setup?: (c: CaseDir) => void;
  /** Extra environment. */
  env?: (c: CaseDir) => Record<string, string>;
  /** Files the case cannot see the content of (an unreadable file) are skipped by the tree digest. */
  unreadable?: string[];
}

export interface CaseOutcome {
  area: string;
  name: string;
  handled: boolean;
  detail?: string;
}

/** Every file and folder under `dir` with its size and a hash of its bytes (folders and links as such). */
export function treeDigest(dir: string, skip: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out[`${rel}/`] = 'dir';
        walk(p);
      } else if (st.isSymbolicLink() || skip.includes(rel)) out[rel] = `other ${st.size}`;
      else out[rel] = `${st.size} ${createHash('sha1').update(readFileSync(p)).digest('hex')}`;
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

/**
 * The store's content: every row of every table, in rowid order, hashed, plus the schema version. Read from a copy
 * (studio.db and its WAL) so that reading never touches the files under test.
 */
export function storeDigest(home: string): string {
  const file = join(home, 'studio.db');
  if (!existsSync(file)) return 'no store';
  const copy = mkdtempSync(join(tmpdir(), 'sae-store-digest-'));
  try {
    for (const suffix of ['', '-wal']) {
      if (existsSync(file + suffix)) copyFileSync(file + suffix, join(copy, `studio.db${suffix}`));
    }
    const db = new Database(join(copy, 'studio.db'));
    const hash = createHash('sha1');
    hash.update(String(db.pragma('user_version', { simple: true })));
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    for (const { name } of tables) {
      hash.update(`\n${name}\n`);
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all()) {
        hash.update(JSON.stringify(row, (_, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
      }
    }
    db.close();
    return hash.digest('hex');
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** A studio home with a store holding one finished run and one dictionary (a tiny SAE on pdlm-4l-256). */
export function seededHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'sae-badinput-seed-'));
  studioHome(home);
  const kind = kindOf('sae');
  const cfg = parseConfig(
    kind.schema,
    {
      sae_type: 'sae',
      hook_point_in: 'blocks.1.hook_resid_post',
      d_model: 256,
      d_sae: 32,
      act_fn: 'topk',
      top_k: 4,
      norm_activation: 'inference',
      model_name: 'pdlm-4l-256',
    },
    'seed dictionary',
  );
  const dictDir = join(home, 'dictionaries', 'seed');
  saveAnyDictionary(dictDir, kind, cfg, kind.init(cfg, 3));
  const store = openStore({ dir: home });
  try {
    const run = createRun(store, { id: 'seed-run', dictionaryName: 'seed', config: { name: 'seed' } });
    updateRunStatus(store, run.id, 'done');
    upsertDictionary(store, { name: 'seed', path: dictDir, config: { ...cfg } });
  } finally {
    store.close();
  }
  return home;
}

/** A fresh case folder with a copy of `seed` as its home. */
export function caseDir(parent: string, seed: string): CaseDir {
  const root = mkdtempSync(join(parent, 'case-'));
  const c: CaseDir = {
    root,
    home: join(root, 'home'),
    input: join(root, 'input'),
    tmp: join(root, 'tmp'),
    at: (...parts) => join(root, 'input', ...parts),
  };
  cpSync(seed, c.home, { recursive: true });
  mkdirSync(c.input);
  mkdirSync(c.tmp);
  return c;
}

/** Runs the built CLI without blocking the test process (cases run side by side). */
export function runCliAsync(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'sae-studio.js'), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** At most `n` tasks at a time. */
export function pool(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** What went wrong with one case's run, or null when the one-line rule held. */
export function judge(
  r: CliResult,
  culprit: RegExp,
  before: { tree: Record<string, string>; store: string },
  after: { tree: Record<string, string>; store: string },
): string | null {
  if (r.status !== 2) return `exit code ${r.status}, expected 2; stderr: ${r.stderr.slice(0, 400)}`;
  if (/\n\s+at /.test(`\n${r.stderr}`)) return `a stack trace: ${r.stderr.slice(0, 400)}`;
  // Progress lines may come first; the error is one line, the last one, and the only one from `sae-studio:`.
  const lines = errorLines(r.stderr);
  const own = lines.filter((l) => l.startsWith('sae-studio:'));
  if (own.length !== 1) return `${own.length} 'sae-studio:' lines, expected 1: ${r.stderr.slice(0, 400)}`;
  const line = lines.at(-1)!;
  if (!line.startsWith('sae-studio: error: ')) return `the last line is not a 'sae-studio: error:' line: ${line}`;
  if (!culprit.test(line)) return `the line does not name ${culprit}: ${line}`;
  const added = Object.keys(after.tree).filter((p) => !(p in before.tree));
  const removed = Object.keys(before.tree).filter((p) => !(p in after.tree));
  const changed = Object.keys(before.tree).filter((p) => p in after.tree && after.tree[p] !== before.tree[p]);
  if (added.length + removed.length + changed.length > 0) {
    return `files touched: added ${added.join(', ')}; removed ${removed.join(', ')}; changed ${changed.join(', ')}`;
  }
  if (after.store !== before.store) return 'the store changed';
  return null;
}

/** Writes one area's outcomes to tests/.artifacts/bad-input/<area>.json (atomically). */
export function writeOutcomes(area: string, outcomes: CaseOutcome[]): void {
  const dir = join(ROOT, 'tests', '.artifacts', 'bad-input');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${area}.json`);
  const tried = outcomes.length;
  const handled = outcomes.filter((o) => o.handled).length;
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ area, tried, handled, cases: outcomes }, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

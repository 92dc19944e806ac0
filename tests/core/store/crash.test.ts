// A save killed with SIGKILL half-way (half its chunks committed under the staging name) leaves the previous analysis
// complete and none of the new one visible; the next writer to open the store removes the staged rows, and the store
// passes its integrity check. While the killed writer was saving, a reader in this process read the old analysis.
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  getFeature,
  listFeatures,
  openStore,
  saveAnalysis,
  setInterpretation,
  type Store,
} from '../../../src/core/store';
import { ROOT } from '../../helpers/fixtures';
import { syntheticAnalysis, useTempDirs } from './helpers';

const tempDir = useTempDirs();
const BIG_FEATURES = 4000;

function expectOldAnalysis(store: Store, old: ReturnType<typeof syntheticAnalysis>): void {
  const page = listFeatures(store, 'toy-sae', { limit: 10_000 });
  expect(page.total).toBe(old.features.length);
  expect(page.items.map((f) => f.index)).toEqual(old.features.map((f) => f.index));
  for (const f of old.features) {
    const got = getFeature(store, 'toy-sae', f.index);
    expect(got.stats?.maxActivation).toBe(f.maxActivation);
    expect(
      got.samplings.flatMap((s) =>
        s.samples.map((x) => [x.contextIndex, Array.from(x.positions), Array.from(x.values)]),
      ),
    ).toEqual(
      f.samplings.flatMap((s) => s.samples.map((x) => [x.contextIndex, Array.from(x.positions), Array.from(x.values)])),
    );
  }
}

describe('a save killed mid-transaction', () => {
  it('leaves the previous analysis intact and the new one absent', async () => {
    const dir = tempDir();
    const old = syntheticAnalysis({ dSae: 8192, nFeatures: 20 });
    const writer = openStore({ dir });
    saveAnalysis(writer, old);
    setInterpretation(writer, 'toy-sae', 3, 'survives the crash');
    writer.close();

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'tests/core/store/save-worker.ts'), dir, String(BIG_FEATURES)],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(signal ?? code)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('MID')) resolve();
      });
      void exited.then((how) => reject(new Error(`worker exited (${String(how)}) before MID: ${stderr}`)));
    });

    // The child has written half the new analysis's rows (invisible, under its staging name) to the WAL.
    const wal = join(dir, 'studio.db-wal');
    expect(statSync(wal).size).toBeGreaterThan(1 << 20);
    const reader = openStore({ dir, readonly: true });
    try {
      expectOldAnalysis(reader, old);
    } finally {
      reader.close();
    }

    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(stdout).not.toContain('DONE');
    expect(existsSync(wal)).toBe(true); // recovery happens on the next open

    const store = openStore({ dir });
    try {
      expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(store.db.pragma('foreign_key_check')).toEqual([]);
      expectOldAnalysis(store, old);
      expect(getFeature(store, 'toy-sae', 3).interpretation?.text).toBe('survives the crash');
      expect(getFeature(store, 'toy-sae', 100).stats).toBeNull(); // a feature only the killed save had
      const count = (sql: string) => store.db.prepare(sql).pluck().get();
      expect(count('SELECT count(*) FROM analyses')).toBe(1);
      expect(count('SELECT count(*) FROM features')).toBe(20);
      expect(count('SELECT count(*) FROM contexts')).toBe(old.contexts.length);
      // And the store takes the next save.
      const next = syntheticAnalysis({ dSae: 8192, featureIndices: [100, 200], seed: 3 });
      saveAnalysis(store, next, { replace: true });
      expect(listFeatures(store, 'toy-sae').items.map((f) => f.index)).toEqual([100, 200]);
    } finally {
      store.close();
    }
  });
});

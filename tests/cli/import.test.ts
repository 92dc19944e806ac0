// `sae-studio import DIR` as a real child process: an lm-saes folder and a SAELens folder registered in a fresh
// home's store (then listed by the same store), and a folder that is neither refused in one line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDictionaries, openStore } from '../../src/core/store';
import { errorLines, runCli } from '../helpers/cli';
import { buildInteropHome } from '../core/interop/interop-home';

let source: string;
let target: string;
beforeAll(() => {
  source = buildInteropHome();
  target = mkdtempSync(join(tmpdir(), 'sae-studio-import-'));
});
afterAll(() => {
  for (const d of [source, target]) rmSync(d, { recursive: true, force: true });
});

describe('sae-studio import', () => {
  it('registers an lm-saes Lorsa folder and a SAELens folder, then refuses a folder that is neither', () => {
    const folders = join(source, 'folders');
    mkdirSync(folders);
    const env = { SAE_STUDIO_HOME: source };
    expect(
      runCli(['export', '--to', 'lm-saes', join(folders, 'lorsa'), '--dictionary', 'tiny-lorsa'], env).status,
    ).toBe(0);
    expect(runCli(['export', '--to', 'saelens', join(folders, 'relu'), '--dictionary', 'relu-sae'], env).status).toBe(
      0,
    );

    const into = { SAE_STUDIO_HOME: target };
    const a = runCli(['import', join(folders, 'lorsa'), '--series', 'cluster'], into);
    expect(a.status, a.stderr).toBe(0);
    expect(a.stdout).toMatch(
      /^imported lm-saes lorsa 'lorsa' \(d_sae 16\) to .*; analyses: none \(lm-saes keeps them in MongoDB, SAELens has none\)\n$/,
    );
    const b = runCli(['import', join(folders, 'relu'), '--name', 'relu-from-saelens'], into);
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^imported saelens sae 'relu-from-saelens' \(d_sae 24\)/);

    const store = openStore({ dir: target, readonly: true });
    try {
      expect(listDictionaries(store).map((d) => [d.name, d.saeType, d.series])).toEqual([
        ['lorsa', 'lorsa', 'cluster'],
        ['relu-from-saelens', 'sae', 'default'],
      ]);
    } finally {
      store.close();
    }

    const neither = join(folders, 'neither');
    mkdirSync(neither);
    writeFileSync(join(neither, 'notes.txt'), 'hello');
    const c = runCli(['import', neither], into);
    expect(c.status).not.toBe(0);
    expect(errorLines(c.stderr)).toEqual([
      `sae-studio: error: ${neither}: neither an lm-saes dictionary folder (config.json + sae_weights.safetensors) nor a SAELens one (cfg.json + sae_weights.safetensors); not a mongodump folder (no <collection>.bson files in it or in a database subfolder) nor an Extended JSON export (no <collection>.json files)`,
    ]);
  });

  it('reads back a mongodump folder and an Extended JSON folder written by export', () => {
    const env = { SAE_STUDIO_HOME: source };
    const out = mkdtempSync(join(tmpdir(), 'sae-studio-dump-'));
    const expected = (home: string): string[][] => {
      const store = openStore({ dir: home, readonly: true });
      try {
        return listDictionaries(store).map((d) => [d.name, d.saeType, String(d.dSae)]);
      } finally {
        store.close();
      }
    };
    try {
      for (const format of ['mongodump', 'ejson']) {
        const w = runCli(['export', '--to', format, join(out, format)], env);
        expect(w.status, w.stderr).toBe(0);
        expect(w.stdout).toMatch(new RegExp(`^wrote [\\d,]+ documents \\(${format}\\) to .*mechinterp\\n$`));
        const home = mkdtempSync(join(tmpdir(), `sae-studio-from-${format}-`));
        const r = runCli(['import', join(out, format)], { SAE_STUDIO_HOME: home });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^imported the ${format} folder .*: .*saes \\d+`));
        expect(expected(home)).toEqual(expected(source));
        rmSync(home, { recursive: true, force: true });
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

// One history: `train`, `analyze`, `generate` and `eval` run as real processes record their work in the store the
// way app-started jobs do — the run with its metric points, checkpoints, log and status, the dictionary with its
// evaluation — and a bad config leaves no run and no run folder (bad input changes nothing, issue 21).
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getDictionary, getRunMetrics, listRecentRuns, openStore } from '../../src/core/store';
import { errorLines, runCli } from '../helpers/cli';
import { smallTextDataset, smallTrainConfig, tempHome } from '../helpers/train-fixtures';

function writeConfig(cfg: object): string {
  const f = join(mkdtempSync(join(tmpdir(), 'sae-studio-cfg-')), 'train.json');
  writeFileSync(f, JSON.stringify(cfg));
  return f;
}

let dataset: string;
let home: string;
beforeAll(() => {
  dataset = smallTextDataset();
  home = tempHome();
  const cfg = smallTrainConfig(dataset, { name: 'hist', eval_windows: 4, total_training_tokens: 256 * 8 });
  const r = runCli(['train', '--config', writeConfig(cfg), '--run-id', 'hist-run'], { SAE_STUDIO_HOME: home });
  expect(r.status, r.stderr).toBe(0);
});

describe('runs started from the CLI are runs of the store', () => {
  it('train: the run with its metrics, checkpoints and log, the dictionary with its evaluation', () => {
    const store = openStore({ dir: home, readonly: true });
    try {
      const [run] = listRecentRuns(store);
      expect(run?.id).toBe('hist-run');
      expect(run?.status).toBe('done');
      expect(run?.dictionaryName).toBe('hist');
      expect(run?.checkpoints.length).toBeGreaterThan(0);
      const metrics = getRunMetrics(store, 'hist-run');
      expect(metrics.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(metrics[0]?.values.loss).toBeGreaterThan(metrics.at(-1)?.values.loss ?? Infinity);
      const d = getDictionary(store, 'hist');
      expect(d.metrics?.explained_variance).toBeGreaterThan(0);
      expect(d.metrics?.l0).toBeGreaterThan(0);
      expect(d.metrics?.l0).toBeLessThanOrEqual(8);
      expect(Number.isFinite(d.metrics?.ce_loss_recovered)).toBe(true);
    } finally {
      store.close();
    }
    const log = readFileSync(join(home, 'runs', 'hist-run', 'run.log'), 'utf8');
    expect(log).toMatch(/training 8 steps/);
    expect(log).toMatch(/evaluation on .*explained variance/);
  });

  it('analyze and generate are runs too, and eval stores its evaluation with the dictionary', () => {
    const a = runCli(['analyze', '--dictionary', 'hist', '--dataset', dataset, '--split', 'all', '--tokens', '2000'], {
      SAE_STUDIO_HOME: home,
    });
    expect(a.status, a.stderr).toBe(0);
    const out = join(mkdtempSync(join(tmpdir(), 'sae-studio-cache-')), 'cache');
    const g = runCli(
      [
        'generate',
        '--model',
        'pdlm-4l-256',
        '--dataset',
        dataset,
        '--hooks',
        'blocks.1.hook_resid_post',
        '--out',
        out,
        '--max-windows',
        '4',
        '--split',
        'all',
      ],
      { SAE_STUDIO_HOME: home },
    );
    expect(g.status, g.stderr).toBe(0);
    const windows = join(mkdtempSync(join(tmpdir(), 'sae-studio-win-')), 'w.json');
    writeFileSync(windows, JSON.stringify([Array.from({ length: 32 }, (_, i) => (i * 37) % 256)]));
    const e = runCli(['eval', '--dictionary', 'hist', '--windows', windows], { SAE_STUDIO_HOME: home });
    expect(e.status, e.stderr).toBe(0);
    const printed = JSON.parse(e.stdout) as { explained_variance: number; l0: number };
    const store = openStore({ dir: home, readonly: true });
    try {
      const runs = listRecentRuns(store);
      const analyze = runs.find((r) => r.id.startsWith('analyze-'));
      expect(analyze?.status).toBe('done');
      expect(analyze?.dictionaryName).toBe('hist');
      expect(analyze?.config).toMatchObject({ job: 'analyze', tokens: 2000 });
      const generate = runs.find((r) => r.id.startsWith('generate-'));
      expect(generate?.status).toBe('done');
      expect(generate?.config).toMatchObject({ job: 'generate', windows: 4 });
      const log = readFileSync(join(home, 'runs', generate?.id ?? '-', 'run.log'), 'utf8');
      expect(log).toMatch(/activations of 4 windows/);
      const d = getDictionary(store, 'hist');
      expect(d.metrics?.explained_variance).toBeCloseTo(printed.explained_variance, 10);
      expect(d.metrics?.l0).toBeCloseTo(printed.l0, 10);
    } finally {
      store.close();
    }
  });

  it('a refused config leaves no run (the store as it was) and no run folder', () => {
    const cfg = smallTrainConfig(dataset, { name: 'bad', sae: { ...smallTrainConfig(dataset).sae, d_model: 7 } });
    const r = runCli(['train', '--config', writeConfig(cfg), '--run-id', 'bad-run'], { SAE_STUDIO_HOME: home });
    expect(r.status).not.toBe(0);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(errorLines(r.stderr)[0]).toMatch(/d_model is 7/);
    const store = openStore({ dir: home, readonly: true });
    try {
      expect(listRecentRuns(store).map((x) => x.id)).not.toContain('bad-run');
    } finally {
      store.close();
    }
    expect(existsSync(join(home, 'runs', 'bad-run'))).toBe(false);
  });
});

// `sae-studio analyze`, `features`, `feature` and `infer` on a small dictionary trained in the test, through the
// real store; and their errors for an unknown dictionary, an index out of range, and an activation cache.
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { errorLines, runCli } from '../helpers/cli';
import { smallTextDataset, smallTrainConfig, tempHome } from '../helpers/train-fixtures';

describe('analysis from the CLI', () => {
  let home: string;
  let dataset: string;
  const env = () => ({ SAE_STUDIO_HOME: home });

  beforeAll(() => {
    home = tempHome();
    dataset = smallTextDataset();
    const cfg = join(mkdtempSync(join(tmpdir(), 'cfg-')), 'train.json');
    writeFileSync(cfg, JSON.stringify(smallTrainConfig(dataset, { checkpoint_every_tokens: null })));
    const t = runCli(['train', '--config', cfg, '--run-id', 'a'], env());
    expect(t.status, t.stderr).toBe(0);
    const a = runCli(
      ['analyze', '--dictionary', 'small', '--dataset', dataset, '--tokens', '6000', '--backend', 'wasm'],
      env(),
    );
    expect(a.status, a.stderr).toBe(0);
    const out = JSON.parse(a.stdout) as { tokens: number; peak_rss_mb: number };
    expect(out.tokens).toBeGreaterThanOrEqual(6000);
  }, 300_000);

  it('lists features as JSON with the documented fields, sorted by frequency', () => {
    const r = runCli(['features', '--dictionary', 'small', '--sort', 'frequency', '--json'], env());
    expect(r.status, r.stderr).toBe(0);
    const features = JSON.parse(r.stdout) as {
      index: number;
      frequency: number;
      max_activation: number;
      top_logits: { token: string }[];
      n_samples: number;
    }[];
    expect(features).toHaveLength(512);
    for (let i = 1; i < features.length; i++)
      expect(features[i]!.frequency).toBeLessThanOrEqual(features[i - 1]!.frequency);
    const live = features.filter((f) => f.frequency > 0);
    expect(live.length).toBeGreaterThan(0);
    expect(live[0]!.top_logits.length).toBeGreaterThan(0);
    expect(live[0]!.n_samples).toBeGreaterThan(0);
    expect(live[0]!.max_activation).toBeGreaterThan(0);
  });

  it('shows one feature with histogram, logits and samples whose tokens are strings', () => {
    const list = JSON.parse(
      runCli(['features', '--dictionary', 'small', '--sort', 'max', '--json', '--limit', '1'], env()).stdout,
    ) as { index: number }[];
    const r = runCli(['feature', 'small', String(list[0]!.index), '--json'], env());
    expect(r.status, r.stderr).toBe(0);
    const f = JSON.parse(r.stdout) as {
      index: number;
      frequency: number;
      max_activation: number;
      histogram: { counts: number[] };
      top_logits: unknown[];
      bottom_logits: unknown[];
      samples: { tokens: string[]; activations: number[] }[];
    };
    expect(f.index).toBe(list[0]!.index);
    expect(f.histogram.counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(f.top_logits.length).toBeGreaterThan(0);
    expect(f.bottom_logits.length).toBeGreaterThan(0);
    expect(f.samples.length).toBeGreaterThan(0);
    const top = f.samples[0]!;
    expect(top.tokens.length).toBe(top.activations.length);
    expect(typeof top.tokens[1]).toBe('string');
    expect(Math.max(...top.activations)).toBeCloseTo(f.max_activation, 4);
    const text = runCli(['feature', 'small', String(list[0]!.index)], env());
    expect(text.stdout).toMatch(/top_activations:/);
    expect(text.stdout).toMatch(/«.+:\d+\.\d+»/); // highlighted activating tokens (no TTY: markers)
  });

  it('shows which features fire on each token of a text', () => {
    const r = runCli(
      ['infer', 'small', '--text', 'Emma Woodhouse, handsome, clever, and rich', '--json', '--backend', 'wasm'],
      env(),
    );
    expect(r.status, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { token: string; features: { index: number; activation: number }[] }[];
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.slice(1).every((t) => t.features.length > 0 && t.features.length <= 5)).toBe(true);
  });

  it('explains bad input in one line', () => {
    const one = (args: string[], pattern: RegExp) => {
      const r = runCli(args, env());
      expect(r.status).not.toBe(0);
      const lines = errorLines(r.stderr).filter((l) => l.startsWith('sae-studio'));
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
    };
    one(['features', '--dictionary', 'nope'], /unknown dictionary 'nope' \(known: small\)/);
    one(['feature', 'small', '512'], /feature index 512 is out of range for dictionary 'small' \(0 to 511\)/);
    one(['analyze', '--dictionary', 'nope'], /dictionary 'nope' not found/);
    const cache = join(home, 'fake-cache');
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, 'manifest.json'), JSON.stringify({ model: 'other-model' }));
    one(
      ['analyze', '--dictionary', 'small', '--dataset', cache],
      /is an activation cache, made with model 'other-model' \(another tokenizer\) while the dictionary reads 'pdlm-4l-256'; the analysis needs text/,
    );
  });
});

describe('sae-studio demo', () => {
  it('trains the reference recipe briefly, evaluates it, and ends with the dictionary analysed in the store', () => {
    const home = tempHome();
    const r = runCli(
      ['demo', '--tokens', '40960', '--analyze-tokens', '3000', '--backend', 'wasm'],
      { SAE_STUDIO_HOME: home },
      900_000,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      dictionary: string;
      train_tokens: number;
      explained_variance: number;
      ce_loss_recovered: number;
      l0: number;
      phase_seconds: Record<string, number>;
      phase_cpu_seconds: Record<string, number>;
      total_seconds: number;
      peak_rss_mb: number;
    };
    expect(out.train_tokens).toBe(40960);
    // Every phase is timed, in the JSON line and in the summary, and the phases add up to the total.
    const phases = ['data', 'lm_stats', 'train_steps', 'eval', 'analysis'];
    expect(Object.keys(out.phase_seconds).sort()).toEqual([...phases].sort());
    for (const p of phases) expect(out.phase_seconds[p]).toBeGreaterThanOrEqual(0);
    const sum = phases.reduce((s, p) => s + out.phase_seconds[p]!, 0);
    expect(Math.abs(sum - out.total_seconds)).toBeLessThan(0.5 + 0.02 * out.total_seconds);
    // CPU seconds per phase (model + tokenizing's counted with the LM pass's): the process did work in each.
    expect(Object.keys(out.phase_cpu_seconds).sort()).toEqual(phases.filter((p) => p !== 'data').sort());
    for (const p of ['lm_stats', 'train_steps', 'eval', 'analysis'])
      expect(out.phase_cpu_seconds[p]).toBeGreaterThan(0);
    expect(out.peak_rss_mb).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/phases: model \+ tokenizing [\d.]+ s, LM pass \+ statistics [\d.]+ s, SAE steps/);
    expect(out.l0).toBeLessThanOrEqual(32);
    expect(out.ce_loss_recovered).toBeGreaterThan(0.5);
    expect(r.stderr).toMatch(/CE loss recovered/);
    expect(r.stderr).toMatch(/sae-studio features --dictionary demo/);
    const f = runCli(['features', '--dictionary', 'demo', '--json', '--limit', '3', '--sort', 'frequency'], {
      SAE_STUDIO_HOME: home,
    });
    expect(f.status, f.stderr).toBe(0);
    expect((JSON.parse(f.stdout) as unknown[]).length).toBe(3);
  }, 900_000);
});

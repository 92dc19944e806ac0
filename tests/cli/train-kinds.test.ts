// `sae-studio train` for every dictionary kind other than sae (tiny runs on pdlm-4l-256: the loss falls, the
// dictionary is saved in lm-saes's layout and loads, the evaluation reports the kind's metrics), and the bad
// configs of each kind refused with one line naming the field before anything is read or written.
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAnyDictionary } from '../../src/core/dictionary/registry';
import { errorLines, runCli } from '../helpers/cli';
import { smallTextDataset, TINY_KIND_SAES } from '../helpers/train-fixtures';

const home = mkdtempSync(join(tmpdir(), 'sae-studio-train-kinds-'));
const tiny = {
  model: 'pdlm-4l-256',
  dataset: smallTextDataset(),
  dataset_split: 'all',
  context_size: 16,
  batch_size: 240,
  total_training_tokens: 240 * 10,
  norm_estimation_tokens: 2000,
  shuffle_windows: 64,
  lr: 3e-3,
  lr_warm_up_steps: 0,
  lr_cool_down_steps: 0,
  log_frequency: 1,
  eval_windows: 4,
  backend: 'wasm',
};
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

const SAES = TINY_KIND_SAES;

function train(name: string, sae: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const file = join(home, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...tiny, name, sae, ...extra }));
  return runCli(['train', '--config', file], { SAE_STUDIO_HOME: home });
}

describe('sae-studio train: every kind', () => {
  for (const [kind, sae] of Object.entries(SAES)) {
    it(`${kind}: trains, saves in lm-saes's layout, evaluates`, { timeout: 300_000 }, () => {
      const r = train(`tiny-${kind}`, sae);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(r.status, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
        sae_type: string;
        dictionary: string;
        steps: number;
        evaluation: { explained_variance: number; ce_loss_recovered: number; l0: number };
      };
      expect(out.sae_type).toBe(kind);
      expect(out.steps).toBe(10);
      // One loss line per step (log_frequency 1): the last three steps' mean below the first three's.
      const losses = [...r.stderr.matchAll(/^step \d+\/\d+ loss ([\d.]+)/gm)].map((m) => Number(m[1]));
      expect(losses).toHaveLength(10);
      expect(mean(losses.slice(-3))).toBeLessThan(mean(losses.slice(0, 3)));
      expect(readdirSync(out.dictionary).sort()).toEqual(['config.json', 'lm_config.json', 'sae_weights.safetensors']);
      const loaded = loadAnyDictionary(out.dictionary);
      expect(loaded.kind.saeType).toBe(kind);
      expect(Number.isFinite(out.evaluation.explained_variance)).toBe(true);
      expect(out.evaluation.ce_loss_recovered).toBeLessThanOrEqual(1);
      expect(out.evaluation.l0).toBeGreaterThan(0);
    });
  }
});

describe('sae-studio train: a Lorsa initialised from the model', () => {
  it(
    "copies W_Q / W_K from the layer's heads and W_V / W_O from their active subspaces, then trains",
    { timeout: 300_000 },
    () => {
      const sae = { ...SAES.lorsa, d_sae: 32, n_qk_heads: 8, d_qk_head: 32, rotary_dim: 32 };
      const r = train('tiny-lorsa-init', sae, {
        initializer: { initialize_lorsa_with_mhsa: true, initialize_W_D_with_active_subspace: true },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain('Lorsa W_Q, W_K from the 8 heads of layer 1');
      expect(r.stderr).toContain("Lorsa W_V, W_O from the active subspaces of layer 1's heads");
    },
  );

  it('a QK head count that is not a multiple of the model heads: one line naming the field', () => {
    const r = train('bad', SAES.lorsa!, { initializer: { initialize_lorsa_with_mhsa: true } });
    expect(r.status).toBe(2);
    expect(errorLines(r.stderr).at(-1)).toMatch(/field '(n_qk_heads|d_qk_head)'/);
  });
});

describe('sae-studio train: bad configs of the kinds', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'CLT hook lists of different lengths',
      { ...SAES.clt, hook_points_out: ['blocks.0.hook_mlp_out'] },
      /field 'hook_points_out'/,
    ],
    ['a Lorsa group size that does not divide', { ...SAES.lorsa, n_qk_heads: 5 }, /field 'n_qk_heads'/],
    ['MoLT ranks that do not sum to d_sae', { ...SAES.molt, d_sae: 30 }, /field 'd_sae'/],
    [
      'a Lorsa whose rotary settings do not fit the model',
      { ...SAES.lorsa, positional_embedding_type: 'rotary' },
      /field 'positional_embedding_type'/,
    ],
    [
      'a crosscoder with a repeated hook',
      { ...SAES.crosscoder, hook_points: ['blocks.1.hook_resid_post', 'blocks.1.hook_resid_post'] },
      /field 'hook_points\.1'/,
    ],
    [
      'a crosscoder hook the model lacks',
      { ...SAES.crosscoder, hook_points: ['blocks.9.hook_resid_post'] },
      /blocks\.9\.hook_resid_post/,
    ],
    ['a layer-wide TopK outside a CLT', { ...SAES.molt, act_fn: 'layertopk' }, /field 'act_fn'/],
  ];
  for (const [label, sae, pattern] of cases) {
    it(`${label}: one line naming the field, exit 2, nothing written`, () => {
      const before = existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')).length : 0;
      const r = train('bad', sae);
      expect(r.status).toBe(2);
      const lines = errorLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(pattern);
      expect(existsSync(join(home, 'dictionaries', 'bad'))).toBe(false);
      expect(existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')).length : 0).toBe(before);
    });
  }
});

// A set of one dictionary evaluates exactly as the kind evaluator does (same sequential splicing), and a set of a
// Lorsa and a CLT replaces attention and MLPs together, refusing two dictionaries on one hook.
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/core/config/validate';
import { evaluateKind } from '../../../src/core/dictionary/evaluate-kind';
import { evaluateDictionarySet, type SetMember } from '../../../src/core/dictionary/evaluate-set';
import { uniformGenerator } from '../../../src/core/dictionary/host64';
import { kindOf } from '../../../src/core/dictionary/registry';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import { tokenBatch, type TokenBatch } from '../../../src/core/lm/token-batch';
import { initBackend } from '../../../src/core/tensor/backend';

let model: HookedTransformer;
let windows: TokenBatch;

function member(name: string, config: Record<string, unknown>, seed: number): SetMember {
  const kind = kindOf(String(config.sae_type));
  const cfg = parseConfig(kind.schema, { d_model: 256, norm_activation: 'inference', ...config }, name);
  const params = kind.init(cfg, seed);
  const u = uniformGenerator(seed);
  for (const n of kind.trainable(cfg))
    if (params[n]!.data.every((v) => v === 0)) params[n]!.data = params[n]!.data.map(() => u(0.05));
  return { name, kind, cfg, params };
}

const clt = () =>
  member(
    'clt',
    {
      sae_type: 'clt',
      hook_points_in: [0, 1, 2].map((l) => `blocks.${l}.ln2.hook_normalized`),
      hook_points_out: [0, 1, 2].map((l) => `blocks.${l}.hook_mlp_out`),
      d_sae: 32,
      act_fn: 'topk',
      top_k: 4,
    },
    3,
  );
const lorsa = () =>
  member(
    'lorsa',
    {
      sae_type: 'lorsa',
      hook_point_in: 'blocks.1.ln1.hook_normalized',
      hook_point_out: 'blocks.1.hook_attn_out',
      d_sae: 16,
      n_qk_heads: 2,
      d_qk_head: 8,
      n_ctx: 16,
      positional_embedding_type: 'none',
      rotary_dim: 8,
      act_fn: 'topk',
      top_k: 4,
    },
    4,
  );

beforeAll(async () => {
  await initBackend('cpu');
  model = loadModel('pdlm-4l-256').model;
  const u = uniformGenerator(9);
  windows = tokenBatch(
    Array.from({ length: 2 }, () => [0, ...Array.from({ length: 15 }, () => Math.floor(Math.abs(u(1)) * 8000))]),
  );
});

describe('evaluateDictionarySet', () => {
  it('one member: the same CE as the kind evaluator (sequential splicing)', async () => {
    const m = clt();
    const set = await evaluateDictionarySet(model, [m], windows);
    const own = await evaluateKind(model, m.kind, m.cfg, m.params, windows);
    expect(set.ce_with_set).toBeCloseTo(own.ce_with_dictionary, 5);
    expect(set.ce_zero_ablation).toBeCloseTo(own.ce_zero_ablation, 5);
    expect(set.outputs.map((o) => o.explained_variance)).toEqual(
      own.explained_variance_per_axis.map((v) => expect.closeTo(v, 5)),
    );
  });

  it('a Lorsa and a CLT together: outputs in the model order, a CE between the original and the ablation', async () => {
    const r = await evaluateDictionarySet(model, [clt(), lorsa()], windows);
    expect(r.outputs.map((o) => o.hook)).toEqual([
      'blocks.0.hook_mlp_out',
      'blocks.1.hook_attn_out',
      'blocks.1.hook_mlp_out',
      'blocks.2.hook_mlp_out',
    ]);
    expect(Number.isFinite(r.ce_loss_recovered)).toBe(true);
    expect(r.ce_with_set).not.toBeCloseTo(r.ce_orig, 3);
  });

  it('refuses two dictionaries on one hook', async () => {
    await expect(evaluateDictionarySet(model, [clt(), { ...clt(), name: 'clt2' }], windows)).rejects.toThrow(
      /dictionaries 'clt' and 'clt2' both replace 'blocks\.0\.hook_mlp_out'/,
    );
  });
});

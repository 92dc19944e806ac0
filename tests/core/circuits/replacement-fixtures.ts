// Small random replacement models for the engine's tests: per-layer transcoders (`sae` kind), a CLT or Lorsas on
// any model, with random biases (so the constants are exercised) and TopK to keep the feature count tiny.
import { parseConfig } from '../../../src/core/config/validate';
import { uniformGenerator } from '../../../src/core/dictionary/host64';
import { kindOf } from '../../../src/core/dictionary/registry';
import type { KindConfigBase } from '../../../src/core/dictionary/kind';
import type { NamedDictionary } from '../../../src/core/circuits/replacement';
import type { ModelConfig } from '../../../src/core/lm/model-config';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { hookName, type BlockHook } from '../../../src/protocol/hook-names';

export interface SiteOptions {
  F?: number;
  k?: number;
  seed?: number;
  /** Dataset-wise normalisation with this mean norm for every hook (else inference: no scaling). */
  datasetNorm?: number;
  /** The activation basis the dictionaries claim (default unprocessed). */
  basis?: 'unprocessed' | 'transformer-lens';
  /** A Lorsa's n_ctx (default 16). */
  nCtx?: number;
}

function randomBiases(params: HostParams, names: string[], seed: number, scale = 0.2): HostParams {
  const u = uniformGenerator(seed);
  for (const n of names) {
    const t = params[n];
    if (t) t.data = t.data.map(() => u(scale));
  }
  return params;
}

function common(model: ModelConfig, o: SiteOptions, hooks: string[]) {
  return {
    d_model: model.dModel,
    d_sae: o.F ?? 8,
    act_fn: 'topk',
    top_k: o.k ?? 2,
    activation_basis: o.basis ?? 'unprocessed',
    ...(o.datasetNorm === undefined
      ? { norm_activation: 'inference' }
      : {
          norm_activation: 'dataset-wise',
          dataset_average_activation_norm: Object.fromEntries(hooks.map((h, i) => [h, o.datasetNorm! * (1 + 0.1 * i)])),
        }),
  };
}

function build(name: string, saeType: string, raw: Record<string, unknown>, seed: number, biases: string[]) {
  const kind = kindOf(saeType);
  const cfg = parseConfig(kind.schema, raw, `${name}.json`) as KindConfigBase;
  const params = randomBiases(kind.init(cfg, seed), biases, seed + 7);
  return { name, kind, cfg, params } satisfies NamedDictionary;
}

/** One transcoder per MLP, reading `inHook` and writing `outHook` of each layer. */
export function transcoders(
  model: ModelConfig,
  o: SiteOptions = {},
  inHook: BlockHook = 'ln2.hook_normalized',
  outHook: BlockHook = 'hook_mlp_out',
): NamedDictionary[] {
  return Array.from({ length: model.nLayers }, (_, l) => {
    const [i, out] = [hookName(l, inHook), hookName(l, outHook)];
    return build(
      `plt-${l}`,
      'sae',
      { sae_type: 'sae', hook_point_in: i, hook_point_out: out, ...common(model, o, [i, out]) },
      (o.seed ?? 1) + l,
      ['b_E', 'b_D'],
    );
  });
}

/** One CLT over every MLP. */
export function clt(model: ModelConfig, o: SiteOptions = {}, outHook: BlockHook = 'hook_mlp_out'): NamedDictionary {
  const ins = Array.from({ length: model.nLayers }, (_, l) => hookName(l, 'ln2.hook_normalized'));
  const outs = Array.from({ length: model.nLayers }, (_, l) => hookName(l, outHook));
  const biases = ['b_E', ...outs.map((_, t) => `b_D.${t}`)];
  return build(
    'clt',
    'clt',
    { sae_type: 'clt', hook_points_in: ins, hook_points_out: outs, ...common(model, o, [...ins, ...outs]) },
    o.seed ?? 11,
    biases,
  );
}

/** One Lorsa per attention layer. */
export function lorsas(
  model: ModelConfig,
  o: SiteOptions = {},
  outHook: BlockHook = 'hook_attn_out',
): NamedDictionary[] {
  return Array.from({ length: model.nLayers }, (_, l) => {
    const [i, out] = [hookName(l, 'ln1.hook_normalized'), hookName(l, outHook)];
    return build(
      `lorsa-${l}`,
      'lorsa',
      {
        sae_type: 'lorsa',
        hook_point_in: i,
        hook_point_out: out,
        n_qk_heads: 2,
        d_qk_head: 4,
        n_ctx: o.nCtx ?? 16,
        rotary_dim: 4,
        ...common(model, o, [i, out]),
      },
      (o.seed ?? 21) + l,
      ['b_Q', 'b_K', 'b_V', 'b_D'],
    );
  });
}

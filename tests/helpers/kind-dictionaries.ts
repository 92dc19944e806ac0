// One tiny random dictionary of each non-SAE kind on pdlm-4l-256 (d_model 256), in lm-saes's layout through the
// registry: a crosscoder over the residual stream of layers 1–3, a 4-layer CLT on the MLPs, a Lorsa on layer 1's
// attention, a MoLT transcoder on layer 2's MLP, each with lm-saes's initialisation (random, deterministic in the
// seed) with every trainable weight then scaled elementwise by a random factor in [0.5, 1.5], so that symmetries of
// the init (a crosscoder's equal decoder norms across heads) do not hide mistakes; TopK, no normalisation.
import { parseConfig } from '../../src/core/config/validate';
import type { DictionaryKind, KindConfigBase } from '../../src/core/dictionary/kind';
import { uniformGenerator } from '../../src/core/dictionary/host64';
import { kindOf } from '../../src/core/dictionary/registry';
import type { HostParams } from '../../src/core/sae/host-tensor';

export interface KindDictionary {
  name: string;
  kind: DictionaryKind;
  cfg: KindConfigBase;
  params: HostParams;
}

const L = 4;
const common = { d_model: 256, d_sae: 16, act_fn: 'topk', top_k: 3, norm_activation: 'inference' };

const CONFIGS: Record<string, Record<string, unknown>> = {
  crosscoder: {
    sae_type: 'crosscoder',
    hook_points: [1, 2, 3].map((l) => `blocks.${l}.hook_resid_post`),
  },
  clt: {
    sae_type: 'clt',
    hook_points_in: Array.from({ length: L }, (_, l) => `blocks.${l}.ln2.hook_normalized`),
    hook_points_out: Array.from({ length: L }, (_, l) => `blocks.${l}.hook_mlp_out`),
  },
  lorsa: {
    sae_type: 'lorsa',
    hook_point_in: 'blocks.1.ln1.hook_normalized',
    hook_point_out: 'blocks.1.hook_attn_out',
    n_qk_heads: 2,
    d_qk_head: 8,
    positional_embedding_type: 'none',
    rotary_dim: 8,
    n_ctx: 32,
  },
  molt: {
    sae_type: 'molt',
    hook_point_in: 'blocks.2.ln2.hook_normalized',
    hook_point_out: 'blocks.2.hook_mlp_out',
    rank_counts: { '1': 8, '2': 4, '4': 4 },
  },
};

export const KIND_NAMES = Object.keys(CONFIGS);

/** The tiny dictionary of kind `saeType` (see above), deterministic in `seed`. */
export function kindDictionary(saeType: string, seed = 7): KindDictionary {
  const kind = kindOf(saeType);
  const raw = { ...common, ...CONFIGS[saeType], model_name: 'pdlm-4l-256' };
  if (saeType === 'molt') delete (raw as { d_sae?: number }).d_sae;
  const cfg = parseConfig(kind.schema, raw, `${saeType} test config`);
  const init = kind.init(cfg, seed);
  const u = uniformGenerator(seed + 1);
  // The trainable tensors only, as a dictionary file loads (the buffers come from the config).
  const params: HostParams = {};
  for (const name of kind.trainable(cfg)) {
    const t = init[name]!;
    params[name] = { data: t.data.map((v) => v * (1 + u(0.5))), shape: t.shape };
  }
  return { name: `tiny-${saeType}`, kind, cfg, params };
}

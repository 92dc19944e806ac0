/**
 * The wizard's fields for the dictionary kinds beyond `sae` (lm-saes `sae_type`): which hooks each reads and writes,
 * Lorsa's attention shape and rotary settings, MoLT's rank table — their defaults on the chosen model, and the
 * kind-specific part of the `sae` section of the train config they become. A `null` field follows the model (the
 * default); a value the user typed is kept.
 */
import { DICTIONARY_KIND_TEXTS } from '../../../protocol/dictionary-kinds';
import { hookName } from '../../../protocol/hook-names';
import type { ModelInfo } from '../../../protocol/models';
import { DICTIONARY_KINDS, type DictionaryKindName } from '../../../protocol/run-config';

/** The kinds in the order the wizard offers them, with their short name, label and one-paragraph explanation. */
export const KIND_OPTIONS = DICTIONARY_KINDS.map((value) => ({ value, ...DICTIONARY_KIND_TEXTS[value] }));

export interface LorsaRotaryForm {
  positional: 'rotary' | 'none';
  rotaryDim: number | '';
  rotaryBase: number | '';
  adjacentPairs: boolean;
}

export interface RankCountRow {
  rank: number | '';
  count: number | '';
}

export interface KindForm {
  saeType: DictionaryKindName;
  /** Crosscoder: its heads, one hook each (null: resid_post of layers 1–3). */
  crosscoderHooks: string[] | null;
  /** CLT: the layers it spans, ln2.hook_normalized → hook_mlp_out of each (null: every layer). */
  cltFirstLayer: number | '' | null;
  cltLastLayer: number | '' | null;
  /** Lorsa: the attention layer it replaces, ln1.hook_normalized → hook_attn_out (null: the middle layer). */
  lorsaLayer: number | '' | null;
  /** Lorsa's QK heads, their width and its context (null: the model's heads, head width and context). */
  nQkHeads: number | '' | null;
  dQkHead: number | '' | null;
  nCtx: number | '' | null;
  /** Lorsa's positions (null: the model's own rotary settings, or none for learned positions). */
  lorsaRotary: LorsaRotaryForm | null;
  /** MoLT: rank → number of transforms; d_sae is their sum. */
  rankCounts: RankCountRow[];
}

export function defaultKindForm(): KindForm {
  return {
    saeType: 'sae',
    crosscoderHooks: null,
    cltFirstLayer: null,
    cltLastLayer: null,
    lorsaLayer: null,
    nQkHeads: null,
    dQkHead: null,
    nCtx: null,
    lorsaRotary: null,
    rankCounts: [
      { rank: 1, count: 256 },
      { rank: 2, count: 128 },
      { rank: 4, count: 64 },
      { rank: 8, count: 32 },
    ],
  };
}

/** Small first choices per kind on a model like pdlm-4l-256 (d_model 256): latents, k and the dictionary's name. */
export const KIND_DEFAULTS: Record<DictionaryKindName, { dSae: number; topK: number }> = {
  sae: { dSae: 4096, topK: 32 },
  crosscoder: { dSae: 2048, topK: 32 },
  clt: { dSae: 1024, topK: 16 },
  lorsa: { dSae: 1024, topK: 16 },
  molt: { dSae: 480, topK: 16 },
};

/** resid_post of layers 1–3 (or as many as the model has, from layer 1 where there is one). */
export function defaultCrosscoderHooks(model: ModelInfo): string[] {
  const first = model.nLayers > 1 ? 1 : 0;
  const hooks: string[] = [];
  for (let l = first; l < Math.min(model.nLayers, first + 3); l++) hooks.push(hookName(l, 'resid_post'));
  return hooks.filter((h) => model.hookNames.includes(h));
}

export function lorsaRotaryOf(model: ModelInfo): LorsaRotaryForm {
  const r = model.rotary;
  return r
    ? { positional: 'rotary', rotaryDim: r.dim, rotaryBase: r.base, adjacentPairs: r.adjacentPairs }
    : { positional: 'none', rotaryDim: model.dHead, rotaryBase: 10000, adjacentPairs: false };
}

/** The kind fields with every `null` replaced by the model's value (unchanged without a model). */
export function resolveKindFields(k: KindForm, model: ModelInfo | null): KindForm {
  if (!model) return k;
  const hooks = k.crosscoderHooks?.filter((h) => model.hookNames.includes(h)) ?? defaultCrosscoderHooks(model);
  return {
    ...k,
    crosscoderHooks: hooks,
    cltFirstLayer: k.cltFirstLayer ?? 0,
    cltLastLayer: k.cltLastLayer ?? model.nLayers - 1,
    lorsaLayer: k.lorsaLayer ?? Math.floor(model.nLayers / 2),
    nQkHeads: k.nQkHeads ?? model.nHeads,
    dQkHead: k.dQkHead ?? model.dHead,
    nCtx: k.nCtx ?? model.nCtx,
    lorsaRotary: k.lorsaRotary ?? lorsaRotaryOf(model),
  };
}

/** The layers first..last (empty when either is missing or last < first). */
export function layerRange(first: number | '' | null, last: number | '' | null): number[] {
  if (typeof first !== 'number' || typeof last !== 'number' || last < first) return [];
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** The CLT's hooks: ln2.hook_normalized → hook_mlp_out of each layer of its range. */
export function cltHooks(k: KindForm): { in: string[]; out: string[] } {
  const layers = layerRange(k.cltFirstLayer, k.cltLastLayer);
  return {
    in: layers.map((l) => hookName(l, 'ln2.hook_normalized')),
    out: layers.map((l) => hookName(l, 'mlp_out')),
  };
}

/** A MoLT replaces an MLP: the MLP's input and output of the layer. */
export function moltHooks(layer: number): { hookIn: string; hookOut: string } {
  return { hookIn: hookName(layer, 'ln2.hook_normalized'), hookOut: hookName(layer, 'mlp_out') };
}

/** MoLT's d_sae: Σ counts of the complete rows (null while none is complete). */
export function rankCountsSum(rows: readonly RankCountRow[]): number | null {
  const complete = rows.filter((r) => typeof r.count === 'number' && typeof r.rank === 'number');
  return complete.length === 0 ? null : complete.reduce((s, r) => s + (r.count as number), 0);
}

/** The rank table as lm-saes's rank_counts ({"1": 256, …}); a row missing its rank or count is left out. */
export function rankCountsConfig(rows: readonly RankCountRow[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) if (typeof r.rank === 'number' && typeof r.count === 'number') out[String(r.rank)] = r.count;
  return out;
}

const num = (v: number | '' | null) => (typeof v === 'number' ? v : undefined);

/** The kind-specific fields of the `sae` section (hooks, shapes); the shared ones (act_fn, d_sae, k) are added by the caller. */
export function kindSaeFields(k: KindForm, hooks: { hookIn: string; hookOut: string }): Record<string, unknown> {
  switch (k.saeType) {
    case 'sae':
      return {};
    case 'crosscoder':
      return { hook_points: k.crosscoderHooks ?? undefined };
    case 'clt': {
      const h = cltHooks(k);
      return { hook_points_in: h.in, hook_points_out: h.out };
    }
    case 'lorsa': {
      const layer = num(k.lorsaLayer);
      const r = k.lorsaRotary;
      return {
        hook_point_in: layer === undefined ? undefined : hookName(layer, 'ln1.hook_normalized'),
        hook_point_out: layer === undefined ? undefined : hookName(layer, 'attn_out'),
        n_qk_heads: num(k.nQkHeads),
        d_qk_head: num(k.dQkHead),
        n_ctx: num(k.nCtx),
        positional_embedding_type: r?.positional,
        rotary_dim: r ? num(r.rotaryDim) : undefined,
        rotary_base: r ? num(r.rotaryBase) : undefined,
        rotary_adjacent_pairs: r?.adjacentPairs,
      };
    }
    case 'molt':
      return {
        hook_point_in: hooks.hookIn,
        hook_point_out: hooks.hookOut,
        rank_counts: rankCountsConfig(k.rankCounts),
      };
  }
}

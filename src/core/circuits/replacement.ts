// The replacement model (spec §6.1): dictionaries placed on a model's sublayers. Every MLP is replaced by a per-layer
// transcoder (`sae` kind, hook_point_in ≠ hook_point_out) or by one layer of a CLT; each attention layer by a Lorsa
// or by nothing (the real attention, with its patterns frozen). Validation names the dictionary, the hook and what
// was expected, in one line.
import type { DictionaryKind, KindConfigBase } from '../dictionary/kind';
import type { HostParams } from '../sae/host-tensor';
import { InputError } from '../errors';
import type { ModelConfig } from '../lm/model-config';
import type { ActivationBasis } from '../../protocol/kind-configs/common';
import { hookLayer, hookName, type BlockHook } from '../../protocol/hook-names';
import type { Sublayer } from '../../protocol/circuits/graph';

/** A dictionary with the name the graph gives its features (a name in the dictionary set). */
export interface NamedDictionary {
  name: string;
  kind: DictionaryKind;
  cfg: KindConfigBase;
  params: HostParams;
}

export type SiteRole = 'transcoder' | 'clt' | 'lorsa';

/** One layer of a site: where it reads and writes on the model. A CLT has one slot per layer it covers. */
export interface SiteSlot {
  layer: number;
  inHook: string;
  outHook: string;
  /** The input is a norm's output (ln1/ln2.hook_normalized): gradients there pass through the frozen norm. */
  inAfterNorm: boolean;
  /** The output is ln1_post/ln2_post.hook_in (Gemma 2): the frozen post-norm sits between it and the residual. */
  outBeforePostNorm: boolean;
}

export interface ReplacementSite {
  name: string;
  role: SiteRole;
  sublayer: Sublayer;
  kind: DictionaryKind;
  cfg: KindConfigBase;
  params: HostParams;
  /** In the dictionary's layer order (a CLT's hook_points_in order); slot a is feature axis a. */
  slots: SiteSlot[];
}

export interface SlotRef {
  site: number;
  slot: number;
}

export interface ReplacementModel {
  cfg: ModelConfig;
  basis: ActivationBasis;
  sites: ReplacementSite[];
  /** Per layer: the slot replacing its MLP. */
  mlp: SlotRef[];
  /** Per layer: the Lorsa slot replacing its attention, or null (real attention, frozen patterns). */
  attn: (SlotRef | null)[];
}

/** What describeReplacement needs of a model (a HookedTransformer has all three). */
export interface ModelShape {
  cfg: ModelConfig;
  basis: ActivationBasis;
  hookNames: string[];
}

const IN_HOOKS: Record<Sublayer, { normed: BlockHook; raw: (cfg: ModelConfig) => BlockHook }> = {
  attn: { normed: 'ln1.hook_normalized', raw: () => 'hook_resid_pre' },
  mlp: { normed: 'ln2.hook_normalized', raw: (cfg) => (cfg.parallelResidual ? 'hook_resid_pre' : 'hook_resid_mid') },
};
const OUT_HOOKS: Record<Sublayer, { out: BlockHook; prePost: BlockHook }> = {
  attn: { out: 'hook_attn_out', prePost: 'ln1_post.hook_in' },
  mlp: { out: 'hook_mlp_out', prePost: 'ln2_post.hook_in' },
};

function slotFor(
  d: NamedDictionary,
  fields: [string, string],
  sublayer: Sublayer,
  inHook: string,
  outHook: string,
  m: ModelShape,
): SiteSlot {
  const known = new Set(m.hookNames);
  const field = `${fields[0]}/${fields[1]}`;
  [inHook, outHook].forEach((h, i) => {
    if (!known.has(h))
      throw new InputError(
        `dictionary '${d.name}': field '${fields[i]}': '${h}' is not a hook of this ${m.cfg.architecture} model (${m.cfg.nLayers} layers)`,
      );
  });
  const layer = hookLayer(inHook);
  if (layer === null || hookLayer(outHook) !== layer)
    throw new InputError(
      `dictionary '${d.name}': field '${field}': reads '${inHook}' and writes '${outHook}'; a replacement site reads and writes one layer`,
    );
  const ins = IN_HOOKS[sublayer];
  const outs = OUT_HOOKS[sublayer];
  const inOk = [ins.normed, ins.raw(m.cfg)].map((h) => hookName(layer, h));
  const outOk = [outs.out, ...(m.cfg.postNorms ? [outs.prePost] : [])].map((h) => hookName(layer, h));
  if (!inOk.includes(inHook) || !outOk.includes(outHook))
    throw new InputError(
      `dictionary '${d.name}': field '${field}': a ${sublayer === 'mlp' ? 'transcoder' : 'Lorsa'} site reads ${inOk.join(' or ')} and writes ${outOk.join(' or ')}; got '${inHook}' → '${outHook}'`,
    );
  return {
    layer,
    inHook,
    outHook,
    inAfterNorm: inHook === hookName(layer, ins.normed),
    outBeforePostNorm: outHook === hookName(layer, outs.prePost),
  };
}

function siteOf(d: NamedDictionary, m: ModelShape): ReplacementSite {
  const c = d.cfg as KindConfigBase & Record<string, unknown>;
  const base = { name: d.name, kind: d.kind, cfg: d.cfg, params: d.params };
  switch (d.kind.saeType) {
    case 'sae': {
      const [i, o] = [c.hook_point_in as string, c.hook_point_out as string];
      if (i === o)
        throw new InputError(
          `dictionary '${d.name}': field 'hook_point_out': an SAE (hook_point_in = hook_point_out = '${i}') replaces nothing; a replacement site is a transcoder`,
        );
      return {
        ...base,
        role: 'transcoder',
        sublayer: 'mlp',
        slots: [slotFor(d, ['hook_point_in', 'hook_point_out'], 'mlp', i, o, m)],
      };
    }
    case 'clt': {
      const ins = c.hook_points_in as string[];
      const outs = c.hook_points_out as string[];
      const slots = ins.map((h, l) =>
        slotFor(d, [`hook_points_in[${l}]`, `hook_points_out[${l}]`], 'mlp', h, outs[l]!, m),
      );
      slots.forEach((s, l) => {
        if (l > 0 && s.layer <= slots[l - 1]!.layer)
          throw new InputError(
            `dictionary '${d.name}': field 'hook_points_in': layers must increase (got ${slots.map((x) => x.layer).join(', ')})`,
          );
      });
      return { ...base, role: 'clt', sublayer: 'mlp', slots };
    }
    case 'lorsa': {
      const [i, o] = [c.hook_point_in as string, c.hook_point_out as string];
      return {
        ...base,
        role: 'lorsa',
        sublayer: 'attn',
        slots: [slotFor(d, ['hook_point_in', 'hook_point_out'], 'attn', i, o, m)],
      };
    }
    default:
      throw new InputError(
        `dictionary '${d.name}': field 'sae_type': a '${d.kind.saeType}' cannot be a replacement site (expected a transcoder 'sae', a 'clt' or a 'lorsa')`,
      );
  }
}

/**
 * Places `dictionaries` on the model and checks that together they replace every MLP exactly once and each
 * attention layer at most once, with the model's d_model and activation basis.
 */
export function describeReplacement(model: ModelShape, dictionaries: readonly NamedDictionary[]): ReplacementModel {
  const cfg = model.cfg;
  if (dictionaries.length === 0) throw new InputError('replacement model: no dictionaries given');
  const names = new Set<string>();
  const sites: ReplacementSite[] = [];
  const mlp: (SlotRef | null)[] = Array.from({ length: cfg.nLayers }, () => null);
  const attn: (SlotRef | null)[] = Array.from({ length: cfg.nLayers }, () => null);
  for (const d of dictionaries) {
    if (names.has(d.name)) throw new InputError(`replacement model: two dictionaries are named '${d.name}'`);
    names.add(d.name);
    if (d.cfg.d_model !== cfg.dModel)
      throw new InputError(
        `dictionary '${d.name}': field 'd_model': ${d.cfg.d_model}, but the model's d_model is ${cfg.dModel}`,
      );
    if (d.cfg.activation_basis !== model.basis)
      throw new InputError(
        `dictionary '${d.name}': field 'activation_basis': '${d.cfg.activation_basis}', but the model runs in the '${model.basis}' basis`,
      );
    const site = siteOf(d, model);
    const index = sites.length;
    sites.push(site);
    const table = site.sublayer === 'mlp' ? mlp : attn;
    site.slots.forEach((s, slot) => {
      const prev = table[s.layer];
      if (prev)
        throw new InputError(
          `dictionaries '${sites[prev.site]!.name}' and '${d.name}' both replace layer ${s.layer}'s ${site.sublayer === 'mlp' ? 'MLP' : 'attention'}`,
        );
      table[s.layer] = { site: index, slot };
    });
  }
  const missing = mlp.findIndex((s) => s === null);
  if (missing >= 0)
    throw new InputError(
      `replacement model: no transcoder or CLT replaces layer ${missing}'s MLP (${hookName(missing, 'ln2.hook_normalized')} → ${hookName(missing, 'hook_mlp_out')}); every MLP needs one`,
    );
  return { cfg, basis: model.basis, sites, mlp: mlp as SlotRef[], attn };
}

// The cross-layer transcoder's config.json (lm-saes `CLTConfig`, sae_type 'clt'): L encoders, one per
// hook_points_in[l], and L(L+1)/2 decoders from each source layer s into every target layer t ≥ s.
import { z } from 'zod';
import { checkTopK, commonKindFields, resolveDSae } from './common';

/** The CLT's own fields (beyond the shared ones), with lm-saes's names and defaults. */
export const cltOwnFields = {
  sae_type: z.literal('clt'),
  /** One input hook per layer (e.g. blocks.{l}.ln2.hook_normalized), in layer order. */
  hook_points_in: z.array(z.string().min(1)),
  /** One output hook per layer (e.g. blocks.{l}.hook_mlp_out), the same count as hook_points_in. */
  hook_points_out: z.array(z.string().min(1)),
  /** Initialise the cross-layer decoders W_D.{t}[s < t] to zero (only the same-layer decoders start random). */
  init_cross_layer_decoder_all_zero: z.boolean().default(false),
};

export const CltConfigObject = z.strictObject({ ...commonKindFields, ...cltOwnFields });

function firstDuplicate(hooks: string[]): number {
  return hooks.findIndex((h, i) => hooks.indexOf(h) !== i);
}

export const CltConfigSchema = CltConfigObject.transform((c, ctx) => {
  const dSae = resolveDSae(c, ctx);
  if (dSae === null) return z.NEVER;
  const L = c.hook_points_in.length;
  if (L === 0) {
    ctx.addIssue({ code: 'custom', path: ['hook_points_in'], message: 'needs at least one hook (one per layer)' });
    return z.NEVER;
  }
  if (c.hook_points_out.length !== L) {
    ctx.addIssue({
      code: 'custom',
      path: ['hook_points_out'],
      message: `must have one hook per layer, as many as hook_points_in (${L}), got ${c.hook_points_out.length}`,
    });
    return z.NEVER;
  }
  for (const field of ['hook_points_in', 'hook_points_out'] as const) {
    const dup = firstDuplicate(c[field]);
    if (dup >= 0) {
      ctx.addIssue({
        code: 'custom',
        path: [field, dup],
        message: `'${c[field][dup]}' appears twice; each layer reads (or writes) its own hook`,
      });
      return z.NEVER;
    }
  }
  // topk: k of a (token, layer)'s F; batchtopk: k·B of a layer's B×F; layertopk: k of a token's L×F;
  // batchlayertopk: k·B of the batch's B×L×F.
  const layerWide = c.act_fn === 'layertopk' || c.act_fn === 'batchlayertopk';
  const selectable = layerWide ? L * dSae : dSae;
  if (!checkTopK(c, selectable, layerWide ? 'n_layers × d_sae' : 'd_sae', ctx)) return z.NEVER;
  return { ...c, d_sae: dSae, expansion_factor: dSae / c.d_model };
});

export type CltConfigInput = z.input<typeof CltConfigSchema>;
export type CltConfig = z.output<typeof CltConfigSchema>;

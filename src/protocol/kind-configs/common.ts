// The fields every dictionary kind shares (lm-saes `SparseDictionaryConfig`), for the kinds' own schemas in this
// folder. The `sae` kind keeps its schema in ../dictionary-config.ts; crosscoder, clt, lorsa and molt each have a
// file here, and index.ts joins them on `sae_type`.
import { z } from 'zod';
import { NORM_ACTIVATIONS } from '../dictionary-config';

/** Activation functions of the family; the layer-wide TopK variants exist for the CLT only. */
export const KIND_ACT_FNS = ['relu', 'jumprelu', 'topk', 'batchtopk', 'layertopk', 'batchlayertopk'] as const;
export type KindActFn = (typeof KIND_ACT_FNS)[number];

/**
 * The basis the model's activations were taken in. `unprocessed`: the checkpoint's weights as they are (Hugging
 * Face, lm-saes's `huggingface` backend, SAE Studio's default). `transformer-lens`: after TransformerLens's default
 * `load_and_process_state_dict` (fold_ln, center_writing_weights, center_unembed, fold_value_biases), which
 * lm-saes's `transformer_lens` backend applies. See src/core/lm/weight-processing.ts.
 */
export const ACTIVATION_BASES = ['unprocessed', 'transformer-lens'] as const;
export type ActivationBasis = (typeof ACTIVATION_BASES)[number];

const positiveInt = z.number().int().positive();

/** Spread into a kind's z.strictObject({...}). */
export const commonKindFields = {
  d_model: positiveInt,
  expansion_factor: z.number().positive().optional(),
  d_sae: positiveInt.optional(),
  act_fn: z.enum(KIND_ACT_FNS).default('relu'),
  top_k: positiveInt.default(50),
  jumprelu_threshold: z.number().positive().default(0.001),
  jumprelu_threshold_window: z.number().positive().default(2.0),
  use_decoder_bias: z.boolean().default(true),
  norm_activation: z.enum(NORM_ACTIVATIONS).default('dataset-wise'),
  sparsity_include_decoder_norm: z.boolean().default(true),
  /** lm-saes's mean ‖x‖ per hook (the `dataset_average_activation_norm.<hook>` scalars), when dataset-wise. */
  dataset_average_activation_norm: z.record(z.string(), z.number().positive()).nullable().default(null),
  model_name: z.string().nullable().default(null),
  activation_basis: z.enum(ACTIVATION_BASES).default('unprocessed'),
  dtype: z.enum(['float32']).default('float32'),
};

/** The output of the common fields once d_sae is resolved. */
export interface CommonKindConfig {
  d_model: number;
  d_sae: number;
  expansion_factor: number;
  act_fn: KindActFn;
  top_k: number;
  jumprelu_threshold: number;
  jumprelu_threshold_window: number;
  use_decoder_bias: boolean;
  norm_activation: (typeof NORM_ACTIVATIONS)[number];
  sparsity_include_decoder_norm: boolean;
  dataset_average_activation_norm: Record<string, number> | null;
  model_name: string | null;
  activation_basis: ActivationBasis;
  dtype: 'float32';
}

/**
 * d_sae from d_sae or d_model × expansion_factor (lm-saes: int(d_model · expansion_factor)); adds a zod issue on
 * `ctx` and returns null when neither is usable. A kind's `.transform` calls it first.
 */
export function resolveDSae(
  c: { d_model: number; d_sae?: number | undefined; expansion_factor?: number | undefined },
  ctx: z.RefinementCtx,
): number | null {
  if (c.d_sae !== undefined) {
    if (c.expansion_factor !== undefined && Math.trunc(c.d_model * c.expansion_factor + 1e-9) !== c.d_sae) {
      ctx.addIssue({
        code: 'custom',
        path: ['d_sae'],
        message: `must equal int(d_model × expansion_factor) = ${Math.trunc(c.d_model * c.expansion_factor + 1e-9)}`,
      });
      return null;
    }
    return c.d_sae;
  }
  if (c.expansion_factor === undefined) {
    ctx.addIssue({ code: 'custom', path: ['expansion_factor'], message: 'give expansion_factor or d_sae' });
    return null;
  }
  const dSae = Math.trunc(c.d_model * c.expansion_factor + 1e-9);
  if (dSae < 1) {
    ctx.addIssue({
      code: 'custom',
      path: ['expansion_factor'],
      message: `d_model × expansion_factor = ${c.d_model} × ${c.expansion_factor} gives ${dSae} latents; a dictionary needs at least 1`,
    });
    return null;
  }
  return dSae;
}

/** TopK-family activation functions keep top_k latents; checks top_k against what one selection can hold. */
export function checkTopK(
  c: { act_fn: KindActFn; top_k: number },
  selectable: number,
  what: string,
  ctx: z.RefinementCtx,
): boolean {
  if (c.act_fn === 'relu' || c.act_fn === 'jumprelu') return true;
  if (c.top_k > selectable) {
    ctx.addIssue({ code: 'custom', path: ['top_k'], message: `must be at most ${what} = ${selectable}` });
    return false;
  }
  return true;
}

/** A layer-wide TopK outside the CLT is an error naming act_fn. */
export function checkNotLayerTopK(c: { act_fn: KindActFn }, kind: string, ctx: z.RefinementCtx): boolean {
  if (c.act_fn === 'layertopk' || c.act_fn === 'batchlayertopk') {
    ctx.addIssue({
      code: 'custom',
      path: ['act_fn'],
      message: `'${c.act_fn}' selects across the layers of a cross-layer transcoder; a ${kind} takes relu, jumprelu, topk or batchtopk`,
    });
    return false;
  }
  return true;
}

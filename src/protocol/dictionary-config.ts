// The dictionary's own config (saved beside its weights as config.json, lm-saes field names) and its vocabulary.
// The run config (data, optimizer, schedule) is separate: see run-config.ts.
import { z } from 'zod';

export const SAE_TYPES = ['sae'] as const;
export type SaeType = (typeof SAE_TYPES)[number];
export const ACT_FNS = ['relu', 'jumprelu', 'topk', 'batchtopk'] as const;
export type ActFn = (typeof ACT_FNS)[number];
export const NORM_ACTIVATIONS = ['token-wise', 'batch-wise', 'dataset-wise', 'inference'] as const;
export type NormActivation = (typeof NORM_ACTIVATIONS)[number];

/** TopK and BatchTopK keep k latents per token (on average): top_k matters and no sparsity penalty is needed. */
export function usesTopK(actFn: ActFn): boolean {
  return actFn === 'topk' || actFn === 'batchtopk';
}

const positiveInt = z.number().int().positive();

export const SaeConfigSchema = z
  .strictObject({
    sae_type: z.enum(SAE_TYPES).default('sae'),
    hook_point_in: z.string().min(1),
    /** Differs from hook_point_in for a transcoder. */
    hook_point_out: z.string().min(1).optional(),
    d_model: positiveInt,
    expansion_factor: z.number().positive().optional(),
    d_sae: positiveInt.optional(),
    act_fn: z.enum(ACT_FNS).default('relu'),
    top_k: positiveInt.default(50),
    /** JumpReLU: initial threshold θ (log θ is learned) and the rectangle kernel width ε of its straight-through estimator. */
    jumprelu_threshold: z.number().positive().default(0.001),
    jumprelu_threshold_window: z.number().positive().default(2.0),
    use_decoder_bias: z.boolean().default(true),
    /** Subtract b_D from the input before encoding (default: true for an SAE, false for a transcoder). */
    apply_decoder_bias_to_pre_encoder: z.boolean().optional(),
    norm_activation: z.enum(NORM_ACTIVATIONS).default('dataset-wise'),
    sparsity_include_decoder_norm: z.boolean().default(true),
    /** sqrt(d_model) / mean ‖x‖ per hook point, when norm_activation is dataset-wise and not yet folded. */
    dataset_average_activation_norm: z.record(z.string(), z.number().positive()).nullable().default(null),
    /** The model and dataset it was trained on (informational; lm-saes keeps them in lm_config.json). */
    model_name: z.string().nullable().default(null),
    /** The basis of the model's activations it was trained in (see kind-configs/common.ts ACTIVATION_BASES). */
    activation_basis: z.enum(['unprocessed', 'transformer-lens']).default('unprocessed'),
    dtype: z.enum(['float32']).default('float32'),
  })
  .transform((c, ctx) => {
    let dSae = c.d_sae;
    if (dSae === undefined) {
      if (c.expansion_factor === undefined) {
        ctx.addIssue({ code: 'custom', path: ['expansion_factor'], message: 'give expansion_factor or d_sae' });
        return z.NEVER;
      }
      dSae = Math.round(c.d_model * c.expansion_factor);
      if (dSae < 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['expansion_factor'],
          message: `d_model × expansion_factor = ${c.d_model} × ${c.expansion_factor} rounds to ${dSae} latents; a dictionary needs at least 1 (expansion_factor ≥ ${0.5 / c.d_model})`,
        });
        return z.NEVER;
      }
    } else if (c.expansion_factor !== undefined && Math.round(c.d_model * c.expansion_factor) !== dSae) {
      ctx.addIssue({
        code: 'custom',
        path: ['d_sae'],
        message: `must equal d_model * expansion_factor = ${c.d_model * c.expansion_factor}`,
      });
      return z.NEVER;
    }
    if (usesTopK(c.act_fn) && c.top_k > dSae) {
      ctx.addIssue({ code: 'custom', path: ['top_k'], message: `must be at most d_sae = ${dSae}` });
      return z.NEVER;
    }
    const hookOut = c.hook_point_out ?? c.hook_point_in;
    const isTranscoder = hookOut !== c.hook_point_in;
    if (isTranscoder && c.apply_decoder_bias_to_pre_encoder === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['apply_decoder_bias_to_pre_encoder'],
        message: 'must be false for a transcoder (b_D lives in the output space)',
      });
      return z.NEVER;
    }
    return {
      ...c,
      d_sae: dSae,
      expansion_factor: dSae / c.d_model,
      hook_point_out: hookOut,
      apply_decoder_bias_to_pre_encoder: c.apply_decoder_bias_to_pre_encoder ?? !isTranscoder,
    };
  });

export type SaeConfigInput = z.input<typeof SaeConfigSchema>;
export type SaeConfig = z.output<typeof SaeConfigSchema>;

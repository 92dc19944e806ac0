// Config of a Lorsa (low-rank sparse attention, lm-saes `sae_type: "lorsa"`): lm-saes's LorsaConfig field names
// and defaults, with its invariants checked here (one issue naming the field) rather than as Python asserts.
import { z } from 'zod';
import { checkNotLayerTopK, checkTopK, commonKindFields, resolveDSae } from './common';

const positiveInt = z.number().int().positive();

export const LORSA_POSITIONAL_EMBEDDINGS = ['rotary', 'none'] as const;

export const LorsaConfigSchema = z
  .strictObject({
    sae_type: z.literal('lorsa'),
    ...commonKindFields,
    /** The attention block's input (e.g. blocks.L.ln1.hook_normalized) and output (blocks.L.hook_attn_out). */
    hook_point_in: z.string().min(1),
    hook_point_out: z.string().min(1),
    n_qk_heads: positiveInt,
    d_qk_head: positiveInt,
    n_ctx: positiveInt,
    positional_embedding_type: z.enum(LORSA_POSITIONAL_EMBEDDINGS).default('rotary'),
    rotary_dim: positiveInt,
    rotary_base: z.number().positive().default(10000),
    /** GPT-J pairs (x0, x1); false for the half-split of GPT-NeoX, Llama and Qwen. */
    rotary_adjacent_pairs: z.boolean().default(true),
    /** Each q/k dimension is repeated (repeat_interleave) this many times before the rotation. */
    rotary_scale: positiveInt.default(1),
    use_NTK_by_parts_rope: z.boolean().default(false),
    NTK_by_parts_factor: z.number().positive().default(1.0),
    NTK_by_parts_low_freq_factor: z.number().positive().default(1.0),
    NTK_by_parts_high_freq_factor: z.number().positive().default(1.0),
    old_context_len: positiveInt.default(2048),
    /** Scores are divided by it; null means √d_qk_head (lm-saes fills it in when the config is built). */
    attn_scale: z.number().positive().nullable().default(null),
    use_post_qk_ln: z.boolean().default(false),
    normalization_type: z.enum(['LN', 'RMS']).nullable().default(null),
    eps: z.number().positive().default(1e-6),
  })
  .transform((c, ctx) => {
    const dSae = resolveDSae(c, ctx);
    if (dSae === null) return z.NEVER;
    const fail = (path: string, message: string) => {
      ctx.addIssue({ code: 'custom', path: [path], message });
      return z.NEVER;
    };
    if (!checkNotLayerTopK(c, 'Lorsa', ctx) || !checkTopK(c, dSae, 'd_sae', ctx)) return z.NEVER;
    if (c.hook_point_out === c.hook_point_in)
      return fail('hook_point_out', 'must differ from hook_point_in (a Lorsa maps the attention input to its output)');
    if (dSae % c.n_qk_heads !== 0)
      return fail(
        'n_qk_heads',
        `must divide d_sae = ${dSae} (the number of OV heads; each QK head serves d_sae / n_qk_heads of them)`,
      );
    if (c.positional_embedding_type === 'rotary') {
      if (c.rotary_dim % 2 !== 0) return fail('rotary_dim', 'must be even (rotary rotates pairs of dimensions)');
      if (c.rotary_dim > c.d_qk_head * c.rotary_scale)
        return fail('rotary_dim', `must be at most d_qk_head × rotary_scale = ${c.d_qk_head * c.rotary_scale}`);
      if (c.use_NTK_by_parts_rope && c.NTK_by_parts_high_freq_factor <= c.NTK_by_parts_low_freq_factor)
        return fail(
          'NTK_by_parts_high_freq_factor',
          `must exceed NTK_by_parts_low_freq_factor = ${c.NTK_by_parts_low_freq_factor} (the Llama-3.1 rule divides by their difference)`,
        );
    }
    if (c.use_post_qk_ln && c.normalization_type !== 'RMS')
      return fail(
        'normalization_type',
        "must be 'RMS' when use_post_qk_ln is true (lm-saes has only a per-head RMSNorm)",
      );
    return {
      ...c,
      d_sae: dSae,
      expansion_factor: dSae / c.d_model,
      attn_scale: c.attn_scale ?? Math.sqrt(c.d_qk_head),
    };
  });

export type LorsaConfigInput = z.input<typeof LorsaConfigSchema>;
export type LorsaConfig = z.output<typeof LorsaConfigSchema>;

// config.json of a crosscoder (lm-saes `CrosscoderConfig`): one dictionary over H hook points ("heads": layers,
// checkpoints or models), read and written at the same hooks. lm-saes asserts sparsity_include_decoder_norm and
// use_decoder_bias, so this schema rejects either set to false.
import { z } from 'zod';
import { checkNotLayerTopK, checkTopK, commonKindFields, resolveDSae } from './common';

export const CrossCoderConfigSchema = z
  .strictObject({
    sae_type: z.literal('crosscoder'),
    ...commonKindFields,
    /** The H heads, in the order of the head axis of W_E, b_E, W_D and b_D. */
    hook_points: z.array(z.string().min(1)),
  })
  .transform((c, ctx) => {
    if (c.hook_points.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['hook_points'], message: 'must name at least one hook point' });
      return z.NEVER;
    }
    const seen = new Set<string>();
    for (const [i, hook] of c.hook_points.entries()) {
      if (seen.has(hook)) {
        ctx.addIssue({
          code: 'custom',
          path: ['hook_points', i],
          message: `'${hook}' is listed twice; each head reads its own hook point`,
        });
        return z.NEVER;
      }
      seen.add(hook);
    }
    if (!c.use_decoder_bias) {
      ctx.addIssue({
        code: 'custom',
        path: ['use_decoder_bias'],
        message: 'must be true for a crosscoder (lm-saes asserts it)',
      });
      return z.NEVER;
    }
    if (!c.sparsity_include_decoder_norm) {
      ctx.addIssue({
        code: 'custom',
        path: ['sparsity_include_decoder_norm'],
        message: 'must be true for a crosscoder (lm-saes asserts it: each head gates on its own decoder norm)',
      });
      return z.NEVER;
    }
    if (!checkNotLayerTopK(c, 'crosscoder', ctx)) return z.NEVER;
    const dSae = resolveDSae(c, ctx);
    if (dSae === null) return z.NEVER;
    if (!checkTopK(c, dSae, 'd_sae', ctx)) return z.NEVER;
    return { ...c, d_sae: dSae, expansion_factor: dSae / c.d_model };
  });

export type CrossCoderConfigInput = z.input<typeof CrossCoderConfigSchema>;
export type CrossCoderConfig = z.output<typeof CrossCoderConfigSchema>;

// The settings of one attribution run (the engine in src/core/circuits, spec §6.3–§6.4), with lm-saes's field
// names where lm-saes has the field and circuit-tracer's defaults (the CLI's, where its API and CLI differ):
//   max_feature_nodes   7500  circuit-tracer CLI (its API: None = all; lm-saes server: 256); null = every active feature
//   desired_logit_prob  0.95  circuit-tracer (lm-saes server: 0.98)
//   max_n_logits        10    circuit-tracer (lm-saes server: 1)
//   batch_size          256   circuit-tracer CLI (its API: 512; lm-saes server: 10)
//   update_interval     4     circuit-tracer (lm-saes: 1)
//   zero_first_positions 1    circuit-tracer's zero_bos (lm-saes: 0): features and errors at the first positions
//                             are not nodes (their contributions join the constants)
//   dtype               float32 (float64 for the exact checks)
import { z } from 'zod';

const tokenId = z.number().int().nonnegative();

/** What the rows explain: the top logits (default), chosen tokens, one logit difference, or chosen features. */
export const AttributionTargetsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('top-logits') }),
  /** Logits of these tokens at the last position, weighted by their probabilities. */
  z.strictObject({ type: z.literal('tokens'), ids: z.array(tokenId).min(1) }),
  /** logit(positive) − logit(negative) at the last position, weight 1. */
  z.strictObject({ type: z.literal('logit-difference'), positive: tokenId, negative: tokenId }),
  /** Pre-activations of these features (dictionary name, source layer, position, index), weight 1 each. */
  z.strictObject({
    type: z.literal('features'),
    features: z
      .array(
        z.strictObject({
          dictionary: z.string().min(1),
          layer: z.number().int().nonnegative(),
          pos: z.number().int().nonnegative(),
          feature: z.number().int().nonnegative(),
        }),
      )
      .min(1),
  }),
]);
export type AttributionTargets = z.infer<typeof AttributionTargetsSchema>;

export const AttributionSettingsSchema = z.strictObject({
  max_feature_nodes: z.number().int().positive().nullable().default(7500),
  desired_logit_prob: z.number().gt(0).lte(1).default(0.95),
  max_n_logits: z.number().int().positive().default(10),
  batch_size: z.number().int().positive().default(256),
  update_interval: z.number().int().positive().default(4),
  zero_first_positions: z.number().int().nonnegative().default(1),
  dtype: z.enum(['float32', 'float64']).default('float32'),
  targets: AttributionTargetsSchema.default({ type: 'top-logits' }),
});
export type AttributionSettingsInput = z.input<typeof AttributionSettingsSchema>;
export type AttributionSettings = z.output<typeof AttributionSettingsSchema>;

// Steering a language model with one dictionary feature: the request (mode, strength, positions, sampling) and the
// two continuations it returns, steered and unsteered, with the feature's activation on every token.
import { z } from 'zod';

export const STEER_MODES = ['add', 'clamp'] as const;
export type SteerMode = (typeof STEER_MODES)[number];

/** Where the intervention applies: every position, the prompt's, the generated ones', or absolute positions. */
export const SteerPositionsSchema = z.union([
  z.enum(['all', 'prompt', 'generated']),
  z.array(z.number().int().min(0).max(100_000)).min(1).max(4096),
]);
export type SteerPositions = z.infer<typeof SteerPositionsSchema>;

/** The feature-independent part of a steering request (what the core takes beside the dictionary and prompt). */
export const SteeringSettingsSchema = z.strictObject({
  /** 'add': strength × the decoder row; 'clamp': the feature's encoder pre-activation set to `strength`. */
  mode: z.enum(STEER_MODES).default('add'),
  strength: z.number().min(-1e6).max(1e6),
  positions: SteerPositionsSchema.default('all'),
  maxNewTokens: z.number().int().min(1).max(256).default(24),
  /** 0 is greedy. */
  temperature: z.number().min(0).max(10).default(0),
  topK: z.number().int().min(1).max(1_000_000).optional(),
  seed: z.number().int().min(0).max(4294967295).default(0),
});
export type SteeringSettings = z.output<typeof SteeringSettingsSchema>;
export type SteeringSettingsInput = z.input<typeof SteeringSettingsSchema>;

export const SteerFeatureRequestSchema = SteeringSettingsSchema.extend({
  dictionary: z.string().min(1).max(500),
  index: z.number().int().min(0),
  prompt: z.string().min(1).max(20_000),
});

export const SteeredTextSchema = z.object({
  /** Every token of prompt + continuation, as text. */
  tokens: z.array(z.string()),
  ids: z.array(z.number().int()),
  /** The feature's activation on each token (the dictionary re-encoding the hook, steering included). */
  activations: z.array(z.number()),
  /** The continuation alone, decoded. */
  text: z.string(),
});
export type SteeredText = z.infer<typeof SteeredTextSchema>;

export const SteerFeatureResponseSchema = z.object({
  model: z.string(),
  /** The hooks the intervention writes to. */
  hooks: z.array(z.string()),
  promptLength: z.number().int(),
  /** Absolute positions (prompt and continuation) the intervention touched. */
  steeredPositions: z.array(z.number().int()),
  unsteered: SteeredTextSchema,
  steered: SteeredTextSchema,
});
export type SteerFeatureResponse = z.infer<typeof SteerFeatureResponseSchema>;

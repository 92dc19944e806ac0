/**
 * Auto-interpretation in the studio service: the explainer (a local model folder or an OpenAI-compatible endpoint),
 * the request that starts an 'autointerp' job, its job spec and result, and the editable prompt templates.
 * The endpoint's API key is a field of the start request only: the service hands it to the job's process
 * environment, and it is in no job spec, event, record or log.
 */
import { z } from 'zod';
import { BACKEND_REQUESTS } from './run-config';

export const ExplainerSpecSchema = z.discriminatedUnion('backend', [
  /** A model folder or a bundled model's name, run by SAE Studio's own runner. */
  z.strictObject({ backend: z.literal('local'), model: z.string().min(1) }),
  /** e.g. https://api.openai.com/v1 with a model id. */
  z.strictObject({ backend: z.literal('openai'), baseUrl: z.string().url(), model: z.string().min(1) }),
]);
export type ExplainerSpecInput = z.infer<typeof ExplainerSpecSchema>;

export const AUTOINTERP_SCORERS = ['detection', 'fuzzing'] as const;

/** What may be changed of lm-saes's AutoInterpConfig from the app (the rest keeps lm-saes's defaults). */
export const AutointerpSettingsSchema = z.strictObject({
  scorers: z.array(z.enum(AUTOINTERP_SCORERS)).default(['detection', 'fuzzing']),
  maxTokens: z.number().int().positive().max(8192).default(512),
  temperature: z.number().min(0).max(2).default(0),
  overwriteExisting: z.boolean().default(false),
  seed: z.number().int().nonnegative().default(42),
});

export const StartExplainRequestSchema = z.strictObject({
  dictionary: z.string().min(1),
  /** 'all', or indices and ranges: '0-99,120'. */
  features: z.string().min(1).default('all'),
  explainer: ExplainerSpecSchema,
  /** For an endpoint that needs one; kept in memory, passed to the job's environment only. */
  apiKey: z.string().min(1).optional(),
  settings: AutointerpSettingsSchema.default({
    scorers: ['detection', 'fuzzing'],
    maxTokens: 512,
    temperature: 0,
    overwriteExisting: false,
    seed: 42,
  }),
  backend: z.enum(BACKEND_REQUESTS).default('auto'),
});

export const AutointerpJobSpecSchema = z.object({
  kind: z.literal('autointerp'),
  dictionary: z.string().min(1),
  features: z.union([z.literal('all'), z.array(z.number().int().nonnegative())]),
  explainer: ExplainerSpecSchema,
  settings: AutointerpSettingsSchema,
  backend: z.enum(BACKEND_REQUESTS),
});
export type AutointerpJobSpec = z.infer<typeof AutointerpJobSpecSchema>;

const count = z.number().int().nonnegative();
export const AutointerpResultSchema = z.object({
  kind: z.literal('autointerp'),
  dictionary: z.string().min(1),
  explainer: z.object({ backend: z.string(), model: z.string() }),
  total: count,
  explained: count,
  skipped: count,
  failed: count,
  seconds: z.number().nonnegative(),
});

export const PROMPT_TEMPLATE_NAMES = ['explanationSystem', 'detectionSystem', 'fuzzingSystem'] as const;
export const PromptTemplatesSchema = z.strictObject({
  /** `{cot_prompt}`: lm-saes's chain-of-thought steps. */
  explanationSystem: z.string().min(1),
  /** `{n_examples}`: the number of examples shown. */
  detectionSystem: z.string().min(1),
  fuzzingSystem: z.string().min(1),
});
export const ExplainPromptsSchema = z.object({ templates: PromptTemplatesSchema, defaults: PromptTemplatesSchema });
/** Null resets every template to lm-saes's. */
export const SetExplainPromptsRequestSchema = z.strictObject({ templates: PromptTemplatesSchema.partial().nullable() });

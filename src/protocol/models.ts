/** Language models the studio can train on: the bundled ones, and the check of a user-chosen Hugging Face folder. */
import { z } from 'zod';
import { FieldIssueSchema } from './service-error';

const positiveInt = z.number().int().positive();

export const ModelInfoSchema = z.object({
  /** The bundled model's name, or the folder's base name. */
  name: z.string().min(1),
  /** What a train config's `model` field takes: the bundled name, or the folder's absolute path. */
  ref: z.string().min(1),
  bundled: z.boolean(),
  /** Internal architecture (gpt2, llama, qwen2, qwen3, gemma2, gpt_neox) and config.json's `model_type`. */
  architecture: z.string().min(1),
  modelType: z.string().min(1),
  nLayers: positiveInt,
  dModel: positiveInt,
  nHeads: positiveInt,
  dVocab: positiveInt,
  nCtx: positiveInt,
  /** Width of one attention head. */
  dHead: positiveInt,
  /**
   * Rotary position embeddings, or null for learned absolute positions (GPT-2): what a Lorsa's rotary settings must
   * match. Hugging Face rotates the two halves of each head, so adjacentPairs is false for every model it runs;
   * ntkByParts is Llama-3.1's RoPE scaling when the model has it.
   */
  rotary: z
    .object({
      dim: positiveInt,
      base: z.number().positive(),
      adjacentPairs: z.boolean(),
      ntkByParts: z
        .object({
          factor: z.number(),
          lowFreqFactor: z.number(),
          highFreqFactor: z.number(),
          oldContextLen: positiveInt,
        })
        .nullable(),
    })
    .nullable(),
  /** TransformerLens hook names in forward order (`hook_embed`, `blocks.0.hook_resid_pre`, …). */
  hookNames: z.array(z.string().min(1)),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const ListModelsResponseSchema = z.object({ models: z.array(ModelInfoSchema) });

export const ValidateModelFolderRequestSchema = z.strictObject({ path: z.string().min(1) });

/** A usable folder, or the field-level reasons it is not (field `path`). */
export const ModelFolderCheckSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), model: ModelInfoSchema }),
  z.object({ ok: z.literal(false), issues: z.array(FieldIssueSchema).min(1) }),
]);
export type ModelFolderCheck = z.infer<typeof ModelFolderCheckSchema>;

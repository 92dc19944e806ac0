/**
 * Stored attribution graphs as the Circuits page lists, opens and imports them. A graph travels as the circuit-tracer
 * / Neuronpedia JSON (spec §6.6; its schema is circuits/graph-json.ts); an imported file is checked by the store
 * with graphFromJson, whose one-line errors name the field.
 */
import { z } from 'zod';
import { AttributionSettingsSchema } from './circuits/attribution-settings';
import { GraphJsonSchema } from './circuits/graph-json';
import { RUN_STATUSES } from './runs';

const count = z.number().int().nonnegative();

/** Where a dictionary of the graph's replacement model sits: its layer and sublayer, and its name in the store. */
export const GraphDictionarySchema = z.object({
  layer: count,
  sublayer: z.enum(['attn', 'mlp']),
  name: z.string().min(1),
});
export type GraphDictionary = z.infer<typeof GraphDictionarySchema>;

export const GraphSummarySchema = z.object({
  name: z.string().min(1),
  prompt: z.string(),
  /** The dictionary set that replaced the model, when the store has it. */
  dictionarySet: z.string().nullable(),
  /** A computed graph is a job: running, then done (or failed, cancelled); an imported one is done. */
  status: z.enum(RUN_STATUSES),
  /** 0…1. */
  progress: z.number().min(0).max(1),
  error: z.string().nullable(),
  /** Sizes of the pruned graph, once there is one. */
  nodes: count.nullable(),
  links: count.nullable(),
  /** Computed here (the full matrix is stored too), or imported (only its JSON). */
  origin: z.enum(['computed', 'imported']),
  createdAt: z.string(),
});
export type GraphSummary = z.infer<typeof GraphSummarySchema>;

export const ListGraphsResponseSchema = z.object({ graphs: z.array(GraphSummarySchema) });
export const GraphNameRequestSchema = z.strictObject({ name: z.string().min(1).max(500) });
export const GetGraphResponseSchema = z.object({
  summary: GraphSummarySchema,
  /** The pruned graph, as stored; null while it is computed, or when its computation failed or was cancelled. */
  graph: GraphJsonSchema.nullable(),
  /** The dictionaries whose features the nodes are (empty when the store has none of them). */
  dictionaries: z.array(GraphDictionarySchema),
});
export type GraphRecord = z.infer<typeof GetGraphResponseSchema>;
export const ImportGraphRequestSchema = z.strictObject({
  /** A graph JSON from circuit-tracer, Neuronpedia or an export of this app (checked by the store). */
  graph: z.record(z.string(), z.unknown()),
  /** Store it under this name (default: metadata.slug; a taken name gets a numbered suffix). */
  name: z.string().min(1).max(500).optional(),
});
export const ImportGraphResponseSchema = z.object({ summary: GraphSummarySchema });

/** A named set of dictionaries that together replace a model's MLPs and attention (lm-saes's sae-sets). */
export const DictionarySetSummarySchema = z.object({
  name: z.string().min(1),
  modelName: z.string().nullable(),
  description: z.string().nullable(),
  members: z.array(z.object({ dictionary: z.string().min(1), role: z.enum(['attn', 'mlp']) })),
  createdAt: z.string(),
});
export type DictionarySetSummary = z.infer<typeof DictionarySetSummarySchema>;
export const ListDictionarySetsResponseSchema = z.object({ sets: z.array(DictionarySetSummarySchema) });

/** The longest prompt a preview or a new circuit takes, in characters (the model's context limits it further). */
export const MAX_PROMPT_CHARS = 20_000;
const prompt = z
  .string()
  .max(MAX_PROMPT_CHARS)
  .refine((s) => s.trim() !== '', 'the prompt is empty; expected some text');

/** The next-token probabilities of a prompt, under a dictionary set's model or a named model. */
export const PreviewNextTokenRequestSchema = z
  .strictObject({
    set: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    prompt,
    /** How many of the most probable tokens. */
    top: z.number().int().min(1).max(100).default(10),
  })
  .refine((r) => (r.set === undefined) !== (r.model === undefined), 'give exactly one of set and model');
export const PreviewNextTokenResponseSchema = z.object({
  model: z.string().min(1),
  /** Tokens of the prompt as the model reads it (a BOS in front where the model has one). */
  promptTokens: z.array(z.string()),
  top: z.array(z.object({ id: count, token: z.string(), prob: z.number().min(0).max(1) })),
});
export type NextTokenPreview = z.infer<typeof PreviewNextTokenResponseSchema>;

const fraction = z.number().gt(0).lte(1);
/** Pruning of a computed graph (circuit-tracer's method by default; node and edge thresholds in (0, 1]). */
export const CircuitPruneSchema = z.strictObject({
  prune_method: z.enum(['circuit-tracer', 'lm-saes']).optional(),
  node_threshold: fraction.optional(),
  edge_threshold: fraction.optional(),
});

/** Compute the attribution graph of a prompt over a dictionary set, as a job in its own engine process. */
export const ComputeCircuitRequestSchema = z.strictObject({
  set: z.string().min(1),
  prompt,
  settings: AttributionSettingsSchema.partial().default({}),
  prune: CircuitPruneSchema.default({}),
  /** QK tracing of the most influential Lorsa features (lm-saes names). */
  qk: z
    .strictObject({
      qk_tracing_topk: z.number().int().positive(),
      qk_top_fraction: z.number().gt(0).lte(1),
      ranking: z.enum(['signed', 'abs']),
    })
    .partial()
    .default({}),
  /** The graph's name in the store (default: `graph-<time>`); a taken name gets a numbered suffix. */
  name: z.string().min(1).max(500).optional(),
});
export type ComputeCircuitRequest = z.input<typeof ComputeCircuitRequestSchema>;
export const ComputeCircuitResponseSchema = z.object({
  jobId: z.string().min(1),
  /** The graph's name in the store: listGraphs shows it running, then done. */
  name: z.string().min(1),
});

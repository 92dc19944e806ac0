/**
 * Stored attribution graphs as the Circuits page lists, opens and imports them. A graph travels as the circuit-tracer
 * / Neuronpedia JSON (spec §6.6; its schema is circuits/graph-json.ts); an imported file is checked by the store
 * with graphFromJson, whose one-line errors name the field.
 */
import { z } from 'zod';
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
  /** The pruned graph, as stored. */
  graph: GraphJsonSchema,
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

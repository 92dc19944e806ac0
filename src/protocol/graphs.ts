/**
 * Stored attribution graphs as the Circuits page lists, opens and imports them. A graph travels as the circuit-tracer
 * / Neuronpedia JSON (spec §6.6: metadata, qParams, nodes, links, optional qk_only_nodes); the schema below checks
 * the fields the view reads and keeps every other field as it came, so a graph made elsewhere round-trips.
 */
import { z } from 'zod';

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const QkTracingResultsSchema = z.looseObject({
  pair_wise_contributors: z.array(z.tuple([z.string(), z.string(), finite])).default([]),
  top_q_marginal_contributors: z.array(z.tuple([z.string(), finite])).default([]),
  top_k_marginal_contributors: z.array(z.tuple([z.string(), finite])).default([]),
});
export type QkTracingResults = z.infer<typeof QkTracingResultsSchema>;

export const GraphJsonNodeSchema = z.looseObject({
  node_id: z.string().min(1),
  feature: z.number().int().nullable(),
  layer: z.union([z.string(), z.number().int()]),
  ctx_idx: z.number().int().nonnegative(),
  feature_type: z.string(),
  jsNodeId: z.string(),
  clerp: z.string(),
  token_prob: finite.optional(),
  is_target_logit: z.boolean().optional(),
  influence: finite.nullable().optional(),
  activation: finite.nullable().optional(),
  qk_tracing_results: QkTracingResultsSchema.nullable().optional(),
});
export type GraphJsonNode = z.infer<typeof GraphJsonNodeSchema>;

export const GraphJsonLinkSchema = z.looseObject({ source: z.string(), target: z.string(), weight: finite });
export type GraphJsonLink = z.infer<typeof GraphJsonLinkSchema>;

/** Neuronpedia's supernodes: each one its name followed by its member node ids. */
export const SupernodesSchema = z.array(z.array(z.string()).min(1));

export const GraphQParamsSchema = z.looseObject({
  pinnedIds: z.array(z.string()).default([]),
  supernodes: SupernodesSchema.default([]),
  linkType: z.string().default('both'),
  clickedId: z.string().default(''),
  sg_pos: z.string().default(''),
});
export type GraphQParams = z.infer<typeof GraphQParamsSchema>;

export const GraphMetadataSchema = z.looseObject({
  slug: z.string().min(1),
  scan: z.union([z.string(), z.array(z.string())]),
  prompt_tokens: z.array(z.string()),
  prompt: z.string(),
  node_threshold: finite.optional(),
  schema_version: z.number().int().optional(),
});

export const GraphJsonSchema = z
  .looseObject({
    metadata: GraphMetadataSchema,
    qParams: GraphQParamsSchema.default({ pinnedIds: [], supernodes: [], linkType: 'both', clickedId: '', sg_pos: '' }),
    nodes: z.array(GraphJsonNodeSchema),
    links: z.array(GraphJsonLinkSchema),
    qk_only_nodes: z.record(z.string(), GraphJsonNodeSchema).optional(),
  })
  .superRefine((g, ctx) => {
    const ids = new Set<string>();
    for (const [i, n] of g.nodes.entries()) {
      if (ids.has(n.node_id))
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'node_id'], message: `duplicate node_id '${n.node_id}'` });
      ids.add(n.node_id);
    }
    const pairs = new Set<string>();
    for (const [i, l] of g.links.entries()) {
      for (const end of ['source', 'target'] as const) {
        if (!ids.has(l[end]))
          ctx.addIssue({ code: 'custom', path: ['links', i, end], message: `no node '${l[end]}' in nodes` });
      }
      const pair = JSON.stringify([l.source, l.target]);
      if (pairs.has(pair))
        ctx.addIssue({ code: 'custom', path: ['links', i], message: `a second link ${l.source} → ${l.target}` });
      pairs.add(pair);
    }
  });
export type GraphJson = z.output<typeof GraphJsonSchema>;
/** A graph JSON as written (qParams and its fields may be left out). */
export type GraphJsonInput = z.input<typeof GraphJsonSchema>;

/** Where a dictionary of the graph's replacement model sits: its layer and sublayer, and its name in the store. */
export const GraphDictionarySchema = z.object({
  layer: z.number().int().nonnegative(),
  sublayer: z.enum(['attn', 'mlp']),
  name: z.string().min(1),
});
export type GraphDictionary = z.infer<typeof GraphDictionarySchema>;

export const GraphSummarySchema = z.object({
  slug: z.string().min(1),
  prompt: z.string(),
  /** The dictionary set (metadata.scan). */
  scan: z.string(),
  nodes: z.number().int().nonnegative(),
  links: z.number().int().nonnegative(),
  /** Where it came from: computed here, or imported. */
  origin: z.enum(['computed', 'imported']),
  createdAt: z.string(),
});
export type GraphSummary = z.infer<typeof GraphSummarySchema>;

export const ListGraphsResponseSchema = z.object({ graphs: z.array(GraphSummarySchema) });
export const GraphSlugRequestSchema = z.strictObject({ slug: z.string().min(1).max(200) });
export const GetGraphResponseSchema = z.object({
  summary: GraphSummarySchema,
  /** The pruned graph, as stored. */
  graph: GraphJsonSchema,
  /** The dictionaries whose features the nodes are (empty when the graph's set is not in the store). */
  dictionaries: z.array(GraphDictionarySchema),
});
export type GraphRecord = z.infer<typeof GetGraphResponseSchema>;
export const ImportGraphRequestSchema = z.strictObject({
  graph: GraphJsonSchema,
  /** Store it under this slug (default: metadata.slug; a taken slug gets a numbered suffix). */
  slug: z.string().min(1).max(200).optional(),
});
export const ImportGraphResponseSchema = z.object({ summary: GraphSummarySchema });

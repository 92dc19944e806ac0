/**
 * The feature browser's data: a sortable, filterable page of features, one feature in full (its samples as token
 * strings with one activation per token), interpretations, bookmarks, and which features fire on a typed text.
 */
import { z } from 'zod';

const count = z.number().int().nonnegative();
const featureIndex = z.number().int().nonnegative();
const dictionaryName = z.string().min(1);

export const FEATURE_SORTS = ['index', 'frequency', 'max'] as const;
export type FeatureSort = (typeof FEATURE_SORTS)[number];
export const MAX_FEATURE_PAGE = 10_000;

export const LogitEntrySchema = z.object({ tokenId: count, token: z.string(), logit: z.number() });

export const ListFeaturesRequestSchema = z
  .strictObject({
    dictionary: dictionaryName,
    /** Which analysis (default: 'default', else the most recent). */
    analysis: z.string().min(1).optional(),
    sort: z.enum(FEATURE_SORTS).default('index'),
    /** Default: ascending for index, descending for frequency and max. */
    order: z.enum(['asc', 'desc']).optional(),
    limit: z.number().int().min(1).max(MAX_FEATURE_PAGE).default(100),
    offset: count.default(0),
    /** Case-insensitive substring of the interpretation. */
    search: z.string().max(500).optional(),
    minFrequency: z.number().min(0).max(1).optional(),
    maxFrequency: z.number().min(0).max(1).optional(),
    /** Range of the feature's largest activation. */
    minMaxActivation: z.number().optional(),
    maxMaxActivation: z.number().optional(),
  })
  .refine((r) => r.minFrequency === undefined || r.maxFrequency === undefined || r.minFrequency <= r.maxFrequency, {
    message: 'must not exceed maxFrequency',
    path: ['minFrequency'],
  })
  .refine(
    (r) =>
      r.minMaxActivation === undefined || r.maxMaxActivation === undefined || r.minMaxActivation <= r.maxMaxActivation,
    {
      message: 'must not exceed maxMaxActivation',
      path: ['minMaxActivation'],
    },
  );
export type ListFeaturesRequest = z.input<typeof ListFeaturesRequestSchema>;

export const FeatureSummarySchema = z.object({
  index: featureIndex,
  actCount: count,
  frequency: z.number(),
  maxActivation: z.number(),
  meanActivation: z.number(),
  interpretation: z.string().nullable(),
  bookmarked: z.boolean(),
  topLogits: z.array(LogitEntrySchema),
  nSamples: count,
});
export type FeatureSummary = z.infer<typeof FeatureSummarySchema>;

export const FeaturePageSchema = z.object({
  dictionary: z.string(),
  /** The analysis listed; null when the dictionary has none yet (the page is then empty). */
  analysis: z.string().nullable(),
  /** Features matching the filters, over all pages. */
  total: count,
  items: z.array(FeatureSummarySchema),
});
export type FeaturePage = z.infer<typeof FeaturePageSchema>;

export const InterpretationSchema = z.object({
  text: z.string(),
  detail: z.record(z.string(), z.unknown()).nullable(),
  updatedAt: z.string(),
});
export type Interpretation = z.infer<typeof InterpretationSchema>;

export const BookmarkSchema = z.object({
  dictionary: z.string(),
  index: featureIndex,
  tags: z.array(z.string()),
  note: z.string().nullable(),
  createdAt: z.string(),
});
export type Bookmark = z.infer<typeof BookmarkSchema>;

export const AnalysisInfoSchema = z.object({
  name: z.string(),
  modelName: z.string(),
  datasetName: z.string(),
  datasetSplit: z.string(),
  contextSize: count,
  hookPointIn: z.string(),
  hookPointOut: z.string(),
  nAnalyzedTokens: count,
  nFeatures: count,
  createdAt: z.string(),
});

export const FeatureStatsSchema = z.object({
  actCount: count,
  frequency: z.number(),
  maxActivation: z.number(),
  meanActivation: z.number(),
  histogram: z.object({ edges: z.array(z.number()), counts: z.array(z.number()) }),
  topLogits: z.array(LogitEntrySchema),
  bottomLogits: z.array(LogitEntrySchema),
  neighbours: z.array(z.object({ index: featureIndex, cosine: z.number() })),
});

/**
 * What one feature has beyond an SAE's, by dictionary kind (lm-saes's post-analysis fields per sae_type). A CLT's
 * features are numbered layer by layer (feature s·d_sae + i is latent i of source layer s).
 */
export const FeatureKindDataSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('clt'),
    /** Source layer s and latent i within it. */
    layer: count,
    layerIndex: count,
    /** ‖W_D.{t}[s, i]‖ for every target layer t (0 for t < s), with the output hooks they write to. */
    decoderNorms: z.array(z.number()),
    targetHooks: z.array(z.string()),
  }),
  z.object({
    kind: z.literal('crosscoder'),
    heads: z.array(z.string()),
    /** ‖W_D^h[i]‖ per head. */
    decoderNorms: z.array(z.number()),
    /** Decoder cosine between heads [H][H]; null where a head's decoder row is zero. */
    similarity: z.array(z.array(z.number().nullable())),
  }),
  z.object({ kind: z.literal('lorsa'), qkHead: count }),
  z.object({ kind: z.literal('molt'), rank: count }),
]);
export type FeatureKindData = z.infer<typeof FeatureKindDataSchema>;

/** What one sample has beyond an SAE's, by dictionary kind. */
export const SampleKindDataSchema = z.object({
  /** Lorsa: A_{query,k}·v_i(k), the contribution of every key position k ≤ query to the feature's z at `query`. */
  zPattern: z.object({ query: count, contributions: z.array(z.number()) }).optional(),
  /** Crosscoder: each head's activation at `position` (the sample's strongest token; the sample shows their max). */
  headActivations: z.object({ position: count, values: z.array(z.number()) }).optional(),
});
export type SampleKindData = z.infer<typeof SampleKindDataSchema>;

/** One context window: its tokens as strings, and the feature's activation on each (0 where it did not fire). */
export const FeatureSampleSchema = z.object({
  rank: count,
  contextIndex: count,
  tokens: z.array(z.string()),
  tokenIds: z.array(count),
  activations: z.array(z.number()),
  maxActivation: z.number(),
  kindData: SampleKindDataSchema.nullable(),
});
export type FeatureSample = z.infer<typeof FeatureSampleSchema>;

export const GetFeatureRequestSchema = z.strictObject({
  dictionary: dictionaryName,
  index: featureIndex,
  analysis: z.string().min(1).optional(),
});

export const FeatureDetailSchema = z.object({
  dictionary: z.string(),
  index: featureIndex,
  /** The dictionary's kind (lm-saes sae_type). */
  kind: z.string(),
  interpretation: InterpretationSchema.nullable(),
  bookmark: BookmarkSchema.nullable(),
  /** The analysis shown; null when the dictionary has none yet. */
  analysis: AnalysisInfoSchema.nullable(),
  /** Null when there is no analysis or it did not cover this feature. */
  stats: FeatureStatsSchema.nullable(),
  /** The kind's own data of this feature; null for an SAE or without an analysis. */
  kindData: FeatureKindDataSchema.nullable(),
  /** In the analysis's order (top activations, then quantile bands…). */
  samplings: z.array(z.object({ name: z.string(), samples: z.array(FeatureSampleSchema) })),
});
export type FeatureDetail = z.infer<typeof FeatureDetailSchema>;

export const SetInterpretationRequestSchema = z.strictObject({
  dictionary: dictionaryName,
  index: featureIndex,
  /** Null or blank removes the interpretation. */
  text: z.string().max(10_000).nullable(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export const SetInterpretationResponseSchema = z.object({ interpretation: InterpretationSchema.nullable() });

export const AddBookmarkRequestSchema = z.strictObject({
  dictionary: dictionaryName,
  index: featureIndex,
  /** Replace the bookmark's tags / note when given. */
  tags: z.array(z.string().min(1).max(100)).max(50).optional(),
  note: z.string().max(10_000).nullable().optional(),
});
export const AddBookmarkResponseSchema = z.object({ bookmark: BookmarkSchema });
export const RemoveBookmarkRequestSchema = z.strictObject({ dictionary: dictionaryName, index: featureIndex });
export const RemoveBookmarkResponseSchema = z.object({ removed: z.boolean() });
export const ListBookmarksRequestSchema = z.strictObject({
  dictionary: dictionaryName.optional(),
  /** Bookmarks carrying any of these tags. */
  tags: z.array(z.string().min(1)).optional(),
  limit: z.number().int().min(1).max(MAX_FEATURE_PAGE).default(100),
  offset: count.default(0),
});
export const ListBookmarksResponseSchema = z.object({ bookmarks: z.array(BookmarkSchema) });

export const FeaturesOnTextRequestSchema = z.strictObject({
  dictionary: dictionaryName,
  text: z.string().min(1).max(20_000),
  /** Features kept per token, strongest first. */
  topFeatures: z.number().int().min(1).max(100).default(10),
});
export const TokenFeaturesSchema = z.object({
  position: count,
  tokenId: count,
  token: z.string(),
  features: z.array(z.object({ index: featureIndex, activation: z.number() })),
});
export type TokenFeatures = z.infer<typeof TokenFeaturesSchema>;
export const FeaturesOnTextResponseSchema = z.object({ tokens: z.array(TokenFeaturesSchema) });

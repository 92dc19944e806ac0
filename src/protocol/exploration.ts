/**
 * Exploring dictionaries: an overview of one (frequency and max-activation histograms, dead and dense counts, its
 * evaluation), a random live feature, feature search by token or text (over the analysis's stored samples, or a
 * live pass of the model and the dictionary over a typed text), and the comparison of two dictionaries of the same
 * hook by decoder cosine.
 */
import { z } from 'zod';
import { MetricValuesSchema } from './metric-values';

const count = z.number().int().nonnegative();
const featureIndex = z.number().int().nonnegative();
const dictionaryName = z.string().min(1);

const HistogramSchema = z.object({ edges: z.array(z.number()), counts: z.array(count) });

export const DictionaryOverviewRequestSchema = z.strictObject({
  dictionary: dictionaryName,
  analysis: z.string().min(1).optional(),
});
export const DictionaryOverviewSchema = z.object({
  dictionary: z.string(),
  /** The analysis the counts come from, or null when the dictionary has none yet. */
  analysis: z.string().nullable(),
  nAnalyzedTokens: count.nullable(),
  nFeatures: count,
  dead: count,
  dense: count,
  /** The frequency above which a feature counts as dense. */
  denseFrequency: z.number(),
  /** log10 of the firing frequency of each live feature. */
  logFrequency: HistogramSchema,
  maxActivation: HistogramSchema,
  metrics: MetricValuesSchema.nullable(),
});
export type DictionaryOverview = z.infer<typeof DictionaryOverviewSchema>;

export const RandomFeatureResponseSchema = z.object({ index: featureIndex.nullable() });

export const SEARCH_SOURCES = ['samples', 'text'] as const;
export type SearchSource = (typeof SEARCH_SOURCES)[number];

export const SearchFeaturesRequestSchema = z.strictObject({
  dictionary: dictionaryName,
  /**
   * The token or text searched for (` Washington`: the leading space is part of the token). Tokenized with the
   * dictionary's model; several tokens match where the context reads them, the activation at the last one.
   */
  query: z.string().max(200),
  /** 'samples': the analysis's stored samples; 'text': a live pass over `text` (the query may then be empty). */
  source: z.enum(SEARCH_SOURCES).default('samples'),
  text: z.string().max(20_000).optional(),
  analysis: z.string().min(1).optional(),
  limit: z.number().int().min(1).max(500).default(50),
});

/** A stretch of tokens around the matched position, for showing a hit in its context. */
const SnippetSchema = z.object({ tokens: z.array(z.string()), highlight: count });

export const SearchHitSchema = z.object({
  index: featureIndex,
  maxActivation: z.number(),
  hits: count,
  /** The stored sample's context (the `?sample=` of a deep link), or null for a live pass. */
  contextIndex: count.nullable(),
  snippet: SnippetSchema,
  interpretation: z.string().nullable(),
});
export type SearchHit = z.infer<typeof SearchHitSchema>;

export const SearchFeaturesResponseSchema = z.object({
  /** The query's tokens as the model's tokenizer cut them. */
  queryTokens: z.array(z.string()),
  /** The analysis searched ('samples'), else null. */
  analysis: z.string().nullable(),
  hits: z.array(SearchHitSchema),
  /** Time to build the analysis's token index (0 when it was kept from an earlier search), and to search. */
  indexMs: z.number().nonnegative(),
  searchMs: z.number().nonnegative(),
});

export const CompareDictionariesRequestSchema = z.strictObject({
  a: dictionaryName,
  b: dictionaryName,
  /** Cosine of two decoder directions that match. */
  threshold: z.number().gt(-1).lt(1).default(0.7),
  /** Items shown per list. */
  limit: z.number().int().min(1).max(1000).default(50),
});

/** A feature shown in the comparison: its index with what the analysis says of it. */
export const FeatureGlimpseSchema = z.object({
  index: featureIndex,
  interpretation: z.string().nullable(),
  frequency: z.number().nullable(),
  /** Tokens where its strongest stored samples peak, strongest first. */
  topTokens: z.array(z.string()),
});
export type FeatureGlimpse = z.infer<typeof FeatureGlimpseSchema>;

export const CompareDictionariesResponseSchema = z.object({
  a: z.object({ name: z.string(), dSae: count, hook: z.string() }),
  b: z.object({ name: z.string(), dSae: count, hook: z.string() }),
  threshold: z.number(),
  counts: z.object({ mutual: count, splits: count, newInB: count, goneFromA: count, matchedInB: count }),
  mutual: z.array(z.object({ a: FeatureGlimpseSchema, b: FeatureGlimpseSchema, cosine: z.number() })),
  splits: z.array(
    z.object({ a: FeatureGlimpseSchema, children: z.array(z.object({ b: FeatureGlimpseSchema, cosine: z.number() })) }),
  ),
  newInB: z.array(z.object({ b: FeatureGlimpseSchema, bestA: featureIndex, cosine: z.number() })),
  goneFromA: z.array(z.object({ a: FeatureGlimpseSchema, bestB: featureIndex, cosine: z.number() })),
  seconds: z.number().nonnegative(),
});
export type DictionaryComparisonView = z.infer<typeof CompareDictionariesResponseSchema>;

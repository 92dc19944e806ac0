// What the feature-analysis pass produces for a dictionary, shaped after lm-saes's MongoDB `features` documents
// (one per feature, with `analyses[]` and their `samplings[]`), so the local store and MongoDB sync are mappings.
import type { FeatureKindData, SampleKindData } from '../../protocol/features';

export type { FeatureKindData, SampleKindData };

/** A context window the samples point into (stored once, referenced by every sample drawn from it). */
export interface AnalysisContext {
  /** Index of the window among the dataset's windows (split applied), i.e. lm-saes's `context_idx`. */
  contextIndex: number;
  /** Token ids of the whole window, BOS first. */
  tokens: Int32Array;
}

/** One sampled context for one feature: the feature's activations on it, sparse (positions where > 0). */
export interface FeatureSample {
  contextIndex: number;
  positions: Int32Array;
  values: Float32Array;
  /** The largest activation in the context (what the sample was ranked by). */
  maxActivation: number;
  /** The kind's own data of this sample (a Lorsa z-pattern, a crosscoder's per-head activations). */
  kindData?: SampleKindData | null;
}

/** A named sampling (lm-saes `samplings[].name`): `top_activations`, `quantile_1` … `quantile_10`, `non_activating`. */
export interface FeatureSampling {
  name: string;
  samples: FeatureSample[];
}

export interface LogitEntry {
  tokenId: number;
  token: string;
  logit: number;
}

export interface FeatureAnalysis {
  index: number;
  /** Tokens the feature fired on (activation > 0). */
  actCount: number;
  /** actCount / tokens analysed. */
  frequency: number;
  maxActivation: number;
  /** Mean activation over the tokens it fired on. */
  meanActivation: number;
  /** Histogram of its non-zero activations: `edges` has counts.length + 1 entries. */
  histogram: { edges: number[]; counts: number[] };
  samplings: FeatureSampling[];
  /** Direct logit attribution of its decoder row through the final norm and unembedding. */
  topLogits: LogitEntry[];
  bottomLogits: LogitEntry[];
  /** Nearest other features by decoder cosine similarity. */
  neighbours: { index: number; cosine: number }[];
  /** The kind's own data of this feature (absent for an SAE). */
  kindData?: FeatureKindData | null;
}

export interface AnalysisResult {
  dictionaryName: string;
  dictionaryDir: string;
  modelName: string;
  hookPointIn: string;
  hookPointOut: string;
  /** Features analysed: d_sae, or n_layers · d_sae for a CLT (feature s·d_sae + i is latent i of layer s). */
  dSae: number;
  dataset: { spec: string; split: string; contextSize: number };
  /** Tokens the pass saw (after masking BOS / pad / ignored ids). */
  tokensAnalysed: number;
  createdAt: string;
  /** Every context any sample refers to. */
  contexts: AnalysisContext[];
  features: FeatureAnalysis[];
}

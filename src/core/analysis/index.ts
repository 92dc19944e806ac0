// Public API of core/analysis: the feature-analysis pass, its parts usable alone, and the output contract.
export type {
  AnalysisContext,
  AnalysisResult,
  FeatureAnalysis,
  FeatureSample,
  FeatureSampling,
  LogitEntry,
} from './types';
export {
  analyzeDictionary,
  type AnalysisInfo,
  type AnalysisProgress,
  type AnalyzeOptions,
  type TokenLabeler,
} from './analyze-dictionary';
export { DEFAULT_SAMPLING, resolveSamplingConfig, type SamplingConfig } from './sampling-config';
export { FeatureAccumulator, type FeatureActivationSummary } from './feature-accumulator';
export {
  directLogitAttribution,
  finalNormDirection,
  type DlaOptions,
  type LogitRanking,
} from './direct-logit-attribution';
export { decoderNeighbours, type Neighbours } from './decoder-neighbours';
export {
  featuresOnText,
  featuresOnTokens,
  type FeaturesOnTextOptions,
  type TextTokenizer,
  type TokenFeatures,
} from './features-on-text';
export { encodeSparse, fromDense, fromTopK, type SparseActs } from './sparse-activations';

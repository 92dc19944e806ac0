// Public API of core/activations: activation streams for SAE training and evaluation (from a model on the fly,
// from the on-disk cache, mixed by weight), the dataset-wise norm estimate, and cache generation.
export type { ActivationBatch, ActivationStream, ActivationStreamState, StreamFingerprint } from './types';
export { createModelActivationStream, type ModelStreamOptions } from './model-stream';
export { cachedActivationStream, type CachedStreamOptions } from './cache-stream';
export {
  generateActivationCache,
  type GenerateCacheOptions,
  type GenerateProgress,
  type GenerateResult,
} from './cache-writer';
export {
  CACHE_DTYPES,
  CACHE_FORMAT,
  MANIFEST_FILE,
  readManifest,
  type CacheDtype,
  type CacheManifest,
} from './cache-layout';
export {
  averageNormOfStream,
  datasetNormScale,
  estimateAverageNorm,
  type AverageNorm,
  type AverageNormOptions,
} from './average-norm';
export { mixStreams, type MixPart, type MixStreamsOptions, type MixedStreamState } from './mix-streams';
export { RowSpool, spoolKey, freeBytes, type SpoolKey } from './row-spool';
export { hookWidths } from './model-rows';

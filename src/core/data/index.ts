// Public API of core/data's dataset layer: text sources, token streams and their cache, windows, splits, masks, mixing.
export type { Document, DatasetSource, SourceFile, SourceKind } from './sources/dataset-source';
export type { InvalidUtf8Mode, NewlineMode, TextReading } from './sources/read-text';
export { openDataset, type DatasetOptions } from './sources/open-dataset';
export { EMBEDDED_DATASETS, embeddedDataset, isEmbeddedDataset, type EmbeddedDataset } from './sources/embedded-corpus';
export { tokenizeDocuments, type TokenEncoder, type TokenStream, type TokenizeProgress } from './token-stream';
export {
  cachedTokenStream,
  tokenizerFingerprint,
  type CachedTokenStream,
  type TokenCacheMeta,
  type TokenCacheOptions,
} from './token-cache';
export { contextWindows, gatherWindows, windowCount, type WindowSpec } from './windows';
export {
  SPLIT_NAMES,
  parseSplitName,
  splitWindowIndices,
  validationCount,
  type SplitName,
  type WindowSplitRule,
} from './split';
export { loadDatasetWindows, type DatasetWindows, type DatasetWindowsOptions } from './dataset-windows';
export { countKept, keptPositions, tokenMask, type KeptPositions, type TokenMaskOptions } from './masks';
export { mixWeighted, mixedSource, type MixOptions, type WeightedPart } from './mixing';

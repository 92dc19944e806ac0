// Public API of the local store (core/store): open studio.db, then call the repositories with the Store.
export {
  openStore,
  assertWriter,
  DATABASE_FILE,
  ARRAYS_DIR,
  BUSY_TIMEOUT_MS,
  type Store,
  type OpenStoreOptions,
} from './database';
export { APPLICATION_ID, latestVersion, schemaVersion } from './migrate';
export type { Migration } from './migration';
export { MIGRATIONS } from './migrations';
export { RUN_STATUSES, type RunStatus } from './rows';
export {
  upsertDictionary,
  getDictionary,
  listDictionaries,
  setDictionaryMetrics,
  DEFAULT_SERIES,
  type Dictionary,
  type DictionaryInput,
} from './dictionaries';
export { upsertModel, upsertDataset, listModels, listDatasets, type CatalogEntry } from './catalog';
export {
  createRun,
  getRun,
  updateRunStatus,
  appendRunMetrics,
  getRunMetrics,
  addRunCheckpoint,
  listRecentRuns,
  type Run,
  type RunCheckpoint,
  type RunMetricPoint,
} from './runs';
export { listAnalyses, removeAnalysis, DEFAULT_ANALYSIS, type AnalysisInfo } from './analyses';
export { saveAnalysis, type SaveAnalysisOptions, type SavedAnalysis } from './save-analysis';
export {
  listFeatures,
  getFeature,
  FEATURE_SORTS,
  MAX_PAGE,
  type FeatureSort,
  type ListFeaturesOptions,
  type FeaturePage,
  type FeatureSummary,
  type FeatureDetail,
  type FeatureStats,
  type FeatureSampleDetail,
} from './features';
export { setInterpretation, getInterpretation, type Interpretation } from './interpretations';
export { addBookmark, removeBookmark, listBookmarks, type Bookmark, type ListBookmarksOptions } from './bookmarks';
export { removeOrphanArrayFiles, DEFAULT_LARGE_ARRAY_BYTES } from './array-files';
export {
  toLmSaesFeatureDocument,
  toLmSaesSaeDocument,
  toLmSaesAnalysisDocument,
  toLmSaesBookmarkDocument,
  toLmSaesCatalogDocument,
  type NumpyArray,
  type LmSaesFeatureDocument,
  type LmSaesFeatureAnalysisDocument,
  type LmSaesSamplingDocument,
  type LmSaesSaeDocument,
} from './lm-saes-documents';
export {
  saveDictionarySet,
  getDictionarySet,
  requireDictionarySet,
  listDictionarySets,
  removeDictionarySet,
  DICTIONARY_ROLES,
  type DictionaryRole,
  type DictionarySet,
  type DictionarySetInput,
  type DictionarySetMember,
} from './dictionary-sets';
export {
  createGraph,
  setGraphProgress,
  setGraphStatus,
  saveGraphResult,
  importGraph,
  getGraph,
  listGraphs,
  loadGraph,
  loadGraphJson,
  removeGraph,
  removeOrphanGraphFiles,
  GRAPHS_DIR,
  type GraphInput,
  type GraphRecord,
} from './graphs';

/**
 * StudioService: the one contract between the UI and the back end, as a table of methods with a request and a
 * response schema each. Implemented once (src/engine/studio-service.ts), exposed over Electron IPC and over HTTP
 * (`POST /api/<method>`), and called through `createStudioClient` over either transport.
 */
import { z } from 'zod';
import { SyncLogResponseSchema, SyncRequestSchema, SyncSummarySchema } from './sync';
import { AppInfoSchema } from './app-info';
import { ExplainPromptsSchema, SetExplainPromptsRequestSchema, StartExplainRequestSchema } from './autointerp';
import { ListDictionariesRequestSchema, ListDictionariesResponseSchema } from './dictionaries';
import {
  AddBookmarkRequestSchema,
  AddBookmarkResponseSchema,
  FeatureDetailSchema,
  FeaturePageSchema,
  FeaturesOnTextRequestSchema,
  FeaturesOnTextResponseSchema,
  GetFeatureRequestSchema,
  ListBookmarksRequestSchema,
  ListBookmarksResponseSchema,
  ListFeaturesRequestSchema,
  RemoveBookmarkRequestSchema,
  RemoveBookmarkResponseSchema,
  SetInterpretationRequestSchema,
  SetInterpretationResponseSchema,
} from './features';
import {
  CancelResponseSchema,
  JobIdRequestSchema,
  ListJobsResponseSchema,
  StartAnalysisRequestSchema,
  StartedJobSchema,
  StartedRunSchema,
  StartTrainingRequestSchema,
  TrainConfigCheckSchema,
  ValidateTrainConfigRequestSchema,
} from './jobs';
import {
  ComputeCircuitRequestSchema,
  ComputeCircuitResponseSchema,
  GetGraphResponseSchema,
  GraphNameRequestSchema,
  ImportGraphRequestSchema,
  ImportGraphResponseSchema,
  ListDictionarySetsResponseSchema,
  ListGraphsResponseSchema,
  PreviewNextTokenRequestSchema,
  PreviewNextTokenResponseSchema,
} from './graphs';
import { SteerFeatureRequestSchema, SteerFeatureResponseSchema } from './steering';
import {
  CompareDictionariesRequestSchema,
  CompareDictionariesResponseSchema,
  DictionaryOverviewRequestSchema,
  DictionaryOverviewSchema,
  RandomFeatureResponseSchema,
  SearchFeaturesRequestSchema,
  SearchFeaturesResponseSchema,
} from './exploration';
import { ListModelsResponseSchema, ModelFolderCheckSchema, ValidateModelFolderRequestSchema } from './models';
import { DatasetPreviewSchema, PreviewDatasetRequestSchema, SystemInfoSchema } from './system';
import {
  GetRunRequestSchema,
  GetRunResponseSchema,
  ListRunsRequestSchema,
  ListRunsResponseSchema,
  RunIdRequestSchema,
} from './runs';

const Empty = z.strictObject({});

function method<Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res) {
  return { request, response };
}

export const STUDIO_METHODS = {
  appInfo: method(Empty, AppInfoSchema),
  systemInfo: method(Empty, SystemInfoSchema),
  listModels: method(Empty, ListModelsResponseSchema),
  previewDataset: method(PreviewDatasetRequestSchema, DatasetPreviewSchema),
  validateModelFolder: method(ValidateModelFolderRequestSchema, ModelFolderCheckSchema),
  listDictionaries: method(ListDictionariesRequestSchema, ListDictionariesResponseSchema),
  listFeatures: method(ListFeaturesRequestSchema, FeaturePageSchema),
  getFeature: method(GetFeatureRequestSchema, FeatureDetailSchema),
  setInterpretation: method(SetInterpretationRequestSchema, SetInterpretationResponseSchema),
  addBookmark: method(AddBookmarkRequestSchema, AddBookmarkResponseSchema),
  removeBookmark: method(RemoveBookmarkRequestSchema, RemoveBookmarkResponseSchema),
  listBookmarks: method(ListBookmarksRequestSchema, ListBookmarksResponseSchema),
  featuresOnText: method(FeaturesOnTextRequestSchema, FeaturesOnTextResponseSchema),
  listRuns: method(ListRunsRequestSchema, ListRunsResponseSchema),
  getRun: method(GetRunRequestSchema, GetRunResponseSchema),
  validateTrainConfig: method(ValidateTrainConfigRequestSchema, TrainConfigCheckSchema),
  startTraining: method(StartTrainingRequestSchema, StartedRunSchema),
  cancelRun: method(RunIdRequestSchema, CancelResponseSchema),
  resumeRun: method(RunIdRequestSchema, StartedRunSchema),
  startAnalysis: method(StartAnalysisRequestSchema, StartedJobSchema),
  listJobs: method(Empty, ListJobsResponseSchema),
  cancelJob: method(JobIdRequestSchema, CancelResponseSchema),
  listGraphs: method(Empty, ListGraphsResponseSchema),
  getGraph: method(GraphNameRequestSchema, GetGraphResponseSchema),
  importGraph: method(ImportGraphRequestSchema, ImportGraphResponseSchema),
  listDictionarySets: method(Empty, ListDictionarySetsResponseSchema),
  previewNextToken: method(PreviewNextTokenRequestSchema, PreviewNextTokenResponseSchema),
  computeCircuit: method(ComputeCircuitRequestSchema, ComputeCircuitResponseSchema),
  startExplain: method(StartExplainRequestSchema, StartedJobSchema),
  getExplainPrompts: method(Empty, ExplainPromptsSchema),
  setExplainPrompts: method(SetExplainPromptsRequestSchema, ExplainPromptsSchema),
  steerFeature: method(SteerFeatureRequestSchema, SteerFeatureResponseSchema),
  syncRun: method(SyncRequestSchema, SyncSummarySchema),
  syncLog: method(Empty, SyncLogResponseSchema),
  dictionaryOverview: method(DictionaryOverviewRequestSchema, DictionaryOverviewSchema),
  randomFeature: method(DictionaryOverviewRequestSchema, RandomFeatureResponseSchema),
  searchFeatures: method(SearchFeaturesRequestSchema, SearchFeaturesResponseSchema),
  compareDictionaries: method(CompareDictionariesRequestSchema, CompareDictionariesResponseSchema),
} as const;

export type StudioMethod = keyof typeof STUDIO_METHODS;
export const STUDIO_METHOD_NAMES = Object.keys(STUDIO_METHODS) as StudioMethod[];

export function isStudioMethod(name: string): name is StudioMethod {
  return Object.hasOwn(STUDIO_METHODS, name);
}

type Schemas = typeof STUDIO_METHODS;
/** What a caller passes (defaults may be left out). */
export type StudioRequest<M extends StudioMethod> = z.input<Schemas[M]['request']>;
/** What a caller gets back. */
export type StudioResponse<M extends StudioMethod> = z.output<Schemas[M]['response']>;

/** The client's view: every method takes its request and resolves to its response, or rejects with a ServiceError. */
export type StudioService = { [M in StudioMethod]: (request: StudioRequest<M>) => Promise<StudioResponse<M>> };

/**
 * The implementation's view: requests arrive parsed (defaults filled in), responses are checked by the dispatcher.
 * A method throws a ServiceError for bad input; any other error is reported as `internal`.
 */
export type StudioServiceImpl = {
  [M in StudioMethod]: (request: z.output<Schemas[M]['request']>) => Promise<z.input<Schemas[M]['response']>>;
};

/**
 * The one implementation of StudioService (src/protocol/studio-service.ts): reads and writes the local store, checks
 * inputs, and hands jobs to the supervisor. Core's input errors become `invalid_input` ServiceErrors; the Electron
 * main process and `sae-studio serve` expose this same object over their transports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { openDataset } from '../core/data/sources/open-dataset';
import { DATABASE_FILE } from '../core/store/database';
import { isInputError } from '../core/errors';
import { runDir, type StudioHome } from '../core/home';
import { resolveDictionaryDir } from '../core/sae/dictionary-store';
import {
  addBookmark,
  getFeature,
  getRun,
  getRunMetrics,
  listBookmarks,
  listDictionaries,
  listFeatures,
  listRecentRuns,
  removeBookmark,
  setInterpretation,
  type Store,
} from '../core/store';
import type { BackendRequest, ComputeDevices } from '../core/tensor/backend';
import type { AppInfo } from '../protocol/app-info';
import { toMetricValues } from '../protocol/metric-values';
import { oneLine } from '../protocol/service-dispatch';
import { ServiceError, type FieldIssue } from '../protocol/service-error';
import { STUDIO_METHOD_NAMES, type StudioServiceImpl } from '../protocol/studio-service';
import { previewDataset } from './dataset-preview';
import { featureView, TokenLabels } from './feature-view';
import { importGraph, listGraphs, openGraph } from './graph-views';
import { checkModelFolder, listModels } from './model-catalog';
import { dictionarySummary, runSummary } from './store-views';
import { RUN_LOG, type Supervisor } from './supervisor';
import type { TextInference } from './text-inference';
import { checkTrainConfig } from './train-config-check';

export interface StudioServiceDeps {
  store: Store;
  home: StudioHome;
  supervisor: Supervisor;
  appInfo: AppInfo;
  /** Backend of the in-process work (featuresOnText); default: SAE_STUDIO_BACKEND, else auto. */
  backend?: BackendRequest;
}

export type StudioServiceHandle = StudioServiceImpl & { close(): void };

export function createStudioService(deps: StudioServiceDeps): StudioServiceHandle {
  const { store, home, supervisor } = deps;
  const labels = new TokenLabels();
  let inference: TextInference | null = null;
  let devices: Promise<ComputeDevices> | null = null;

  const impl: StudioServiceImpl = {
    appInfo: async () => deps.appInfo,
    systemInfo: async () => {
      const { describeComputeDevices } = await import('../core/tensor/backend');
      devices ??= describeComputeDevices();
      const d = await devices;
      return {
        home: home.root,
        store: join(home.root, DATABASE_FILE),
        platform: `${process.platform} ${process.arch}`,
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGb: Math.round(totalmem() / 2 ** 30),
        autoBackend: d.auto,
        gpu: d.gpu,
        gpuReason: d.gpuReason,
        native: d.native,
      };
    },
    previewDataset: async (request) => previewDataset(request),
    listModels: async () => ({ models: listModels() }),
    validateModelFolder: async ({ path }) => checkModelFolder(path),
    listDictionaries: async ({ series }) => ({
      dictionaries: listDictionaries(store, { series }).map(dictionarySummary),
    }),
    listFeatures: async ({ dictionary, ...options }) => listFeatures(store, dictionary, options),
    getFeature: async ({ dictionary, index, analysis }) =>
      featureView(getFeature(store, dictionary, index, { analysis }), labels),
    setInterpretation: async ({ dictionary, index, text, detail }) => ({
      interpretation: setInterpretation(store, dictionary, index, text, { detail }),
    }),
    addBookmark: async ({ dictionary, index, tags, note }) => ({
      bookmark: addBookmark(store, dictionary, index, { tags, note }),
    }),
    removeBookmark: async ({ dictionary, index }) => ({ removed: removeBookmark(store, dictionary, index) }),
    listBookmarks: async (options) => ({ bookmarks: listBookmarks(store, options) }),
    featuresOnText: async ({ dictionary, text, topFeatures }) => {
      if (!inference) {
        // Loaded on first use: it brings in the model code and the compute backend.
        const { TextInference } = await import('./text-inference');
        inference ??= new TextInference(home, deps.backend ?? 'auto');
      }
      return { tokens: await inference.run(dictionary, text, topFeatures) };
    },
    listRuns: async ({ limit, status, dictionary }) => ({
      runs: listRecentRuns(store, { limit, status, dictionaryName: dictionary }).map((r) =>
        runSummary(r, supervisor.isRunActive(r.id), home),
      ),
    }),
    getRun: async ({ id, fromStep, limit }) => ({
      run: runSummary(getRun(store, id), supervisor.isRunActive(id), home),
      metrics: getRunMetrics(store, id, { fromStep, limit }).map((p) => ({
        step: p.step,
        tokens: p.tokens,
        values: toMetricValues(p.values),
      })),
      log: readRunLog(home, id),
    }),
    validateTrainConfig: async ({ config }) => {
      const check = checkTrainConfig(config);
      return check.ok ? { ok: true, config: { ...check.config } } : check;
    },
    startTraining: async ({ config, runId }) => {
      const check = checkTrainConfig(config);
      if (!check.ok) throw ServiceError.invalidInput(check.issues);
      return supervisor.startTraining(check.config, runId);
    },
    cancelRun: async ({ id }) => ({ cancelling: supervisor.cancelRun(id) }),
    resumeRun: async ({ id }) => supervisor.resumeRun(id),
    startAnalysis: async (request) => {
      const issues: FieldIssue[] = [];
      const check = (field: string, fn: () => unknown) => {
        try {
          fn();
        } catch (err) {
          if (!isInputError(err)) throw err;
          issues.push({ field, message: oneLine(err) });
        }
      };
      check('dictionary', () => resolveDictionaryDir(request.dictionary, home));
      check('dataset', () => openDataset(request.dataset));
      if (issues.length > 0) throw ServiceError.invalidInput(issues);
      return supervisor.startAnalysis(request);
    },
    listJobs: async () => ({ jobs: supervisor.listJobs() }),
    cancelJob: async ({ jobId }) => ({ cancelling: supervisor.cancelJob(jobId) }),
    listGraphs: async () => ({ graphs: listGraphs(store) }),
    getGraph: async ({ name }) => openGraph(store, name),
    importGraph: async ({ graph, name }) => ({ summary: importGraph(store, graph, name) }),
  };

  return { ...withInputErrors(impl), close: () => inference?.dispose() };
}

/** Lines of a run's log shown by the dashboard (the newest). */
const RUN_LOG_LINES = 500;

function readRunLog(home: StudioHome, runId: string): string[] {
  const file = join(runDir(home, runId), RUN_LOG);
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .slice(-RUN_LOG_LINES);
}

/** Core's InputErrors (a bad name, an index out of range) become `invalid_input` ServiceErrors. */
function withInputErrors(impl: StudioServiceImpl): StudioServiceImpl {
  const out: Record<string, (request: unknown) => Promise<unknown>> = {};
  for (const name of STUDIO_METHOD_NAMES) {
    const fn = impl[name] as (request: unknown) => Promise<unknown>;
    out[name] = async (request) => {
      try {
        return await fn(request);
      } catch (err) {
        if (isInputError(err)) throw new ServiceError({ code: 'invalid_input', message: oneLine(err) });
        throw err;
      }
    };
  }
  return out as StudioServiceImpl;
}

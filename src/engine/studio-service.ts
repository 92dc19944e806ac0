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
  isStoreBusy,
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
import { pathIssues, type PathPolicy } from './path-policy';
import { featureView, TokenLabels } from './feature-view';
import { circuitMethods } from './circuit-service';
import { explainMethods } from './explain-service';
import { steeringMethods } from './steering-service';
import { syncMethods } from './sync-methods';
import { explorationMethods } from './exploration-service';
import { importGraph, listGraphs, openGraph } from './graph-views';
import { checkModelFolder, listModels } from './model-catalog';
import { dictionarySummary, runSummary } from './store-views';
import { RUN_LOG, type Supervisor } from './supervisor';
import type { TextInference } from './text-inference';
import { checkTrainConfig, type TrainConfigCheckResult } from './train-config-check';

export interface StudioServiceDeps {
  store: Store;
  home: StudioHome;
  supervisor: Supervisor;
  appInfo: AppInfo;
  /** Backend of the in-process work (featuresOnText); default: SAE_STUDIO_BACKEND, else auto. */
  backend?: BackendRequest;
  /**
   * The folders a request may name files in (`sae-studio serve`: the home and its --allow folders); null or missing:
   * any (the desktop app, whose window only loads the app's own code).
   */
  paths?: PathPolicy | null;
  /**
   * How long a call that found the store's write lock taken by another process (SQLITE_BUSY) is retried, without
   * blocking, before it answers `busy` (default BUSY_RETRY_MS).
   */
  busyRetryMs?: number;
}

/** Default of StudioServiceDeps.busyRetryMs. */
export const BUSY_RETRY_MS = 15_000;

export type StudioServiceHandle = StudioServiceImpl & { close(): void };

/** The machine and compute devices, probed once (the probe loads the compute backend). */
function systemInfo(home: StudioServiceDeps['home']): StudioServiceImpl['systemInfo'] {
  let devices: Promise<ComputeDevices> | null = null;
  return async () => {
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
  };
}

export function createStudioService(deps: StudioServiceDeps): StudioServiceHandle {
  const { store, home, supervisor } = deps;
  const refused = (refs: Record<string, string | null | undefined>) => pathIssues(deps.paths, refs);
  const labels = new TokenLabels();
  let inference: TextInference | null = null;
  const { dispose: disposeCircuits, ...circuits } = circuitMethods({ ...deps, refused });
  const explain = explainMethods({ ...deps, refused });
  const { dispose: disposeSteering, ...steering } = steeringMethods(deps);
  const exploration = explorationMethods({ ...deps, labels, tryText: () => impl });

  const impl: StudioServiceImpl = {
    appInfo: async () => deps.appInfo,
    systemInfo: systemInfo(home),
    previewDataset: async (request) => {
      const issues = refused({ model: request.model, dataset: request.dataset });
      return issues.length > 0 ? { ok: false, issues } : previewDataset(request);
    },
    listModels: async () => ({ models: listModels() }),
    validateModelFolder: async ({ path }) => {
      const issues = refused({ path });
      return issues.length > 0 ? { ok: false, issues } : checkModelFolder(path);
    },
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
      const issues = refused({ dictionary });
      if (issues.length > 0) throw ServiceError.invalidInput(issues);
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
      const check = checkTrainConfigPaths(config);
      return check.ok ? { ok: true, config: { ...check.config } } : check;
    },
    startTraining: async ({ config, runId }) => {
      const check = checkTrainConfigPaths(config);
      if (!check.ok) throw ServiceError.invalidInput(check.issues);
      return supervisor.startTraining(check.config, runId);
    },
    cancelRun: async ({ id }) => ({ cancelling: supervisor.cancelRun(id) }),
    resumeRun: async ({ id }) => supervisor.resumeRun(id),
    startAnalysis: async (request) => {
      const outside = refused({ dictionary: request.dictionary, dataset: request.dataset, model: request.model });
      if (outside.length > 0) throw ServiceError.invalidInput(outside);
      checkAnalysisInputs(request.dictionary, request.dataset, home);
      return supervisor.startAnalysis(request);
    },
    listJobs: async () => ({ jobs: supervisor.listJobs() }),
    cancelJob: async ({ jobId }) => ({ cancelling: supervisor.cancelJob(jobId) }),
    listGraphs: async () => ({ graphs: listGraphs(store) }),
    getGraph: async ({ name }) => openGraph(store, name),
    importGraph: async ({ graph, name }) => ({ summary: importGraph(store, graph, name) }),
    ...circuits,
    ...explain,
    ...steering,
    ...syncMethods({ store, home }),
    ...exploration,
  };

  /** The config check, after the files it names were checked against the path policy (nothing outside is read). */
  function checkTrainConfigPaths(draft: object): TrainConfigCheckResult {
    const config = draft as Record<string, unknown>;
    const field = (name: string) => (typeof config[name] === 'string' ? (config[name] as string) : undefined);
    const issues = refused({
      'config.model': field('model'),
      'config.dataset': field('dataset'),
      'config.activation_cache': field('activation_cache'),
    });
    return issues.length > 0 ? { ok: false, issues } : checkTrainConfig(config);
  }

  return {
    ...withInputErrors(retryWhenBusy(impl, deps.busyRetryMs ?? BUSY_RETRY_MS)),
    close: () => {
      inference?.dispose();
      disposeCircuits();
      disposeSteering();
    },
  };
}

/** The dictionary and dataset an analysis names, each problem on its field. */
function checkAnalysisInputs(dictionary: string, dataset: string, home: StudioHome): void {
  const issues: FieldIssue[] = [];
  const check = (field: string, fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      if (!isInputError(err)) throw err;
      issues.push({ field, message: oneLine(err) });
    }
  };
  check('dictionary', () => resolveDictionaryDir(dictionary, home));
  check('dataset', () => openDataset(dataset));
  if (issues.length > 0) throw ServiceError.invalidInput(issues);
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

/**
 * A call whose write found the store locked by another process (SQLITE_BUSY: nothing was written) is made again
 * after a pause that doubles up to 80 ms (each try itself polls the lock for STORE_BUSY_TIMEOUT_MS), without blocking the thread, until `retryMs` have passed; then it answers
 * `busy` in one line. Every method's store writes come before any other effect or undo it when they fail (the run
 * lock of startTraining and resumeRun is released), so making the call again is safe.
 */
function retryWhenBusy(impl: StudioServiceImpl, retryMs: number): StudioServiceImpl {
  const out: Record<string, (request: unknown) => Promise<unknown>> = {};
  for (const name of STUDIO_METHOD_NAMES) {
    const fn = impl[name] as (request: unknown) => Promise<unknown>;
    out[name] = async (request) => {
      const deadline = Date.now() + retryMs;
      for (let pause = 10; ; pause = Math.min(pause * 2, 80)) {
        try {
          return await fn(request);
        } catch (err) {
          if (!isStoreBusy(err)) throw err;
          if (Date.now() + pause > deadline)
            throw new ServiceError({
              code: 'busy',
              message: `the store is busy: another process (a long save, such as an analysis) kept its write lock for ${Math.round(retryMs / 1000)} s; nothing was changed, try again`,
            });
          await new Promise((resolve) => setTimeout(resolve, pause));
        }
      }
    };
  }
  return out as StudioServiceImpl;
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

/**
 * The supervisor: starts each job (a training run, its resume, an analysis) in its own engine process, relays the
 * engine's messages to subscribers as StudioEvents, and keeps the store's record of each run — createRun, metric
 * points in batches, checkpoints, the trained dictionary, and the final status: done, cancelled, or failed (an engine
 * that exits without `done`, killed or crashed, is failed, and stays resumable from its last complete checkpoint).
 * The engine processes come from an EngineLauncher, so the same supervisor serves the CLI and Electron's main.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TrainConfig } from '../protocol/run-config';
import { InputError, isInputError } from '../core/errors';
import { runDir, type StudioHome } from '../core/home';
import { readRunConfig } from '../core/sae/trainer';
import { describeOwner, lockOwner, runLockPath, tryLock, type HeldLock } from '../core/util/pid-lock';
import {
  addRunCheckpoint,
  appendRunMetrics,
  createRun,
  getGraph,
  getRun,
  isStoreBusy,
  listRecentRuns,
  setGraphStatus,
  updateRunStatus,
  upsertDictionary,
  type Run,
  type RunMetricPoint,
  type Store,
} from '../core/store';
import {
  AnalyzeJobSpecSchema,
  type AttributeJobSpec,
  EngineMessageSchema,
  type EngineMessage,
  type JobResult,
  type JobSpec,
} from '../protocol/job-protocol';
import type { AutointerpJobSpec } from '../protocol/autointerp';
import type { JobInfo, StudioEvent } from '../protocol/jobs';
import type { MetricPoint } from '../protocol/runs';
import { oneLine } from '../protocol/service-dispatch';
import type { StudioEventSource } from '../protocol/studio-client';
import type { EngineExit, EngineLauncher, EngineProcess } from './engine-launcher';
import { DEFAULT_METRICS_BATCH, MetricsBatcher, type MetricsBatchOptions } from './metrics-batcher';
import { hasCompleteCheckpoint } from './run-checkpoints';

export interface SupervisorOptions {
  store: Store;
  home: StudioHome;
  launcher: EngineLauncher;
  metricsBatch?: MetricsBatchOptions;
  /** How long a cancelled job may take (a training writes its checkpoint) before its engine is killed; default 120 s. */
  cancelGraceMs?: number;
  /** Told about what went wrong outside any job's control (a store write that failed, a malformed message). */
  onWarning?: (message: string) => void;
  /** Names this process in the run locks it takes (what another studio's refusal names); default 'a studio'. */
  lockOwnerName?: string;
}

interface Job {
  info: JobInfo;
  engine: EngineProcess;
  cancelFile: string;
  result: JobResult | null;
  error: string | null;
  cancelRequested: boolean;
  killTimer: NodeJS.Timeout | null;
  metrics: MetricsBatcher | null;
  ended: Promise<JobInfo>;
  finished: boolean;
  /** The analysis a training asked for (its config's analyze_tokens), started when it ends done. */
  analyzeAfter: AnalyzeSpec | null;
  /** A training's run lock, released when its engine has exited. */
  lock: HeldLock | null;
}

type AnalyzeSpec = Omit<Extract<JobSpec, { kind: 'analyze' }>, 'kind'>;

const ANALYSIS_CANCEL_GRACE_MS = 2000;
/** An attribution stops between reverse-pass batches and marks its graph cancelled; past this it is killed. */
const ATTRIBUTE_CANCEL_GRACE_MS = 10_000;
/** How long a run record waits for a store locked by another process, and the pause between its tries. */
const STORE_RETRY_MS = 120_000;
const STORE_RETRY_PAUSE_MS = 100;
/** Finished jobs kept for listJobs. */
const KEEP_FINISHED = 50;

export class Supervisor implements StudioEventSource {
  private readonly jobs = new Map<string, Job>();
  private readonly listeners = new Set<(event: StudioEvent) => void>();
  private readonly store: Store;
  private readonly home: StudioHome;
  /** The run records not yet written because the store was busy, in order (see `safely`). */
  private readonly pendingWrites: { write: () => unknown; since: number }[] = [];
  private retryTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: SupervisorOptions) {
    this.store = options.store;
    this.home = options.home;
  }

  subscribe(listener: (event: StudioEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts a new run of a validated train config. */
  startTraining(
    cfg: TrainConfig,
    runId = `${cfg.name}-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`,
  ): { runId: string; jobId: string } {
    const lock = this.lockRun(runId);
    try {
      if (existsSync(runDir(this.home, runId)))
        throw new InputError(`run '${runId}' exists; resume it or choose another id`);
      const busy = this.active().find((j) => j.info.kind === 'train' && j.info.dictionary === cfg.name);
      if (busy)
        throw new InputError(
          `dictionary '${cfg.name}' is being trained by run '${busy.info.runId}'; choose another name`,
        );
      createRun(this.store, { id: runId, dictionaryName: cfg.name, config: cfg });
    } catch (err) {
      lock.release();
      throw err;
    }
    return {
      runId,
      jobId: this.launch(
        { kind: 'train', runId, resume: false, config: { ...cfg } },
        runId,
        cfg.name,
        analysisAfter(cfg),
        lock,
      ),
    };
  }

  /**
   * Continues a failed or cancelled run (also one started by `sae-studio train`) from its last complete checkpoint.
   * The run's lock is taken first, before its folder is even read: a run another process (a second studio on this
   * home, `sae-studio train`) is running is refused, and its files are left alone.
   */
  resumeRun(runId: string): { runId: string; jobId: string } {
    if (this.isRunActive(runId)) throw new InputError(`run '${runId}' is running`);
    const lock = this.lockRun(runId);
    let started: { dictionaryName: string; config: Record<string, unknown> };
    try {
      started = this.prepareResume(runId);
    } catch (err) {
      lock.release();
      throw err;
    }
    return {
      runId,
      jobId: this.launch(
        { kind: 'train', runId, resume: true },
        runId,
        started.dictionaryName,
        analysisAfter(started.config),
        lock,
      ),
    };
  }

  private prepareResume(runId: string): { dictionaryName: string; config: Record<string, unknown> } {
    const run = findRun(this.store, runId);
    if (run?.status === 'done') throw new InputError(`run '${runId}' has finished; there is nothing to resume`);
    // A run the store does not know (started by `sae-studio train`) must at least have its folder.
    if (!run) readRunConfig(this.home, runId);
    if (!hasCompleteCheckpoint(this.home, runId)) {
      throw new InputError(
        `run '${runId}' has no complete checkpoint to resume from (it stopped before its first one); start it again`,
      );
    }
    const config = readRunConfig(this.home, runId) as Record<string, unknown>;
    const dictionaryName = run?.dictionaryName ?? (typeof config.name === 'string' ? config.name : 'sae');
    if (!run) createRun(this.store, { id: runId, dictionaryName, config });
    else updateRunStatus(this.store, runId, 'running');
    return { dictionaryName, config };
  }

  /** Takes the run's lock (runId checked as one path segment first), or refuses naming the process that holds it. */
  private lockRun(runId: string): HeldLock {
    runDir(this.home, runId);
    const attempt = tryLock(runLockPath(this.home.root, runId), this.options.lockOwnerName ?? 'a studio');
    if (!attempt.ok)
      throw new InputError(
        `run '${runId}' is being run by ${describeOwner(attempt.owner)}; wait for it to end or stop it there`,
      );
    return attempt.lock;
  }

  /** Analyses a dictionary's features; `afterRun` ties it to the training run it follows (its log, cancelRun). */
  startAnalysis(spec: AnalyzeSpec, afterRun: string | null = null): { jobId: string } {
    return { jobId: this.launch({ kind: 'analyze', ...spec }, afterRun, spec.dictionary) };
  }

  /** Computes an attribution graph into the store, as the graph row `spec.name` (running, then done or not). */
  startAttribution(spec: Omit<AttributeJobSpec, 'kind'>): { jobId: string } {
    return { jobId: this.launch({ kind: 'attribute', ...spec }, null, spec.set) };
  }

  /**
   * Explains a dictionary's features (an 'autointerp' job). `secretEnv` (the endpoint's API key) is added to the
   * engine's environment alone: it is in no job spec, event or record.
   */
  startExplain(spec: Omit<AutointerpJobSpec, 'kind'>, secretEnv: Record<string, string> = {}): { jobId: string } {
    return { jobId: this.launch({ kind: 'autointerp', ...spec }, null, spec.dictionary, null, null, secretEnv) };
  }

  /** Asks a job to stop; false when no such job is running. A training writes a checkpoint first. */
  cancelJob(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    if (!job || job.finished) return false;
    if (!job.cancelRequested) {
      job.cancelRequested = true;
      job.info.status = 'cancelling';
      this.safely(() => writeFileSync(job.cancelFile, ''));
      job.engine.send({ type: 'cancel' });
      // An analysis saves nothing until its single final transaction: when it does not stop at once, it is killed.
      const grace =
        job.info.kind === 'analyze'
          ? ANALYSIS_CANCEL_GRACE_MS
          : job.info.kind === 'attribute'
            ? ATTRIBUTE_CANCEL_GRACE_MS
            : (this.options.cancelGraceMs ?? 120_000);
      job.killTimer = setTimeout(() => job.engine.kill(), grace);
      job.killTimer.unref();
    }
    return true;
  }

  cancelRun(runId: string): boolean {
    const job = this.active().find((j) => j.info.runId === runId);
    return job ? this.cancelJob(job.info.jobId) : false;
  }

  isRunActive(runId: string): boolean {
    return this.active().some((j) => j.info.runId === runId);
  }

  /** Running jobs first, then finished ones; newest first within each. */
  listJobs(): JobInfo[] {
    const all = [...this.jobs.values()].map((j) => ({ ...j.info }));
    return all.sort(
      (a, b) => Number(a.endedAt !== null) - Number(b.endedAt !== null) || b.startedAt.localeCompare(a.startedAt),
    );
  }

  /** Resolves with the job's final info once its engine has exited. */
  waitForJob(jobId: string): Promise<JobInfo> {
    const job = this.jobs.get(jobId);
    if (!job) return Promise.reject(new InputError(`unknown job '${jobId}'`));
    return job.ended;
  }

  /**
   * Marks runs the store still calls 'running' but no job of this supervisor runs as failed (the process that ran
   * them stopped without recording it); call once at startup. Returns their ids.
   */
  markInterruptedRuns(): string[] {
    // A run whose lock a live process holds (another studio on this home) is not interrupted.
    const stale = listRecentRuns(this.store, { status: 'running', limit: 1_000_000 }).filter(
      (r) => !this.isRunActive(r.id) && lockOwner(runLockPath(this.home.root, r.id)) === null,
    );
    for (const r of stale)
      updateRunStatus(this.store, r.id, 'failed', {
        error: 'interrupted: the studio stopped while this run was active',
      });
    return stale.map((r) => r.id);
  }

  /** Cancels every job, waits up to graceMs for them to stop (trainings checkpoint), then kills the rest. */
  async shutdown(graceMs = 30_000): Promise<void> {
    const running = this.active();
    for (const j of running) this.cancelJob(j.info.jobId);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(running.map((j) => j.ended)), timeout]);
    clearTimeout(timer);
    for (const j of running) j.engine.kill();
    await Promise.all(running.map((j) => j.ended));
    // The records still waiting for a busy store get until the same deadline.
    const deadline = Date.now() + graceMs;
    while (this.pendingWrites.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, STORE_RETRY_PAUSE_MS));
      this.drainWrites();
    }
  }

  private active(): Job[] {
    return [...this.jobs.values()].filter((j) => !j.finished);
  }

  private launch(
    spec: JobSpec,
    runId: string | null,
    dictionary: string,
    analyzeAfter: AnalyzeSpec | null = null,
    lock: HeldLock | null = null,
    secretEnv: Record<string, string> = {},
  ): string {
    try {
      return this.launchNow(spec, runId, dictionary, analyzeAfter, lock, secretEnv);
    } catch (err) {
      lock?.release();
      if (runId !== null && spec.kind === 'train')
        this.safely(() =>
          updateRunStatus(this.store, runId, 'failed', { error: `the engine could not be started: ${oneLine(err)}` }),
        );
      throw err;
    }
  }

  private launchNow(
    spec: JobSpec,
    runId: string | null,
    dictionary: string,
    analyzeAfter: AnalyzeSpec | null,
    lock: HeldLock | null,
    secretEnv: Record<string, string>,
  ): string {
    const jobId = randomUUID();
    const cancelFile = join(this.home.root, 'jobs', `${jobId}.cancel`);
    mkdirSync(dirname(cancelFile), { recursive: true });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    env.SAE_STUDIO_HOME = this.home.root;
    Object.assign(env, secretEnv);
    let resolveEnded!: (info: JobInfo) => void;
    const ended = new Promise<JobInfo>((resolve) => (resolveEnded = resolve));
    const engine = this.options.launcher.launch(env);
    const metrics =
      runId === null || spec.kind !== 'train'
        ? null
        : new MetricsBatcher(
            (points) => appendRunMetrics(this.store, runId, points.map(storedPoint)),
            this.options.metricsBatch ?? DEFAULT_METRICS_BATCH,
            (err) => this.options.onWarning?.(`run ${runId}: metrics not saved yet (${oneLine(err)}); will retry`),
          );
    const job: Job = {
      info: {
        jobId,
        kind: spec.kind,
        runId,
        dictionary,
        graph: spec.kind === 'attribute' ? spec.name : null,
        status: 'running',
        startedAt: new Date().toISOString(),
        endedAt: null,
        progress: null,
        error: null,
      },
      engine,
      cancelFile,
      result: null,
      error: null,
      cancelRequested: false,
      killTimer: null,
      ended,
      finished: false,
      metrics,
      analyzeAfter,
      lock,
    };
    // The engine keeps the run locked too: should this process die first, the run is not free while it still writes.
    if (lock && engine.pid !== undefined) this.safely(() => lock.addHelper(engine.pid!));
    this.jobs.set(jobId, job);
    engine.onMessage((raw) => this.onMessage(job, raw));
    engine.onExit((exit) => resolveEnded(this.finish(job, exit)));
    engine.send({ type: 'start', jobId, job: spec, cancelFile });
    return jobId;
  }

  private onMessage(job: Job, raw: unknown): void {
    const parsed = EngineMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.options.onWarning?.(`job ${job.info.jobId}: ignored a malformed engine message`);
      return;
    }
    const m: EngineMessage = parsed.data;
    const runId = job.info.runId;
    switch (m.type) {
      case 'progress':
        job.info.progress = { phase: m.phase, done: m.done, total: m.total, unit: m.unit };
        break;
      case 'metrics':
        job.metrics?.add({ step: m.step, tokens: m.tokens, values: m.values });
        break;
      case 'checkpoint':
        job.metrics?.flush();
        if (runId !== null)
          this.safely(() => addRunCheckpoint(this.store, runId, { step: m.step, tokens: m.tokens, path: m.path }));
        break;
      case 'done':
        job.result = m.result;
        break;
      case 'error':
        job.error = m.message;
        break;
      case 'log':
        if (runId !== null) this.safely(() => appendRunLog(this.home, runId, m.message));
        break;
    }
    this.emit({ jobId: job.info.jobId, kind: job.info.kind, runId, message: m });
  }

  private finish(job: Job, exit: EngineExit): JobInfo {
    if (job.finished) return { ...job.info };
    job.finished = true;
    if (job.killTimer) clearTimeout(job.killTimer);
    job.metrics?.flush();
    rmSync(job.cancelFile, { force: true });
    job.lock?.release();
    const { result } = job;
    const status = result
      ? result.kind === 'train' && result.cancelled
        ? 'cancelled'
        : 'done'
      : job.error === null && job.cancelRequested
        ? 'cancelled'
        : 'failed';
    const error = status === 'failed' ? (job.error ?? crashMessage(exit, job.engine.stderrTail())) : null;
    const runId = job.info.runId;
    let resumable = false;
    const graph = job.info.graph;
    // An engine that was killed or crashed could not end its graph's record: the supervisor does.
    if (graph !== null && status !== 'done') this.safely(() => endRunningGraph(this.store, graph, status, error));
    if (runId !== null && job.info.kind === 'analyze') {
      this.safely(() =>
        appendRunLog(
          this.home,
          runId,
          status === 'done'
            ? 'feature analysis saved to the store'
            : `feature analysis ${status}${error ? `: ${error}` : ''}`,
        ),
      );
    } else if (runId !== null) {
      const saved = result?.kind === 'train' ? result.dictionary : null;
      const dSae = saved?.config.d_sae;
      if (saved && typeof dSae === 'number') {
        const evaluation = result?.kind === 'train' ? result.evaluation : null;
        const metrics = evaluation ? finiteValues(evaluation) : undefined;
        this.safely(() =>
          upsertDictionary(this.store, {
            name: saved.name,
            path: saved.path,
            config: { ...saved.config, d_sae: dSae },
            modelName: saved.modelName,
            metrics,
          }),
        );
      }
      if (error) this.safely(() => appendRunLog(this.home, runId, `error: ${error}`));
      this.safely(() => updateRunStatus(this.store, runId, status, { error }));
      resumable = status !== 'done' && hasCompleteCheckpoint(this.home, runId);
    }
    Object.assign(job.info, { status, error, endedAt: new Date().toISOString() });
    this.emit({
      jobId: job.info.jobId,
      kind: job.info.kind,
      runId,
      message: { type: 'ended', status, error, resumable },
    });
    this.pruneFinished();
    if (status === 'done' && job.analyzeAfter && result?.kind === 'train' && result.dictionary) {
      const spec = { ...job.analyzeAfter, dictionary: result.dictionary.path };
      try {
        this.startAnalysis(spec, runId);
        if (runId !== null)
          this.safely(() =>
            appendRunLog(this.home, runId, `analysing the features over ${spec.tokens} tokens of ${spec.dataset}`),
          );
      } catch (err) {
        this.options.onWarning?.(`run ${runId}: the analysis after training could not start: ${oneLine(err)}`);
      }
    }
    return { ...job.info };
  }

  private pruneFinished(): void {
    const finished = [...this.jobs.values()].filter((j) => j.finished);
    for (const j of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.jobs.delete(j.info.jobId);
  }

  private emit(event: StudioEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.options.onWarning?.(`an event listener failed: ${oneLine(err)}`);
      }
    }
  }

  /**
   * Writes a run record now, or — when the store is locked by another process (a long save) — after the records
   * before it, retried every STORE_RETRY_PAUSE_MS for up to STORE_RETRY_MS without blocking; other failures are
   * warnings.
   */
  private safely(write: () => unknown): void {
    this.pendingWrites.push({ write, since: Date.now() });
    if (this.pendingWrites.length === 1) this.drainWrites();
  }

  private drainWrites(): void {
    while (this.pendingWrites.length > 0) {
      const next = this.pendingWrites[0]!;
      try {
        next.write();
      } catch (err) {
        if (isStoreBusy(err) && Date.now() - next.since < STORE_RETRY_MS) {
          this.retryTimer ??= setTimeout(() => {
            this.retryTimer = null;
            this.drainWrites();
          }, STORE_RETRY_PAUSE_MS);
          return;
        }
        this.options.onWarning?.(`store: ${oneLine(err)}`);
      }
      this.pendingWrites.shift();
    }
  }
}

/** The analysis a train config asks for after training (analyze_tokens > 0), or null. */
function analysisAfter(config: Readonly<Record<string, unknown>>): AnalyzeSpec | null {
  const tokens = config.analyze_tokens;
  if (typeof tokens !== 'number' || tokens <= 0) return null;
  const split = AnalyzeJobSpecSchema.shape.split.safeParse(config.dataset_split);
  const backend = AnalyzeJobSpecSchema.shape.backend.safeParse(config.backend);
  return {
    dictionary: String(config.name ?? 'sae'),
    dataset: typeof config.dataset === 'string' ? config.dataset : 'pdlm-corpus',
    split: split.success ? split.data : null,
    tokens,
    backend: backend.success ? backend.data : 'auto',
  };
}

/** The lines a run's engine logged, kept beside its checkpoints (runs/<id>/run.log). */
export const RUN_LOG = 'run.log';

function appendRunLog(home: StudioHome, runId: string, message: string): void {
  const dir = runDir(home, runId);
  mkdirSync(dir, { recursive: true });
  appendFileSync(join(dir, RUN_LOG), `${new Date().toISOString()} ${message.replace(/\n/g, ' ')}\n`);
}

function finiteValues(values: Readonly<Record<string, number | null>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (v !== null && Number.isFinite(v)) out[k] = v;
  return out;
}

/** The store keeps non-finite values (as strings); the protocol carries them as null. */
function storedPoint(p: MetricPoint): RunMetricPoint {
  return {
    step: p.step,
    tokens: p.tokens,
    values: Object.fromEntries(Object.entries(p.values).map(([k, v]) => [k, v ?? Number.NaN])),
  };
}

function endRunningGraph(store: Store, name: string, status: 'failed' | 'cancelled', error: string | null): void {
  if (getGraph(store, name)?.status === 'running') setGraphStatus(store, name, status, error);
}

function findRun(store: Store, id: string): Run | null {
  try {
    return getRun(store, id);
  } catch (err) {
    if (isInputError(err)) return null;
    throw err;
  }
}

function crashMessage(exit: EngineExit, stderr: string): string {
  const how = exit.signal
    ? `killed by ${exit.signal}`
    : exit.code === null
      ? 'could not be started'
      : `exit code ${exit.code}`;
  const last = stderr.trim().split('\n').at(-1)?.trim();
  return `the engine stopped unexpectedly (${how})${last ? `: ${last.slice(0, 300)}` : ''}`;
}

// One history for the CLI and the app: a command of the CLI (train, demo, analyze, generate) records its work as a
// run of the store the way the supervisor records an app-started job — the run row, its metric points in batches,
// its checkpoints, its log (runs/<id>/run.log, the same lines), its resulting dictionary with the evaluation, and
// the final status. `eval` stores the evaluation it computes with its dictionary (recordDictionaryEvaluation).
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { isInputError } from '../core/errors';
import { runDir, type StudioHome } from '../core/home';
import type { TrainEvent } from '../core/sae/trainer';
import {
  addRunCheckpoint,
  appendRunMetrics,
  createRun,
  openStore,
  setDictionaryMetrics,
  updateRunStatus,
  upsertDictionary,
  type RunMetricPoint,
  type Store,
} from '../core/store';
import { findDictionaryRow } from '../core/store/dictionaries';
import { MetricsBatcher } from '../engine/metrics-batcher';
import { RUN_LOG } from '../engine/supervisor';
import type { MetricPoint } from '../protocol/runs';

/** The dictionary a run saved: what the store's dictionary row needs. */
export interface RecordedDictionary {
  name: string;
  path: string;
  config: Readonly<Record<string, unknown>>;
  modelName: string | null;
}

export interface CliRunOutcome {
  cancelled?: boolean;
  dictionary?: RecordedDictionary | null;
  /** Named numbers (explained_variance, l0, ce_loss_recovered, …); non-finite ones are left out. */
  evaluation?: Readonly<Record<string, number>> | null;
}

/** Non-finite values and non-numbers dropped: the dictionary's metrics are plain numbers. */
export function finiteMetrics(values: Readonly<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

interface RunInput {
  id: string;
  dictionaryName: string;
  config: Readonly<Record<string, unknown>>;
}

/**
 * One CLI run in the store: made with startCliRun, fed the trainer's events, ended with finish or fail. Nothing is
 * written until the run begins — training's first metric, checkpoint or 'started' event, `markStarted()` (a command's
 * first progress), or its outcome; log lines wait in memory until then — so a command refused for bad input leaves
 * the store and the home exactly as they were (issue 21). A row left by an earlier attempt under the same id
 * that never finished (a process killed before its run folder existed, which the trainer then starts again) is
 * taken over, not duplicated.
 */
export class CliRun {
  private store: Store | null = null;
  private readonly pending: string[] = [];
  private readonly metrics: MetricsBatcher;
  private ended = false;
  /** A process that ends (an error thrown past the command, Ctrl-C twice) before the run did marks it failed. */
  private readonly onExit = (code: number) => {
    if (!this.ended) this.fail(new Error(`the command ended before the run did (exit code ${code})`));
  };

  constructor(
    readonly home: StudioHome,
    private readonly input: RunInput & { resume?: boolean },
  ) {
    const write = (points: MetricPoint[]) =>
      appendRunMetrics(
        this.begin(),
        this.id,
        points.map((p): RunMetricPoint => ({ step: p.step, tokens: p.tokens, values: finiteOrNaN(p.values) })),
      );
    this.metrics = new MetricsBatcher(write, {
      points: 50,
      ms: 2000,
    });
    process.once('exit', this.onExit);
  }

  get id(): string {
    return this.input.id;
  }

  /** The store with this run's row in it, created (or a known run marked running again) on first use. */
  private begin(): Store {
    if (this.store) return this.store;
    const store = openStore({ dir: this.home.root });
    try {
      const row = store.db.prepare('SELECT status FROM runs WHERE id = ?').get(this.id) as
        { status: string } | undefined;
      if (row === undefined)
        createRun(store, { id: this.id, dictionaryName: this.input.dictionaryName, config: this.input.config });
      else updateRunStatus(store, this.id, 'running'); // a resume, or an attempt killed before its folder existed
    } catch (err) {
      store.close();
      throw err;
    }
    this.store = store;
    for (const line of this.pending.splice(0)) this.writeLog(line);
    return store;
  }

  /** The run has begun (e.g. the first progress of an analysis): from now on it is recorded, failures included. */
  markStarted(): void {
    if (this.store) return;
    try {
      this.begin();
    } catch {
      // The record is secondary to the work: a store or disk that refuses it (full, say) leaves the command to go
      // on and meet the same condition itself, with its own one-line error.
    }
  }

  private end(): void {
    this.ended = true;
    process.off('exit', this.onExit);
    this.store?.close();
  }

  /** A line of the run's log, as the engine's lines are kept (`ISO-time message`). */
  log(message: string): void {
    const line = `${new Date().toISOString()} ${message.replace(/\n/g, ' ')}\n`;
    if (this.store) this.writeLog(line);
    else this.pending.push(line);
  }

  /** Best effort, as markStarted: a log line the disk refuses is dropped, the command's own error tells why. */
  private writeLog(line: string): void {
    try {
      const dir = runDir(this.home, this.id);
      mkdirSync(dir, { recursive: true });
      appendFileSync(join(dir, RUN_LOG), line);
    } catch {
      // dropped (see above)
    }
  }

  /** The trainer's events: metric points (batched), checkpoints and log lines. */
  onTrainEvent(e: TrainEvent): void {
    switch (e.type) {
      case 'log':
        this.log(e.message);
        break;
      case 'started':
        this.begin();
        this.log(`training ${e.totalSteps} steps (${e.totalTokens} tokens) on ${e.backend} (sae-studio CLI)`);
        break;
      case 'metrics': {
        this.begin();
        const { step, tokens, ...values } = e.metrics;
        this.metrics.add({ step, tokens, values });
        break;
      }
      case 'checkpoint':
        this.metrics.flush();
        addRunCheckpoint(this.begin(), this.id, { step: e.step, tokens: e.tokens, path: e.dir });
        break;
      case 'done':
        this.metrics.flush();
        break;
    }
  }

  /** Ends the run: the dictionary (with its evaluation) saved in the store, then the status. */
  finish(outcome: CliRunOutcome = {}): void {
    this.metrics.flush();
    const store = this.begin();
    const d = outcome.dictionary;
    const dSae = d?.config.d_sae;
    if (d && typeof dSae === 'number') {
      upsertDictionary(store, {
        name: d.name,
        path: d.path,
        config: { ...d.config, d_sae: dSae },
        modelName: d.modelName,
        metrics: outcome.evaluation ? finiteMetrics(outcome.evaluation) : undefined,
      });
    }
    updateRunStatus(store, this.id, outcome.cancelled ? 'cancelled' : 'done');
    this.end();
  }

  /**
   * Ends the run as failed, with the error's first line in the log and the row — when it began: a command refused
   * before that records nothing. Best effort: a failing run may be failing for want of disk, and its own error is
   * the one to report.
   */
  fail(err: unknown): void {
    const message = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'failed';
    try {
      // Refused before it began (bad input): nothing recorded. The trainers make the run folder only once the
      // config and data were checked, so a folder means the run had begun.
      if (this.store === null && isInputError(err) && !existsSync(runDir(this.home, this.id))) return;
      this.metrics.flush();
      this.log(`error: ${message}`);
      updateRunStatus(this.begin(), this.id, 'failed', { error: message });
    } catch {
      // The store or the disk refused the record of the failure: the command's own error is what the user sees.
    } finally {
      this.end();
    }
  }
}

function finiteOrNaN(values: Readonly<Record<string, number | null>>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, v ?? Number.NaN]));
}

/**
 * A CLI run to record: nothing is written until it begins (see CliRun); `resume` marks a known run running again,
 * and a resumed run the store never saw (started before this history) is created.
 */
export function startCliRun(home: StudioHome, input: RunInput & { resume?: boolean }): CliRun {
  return new CliRun(home, input);
}

/** Runs `body` as a recorded run: finished with its outcome, or failed with its error (which is thrown on). */
export async function recordCliRun<T>(
  run: CliRun,
  body: () => Promise<T>,
  outcome: (result: T) => CliRunOutcome,
): Promise<T> {
  let result: T;
  try {
    result = await body();
  } catch (err) {
    run.fail(err);
    throw err;
  }
  run.finish(outcome(result));
  return result;
}

/**
 * Stores an evaluation with the dictionary it was computed for (`eval`): the row named by the folder's name when
 * the store knows it, else a new row for the folder. Returns the dictionary's name in the store.
 */
export function recordDictionaryEvaluation(
  home: StudioHome,
  dictionary: RecordedDictionary,
  evaluation: Readonly<Record<string, unknown>>,
): string {
  const store = openStore({ dir: home.root });
  try {
    const metrics = finiteMetrics(evaluation);
    const row = findDictionaryRow(store.db, dictionary.name);
    const dSae = dictionary.config.d_sae;
    if (row) setDictionaryMetrics(store, dictionary.name, metrics);
    else if (typeof dSae === 'number')
      upsertDictionary(store, {
        name: dictionary.name,
        path: dictionary.path,
        config: { ...dictionary.config, d_sae: dSae },
        modelName: dictionary.modelName,
        metrics,
      });
    return dictionary.name;
  } finally {
    store.close();
  }
}

/** The store's name of a dictionary folder: its last path segment (as analyses name it). */
export function dictionaryNameOf(dir: string): string {
  return basename(dir);
}

/** A new run id like the training commands': `<prefix>-<date>-<6 hex digits>`. */
export function newCliRunId(prefix: string): string {
  return `${prefix}-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
}

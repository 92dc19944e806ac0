// The training job: from a run config to a trained dictionary. Streams activations (from the model on the fly
// or from a generated cache), normalises them, steps the optimiser, reports metrics, checkpoints atomically
// every N tokens, resumes bit-for-bit from the last complete checkpoint, stops cleanly when cancelled, and
// saves the final dictionary (activation scale folded in) in the lm-saes layout.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cachedActivationStream,
  createModelActivationStream,
  estimateAverageNorm,
  type ActivationBatch,
  type ActivationStream,
  type ActivationStreamState,
  type AverageNorm,
} from '../activations';
import { SaeConfigSchema, type SaeConfig } from '../../protocol/dictionary-config';
import type { TrainConfig } from '../../protocol/run-config';
import { parseConfig } from '../config/validate';
import { InputError } from '../errors';
import type { StudioHome } from '../home';
import { initBackend } from '../tensor/backend';
import { writeFileAtomic } from '../util/atomic-file';
import { entryOf } from '../util/lookup';
import { latestCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint';
import { foldActivationNorm } from './formats/fold-normalization';
import { saveLmSaesDictionary } from './formats/lm-saes';
import { scalarValue, toHost, type HostParams } from './host-tensor';
import { initializeSae } from './init/initialize';
import { Adam } from './optim/adam';
import { annealedK, learningRate, resolveSteps, warmedCoefficient } from './optim/schedules';
import { datasetScale } from './sparse-dictionary';
import { Bookkeeping } from './train-bookkeeping';
import { disposeStats, trainStep, type StepStats } from './train-step';
import { dictionaryHooks, loadModelAndWindows, resolveSplit, type ModelAndWindows } from './train-data';
import { readModelConfig, resolveModel } from '../lm/load-model';
import { Sae } from './variants/sae';
import { preselectBatchTopK, sparseTopKUnavailable } from './sparse/sparse-topk';

export interface TrainMetrics {
  step: number;
  tokens: number;
  lr: number;
  k: number | null;
  loss: number;
  l_rec: number;
  l_s: number;
  l_p: number;
  l_aux: number;
  l0: number;
  explained_variance: number;
  /** Latents that have not fired for dead_threshold_tokens tokens, and those firing on > 10% of this window's tokens. */
  dead: number;
  dense: number;
  tokens_per_second: number;
}

export type TrainEvent =
  | { type: 'log'; message: string }
  | { type: 'started'; totalSteps: number; totalTokens: number; resumedFromStep: number; backend: string }
  | { type: 'metrics'; metrics: TrainMetrics }
  | { type: 'checkpoint'; step: number; tokens: number; dir: string }
  | { type: 'done'; dictionaryDir: string; steps: number; tokens: number; seconds: number; cancelled: boolean };

export interface TrainJobOptions {
  home: StudioHome;
  /** Folder name under runs/ (a new run, or the one to resume). */
  runId: string;
  resume?: boolean;
  onEvent?: (e: TrainEvent) => void;
  signal?: AbortSignal;
  /** Stop (with a checkpoint) after this many steps in this process: lets tests interrupt a run. */
  maxStepsThisProcess?: number;
}

export interface TrainResult {
  dictionaryDir: string | null;
  steps: number;
  tokens: number;
  seconds: number;
  cancelled: boolean;
  sae: SaeConfig;
}

interface CheckpointState {
  format: 'sae-studio-checkpoint-1';
  step: number;
  tokens: number;
  adam_step: number;
  seconds: number;
  stream: ActivationStreamState;
  sae: SaeConfig;
  train_config: TrainConfig;
}

type Checkpoint = { tensors: HostParams; state: CheckpointState };
type Emit = (e: TrainEvent) => void;
type Log = (message: string) => void;

/** Where the dictionary reads and writes: its input and output hook points, and all of them in stream order. */
interface Hooks {
  hookIn: string;
  hookOut: string;
  all: string[];
}

/** The step schedule, fixed for the whole run. */
interface Schedule {
  totalSteps: number;
  warmL1: number;
  warmK: number;
  lrFactors: Record<string, number>;
}

/** What the step loop advances (and a checkpoint records). */
interface Progress {
  step: number;
  tokens: number;
  stepsThisProcess: number;
  /** The stream's state after the last batch trained on: what a checkpoint resumes from. */
  lastState: ActivationStreamState;
  /** Tokens and start of the current logging window (for tokens per second and the dense-latent count). */
  windowStart: number;
  windowTokens: number;
  nextCheckpointTokens: number;
}

/** One run between setup and finish: what setup fixed, the live tensors, and the progress. */
interface Run {
  cfg: TrainConfig;
  opts: TrainJobOptions;
  emit: Emit;
  log: Log;
  runDir: string;
  resumed: boolean;
  saeCfg: SaeConfig;
  hooks: Hooks;
  sIn: number;
  sOut: number;
  unitNorm: boolean;
  sparse: SparsePathChoice;
  schedule: Schedule;
  stream: ActivationStream;
  /** The batch a new run was initialised from: the first one trained on. */
  pending: ActivationBatch | null;
  sae: Sae;
  adam: Adam;
  book: Bookkeeping;
  priorSeconds: number;
  t0: number;
  progress: Progress;
}

/**
 * Trains (or resumes) one dictionary. The stages are the functions below, in order: openRunDir, resolveDictionary,
 * setUpRun (dataset statistics, the stream, parameters and optimiser), runSteps (trainOnBatch, emitMetrics and
 * saveCheckpoint each step), finishRun.
 */
export async function trainDictionary(cfg: TrainConfig, opts: TrainJobOptions): Promise<TrainResult> {
  const emit: Emit = opts.onEvent ?? (() => {});
  const log: Log = (message) => emit({ type: 'log', message });
  const { runDir, checkpoint } = openRunDir(cfg, opts);
  // Everything that can be checked from config.json alone is checked before any weights or data are read.
  const { hooks, saeCfg } = resolveDictionary(cfg, checkpoint);

  const backend = await initBackend(cfg.backend);
  log(`backend: ${backend.device}`);
  const split = resolveSplit(cfg.dataset, cfg.dataset_split);
  const data = await loadModelAndWindows(cfg.model, cfg.dataset, {
    home: opts.home,
    split,
    contextSize: cfg.context_size,
    onLog: log,
  });
  try {
    const run = await setUpRun({ cfg, opts, emit, log, runDir, checkpoint, hooks, saeCfg, data });
    emit({
      type: 'started',
      totalSteps: run.schedule.totalSteps,
      totalTokens: run.schedule.totalSteps * cfg.batch_size,
      resumedFromStep: checkpoint?.state.step ?? 0,
      backend: backend.name,
    });
    const cancelled = await runSteps(run);
    return await finishRun(run, cancelled, data);
  } finally {
    data.model.dispose();
  }
}

/** The run folder: a new one (its train-config.json written) or, to resume, its last complete checkpoint. */
function openRunDir(cfg: TrainConfig, opts: TrainJobOptions): { runDir: string; checkpoint: Checkpoint | null } {
  const runDir = join(opts.home.runs, opts.runId);
  const resumeFrom = opts.resume ? latestCheckpoint(runDir) : null;
  if (opts.resume && !resumeFrom) throw new InputError(`${runDir}: no complete checkpoint to resume from`);
  if (!opts.resume && existsSync(join(runDir, 'train-config.json'))) {
    throw new InputError(`${runDir}: a run with this id exists; resume it (--resume) or choose another id`);
  }
  const checkpoint = resumeFrom ? readCheckpoint<CheckpointState>(resumeFrom.dir) : null;
  if (resumeFrom && checkpoint && JSON.stringify(checkpoint.state.train_config) !== JSON.stringify(cfg)) {
    throw new InputError(
      `${resumeFrom.dir}: the run's config differs from the one given; resume with the run's own train-config.json`,
    );
  }
  mkdirSync(runDir, { recursive: true });
  if (!checkpoint) writeFileAtomic(join(runDir, 'train-config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
  return { runDir, checkpoint };
}

/** The hook points (checked against the model's config.json) and the dictionary's config: the checkpoint's, or parsed. */
function resolveDictionary(cfg: TrainConfig, checkpoint: Checkpoint | null): { hooks: Hooks; saeCfg: SaeConfig } {
  const modelDir = resolveModel(cfg.model).dir;
  const modelCfg = readModelConfig(modelDir);
  const hookIn = cfg.sae.hook_point_in;
  const hookOut = cfg.sae.hook_point_out ?? hookIn;
  const all = dictionaryHooks(modelCfg, hookIn, hookOut);
  if (cfg.sae.d_model !== undefined && cfg.sae.d_model !== modelCfg.dModel) {
    throw new InputError(`sae.d_model is ${cfg.sae.d_model}, but ${modelDir} has d_model ${modelCfg.dModel}`);
  }
  const saeCfg =
    checkpoint?.state.sae ??
    parseConfig(
      SaeConfigSchema,
      { model_name: cfg.model, ...cfg.sae, d_model: modelCfg.dModel },
      'train config, field sae',
    );
  return { hooks: { hookIn, hookOut, all }, saeCfg };
}

interface SetupInput {
  cfg: TrainConfig;
  opts: TrainJobOptions;
  emit: Emit;
  log: Log;
  runDir: string;
  checkpoint: Checkpoint | null;
  hooks: Hooks;
  saeCfg: SaeConfig;
  data: ModelAndWindows;
}

/** Dataset statistics, the activation stream, and the dictionary and optimiser: new, or restored from the checkpoint. */
async function setUpRun(input: SetupInput): Promise<Run> {
  const { cfg, log, checkpoint, hooks, data } = input;
  const { model, windows } = data;
  const mask = { bosId: null, ignoreTokenIds: cfg.ignore_token_ids };
  const estimate = (nTokens: number) =>
    estimateAverageNorm({ model, windows, hookPoints: hooks.all, mask, nTokens, modelBatchSize: cfg.model_batch_size });
  const { saeCfg, biasMean } = checkpoint
    ? { saeCfg: input.saeCfg, biasMean: undefined }
    : await datasetStatistics(cfg, input.saeCfg, hooks, estimate, log);
  const sIn = datasetScale(saeCfg, hooks.hookIn);
  const sOut = datasetScale(saeCfg, hooks.hookOut);
  const unitNorm = cfg.decoder_unit_norm ?? (saeCfg.act_fn === 'topk' || saeCfg.act_fn === 'batchtopk');

  // A short run need not generate a whole shuffle group it will never use.
  const groupWindows = Math.max(
    1,
    Math.min(cfg.shuffle_windows, Math.ceil(cfg.total_training_tokens / (windows.seq - 1)) + 1),
  );
  // The training stream is opened first: a new run initialises from its first batch (as lm-saes initialises
  // from the first batch of its activation stream), and that same batch is then the first one trained on, so
  // no activations are computed twice however large the shuffle group is.
  const seed = cfg.seed;
  const state = checkpoint?.state.stream;
  const stream = await (cfg.activation_cache
    ? cachedActivationStream({
        dir: cfg.activation_cache,
        hookPoints: hooks.all,
        batchSize: cfg.batch_size,
        seed,
        state,
        expectDModel: model.cfg.dModel,
      })
    : createModelActivationStream({
        model,
        windows,
        hookPoints: hooks.all,
        mask,
        batchSize: cfg.batch_size,
        groupWindows,
        modelBatchSize: cfg.model_batch_size,
        seed,
        state,
      }));
  const lastState = stream.state();
  let pending: ActivationBatch | null = null;
  let host: HostParams;
  if (checkpoint) {
    host = checkpoint.tensors;
  } else {
    pending = await stream.next();
    if (!pending) throw new InputError(`${cfg.dataset}: not enough tokens for one batch of ${cfg.batch_size}`);
    const scaled = (a: Float32Array, s: number) => (s === 1 ? a : a.map((v) => v * s));
    host = await initializeSae(saeCfg, cfg.initializer, {
      seed: cfg.seed,
      unitNormDecoder: unitNorm,
      data: {
        x: scaled(hookActs(pending, hooks.hookIn), sIn),
        y: scaled(hookActs(pending, hooks.hookOut), sOut),
        rows: pending.rows,
        yMean: biasMean && scaled(biasMean, sOut),
      },
    });
  }

  const sae = new Sae(saeCfg, host);
  const adam = new Adam(sae.params, { beta1: cfg.betas[0], beta2: cfg.betas[1], eps: cfg.eps });
  const book = new Bookkeeping(host, saeCfg.d_sae);
  if (checkpoint) {
    const adamState: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(checkpoint.tensors)) if (k.startsWith('adam.')) adamState[k] = t.data;
    adam.load(adamState, checkpoint.state.adam_step);
  }

  const sparse = sparsePathChoice(cfg, saeCfg);
  log(`path: ${sparse.use ? 'sparse TopK kernels' : `dense (${sparse.why})`}`);
  const totalSteps = Math.floor(cfg.total_training_tokens / cfg.batch_size);
  const schedule: Schedule = {
    totalSteps,
    warmL1: resolveSteps(cfg.l1_coefficient_warmup_steps, totalSteps),
    warmK: resolveSteps(cfg.k_warmup_steps, totalSteps),
    lrFactors: { log_jumprelu_threshold: cfg.jumprelu_lr_factor },
  };
  const step = checkpoint?.state.step ?? 0;
  const tokens = checkpoint?.state.tokens ?? 0;
  const every = cfg.checkpoint_every_tokens;
  const progress: Progress = {
    step,
    tokens,
    stepsThisProcess: 0,
    lastState,
    windowStart: performance.now(),
    windowTokens: 0,
    nextCheckpointTokens: every ? (Math.floor(tokens / every) + 1) * every : Infinity,
  };
  const { opts, emit, runDir } = input;
  return {
    cfg,
    opts,
    emit,
    log,
    runDir,
    resumed: checkpoint !== null,
    saeCfg,
    hooks,
    sIn,
    sOut,
    unitNorm,
    sparse,
    schedule,
    stream,
    pending,
    sae,
    adam,
    book,
    priorSeconds: checkpoint?.state.seconds ?? 0,
    t0: performance.now(),
    progress,
  };
}

/**
 * A new run's dataset statistics: the dataset-wise activation norm (when the config asks for it and does not give
 * it) and the mean output activation b_D is initialised to (initializer.bias_init_tokens; the norm pass's means
 * when it covered as many tokens).
 */
async function datasetStatistics(
  cfg: TrainConfig,
  given: SaeConfig,
  hooks: Hooks,
  estimate: (nTokens: number) => Promise<AverageNorm>,
  log: Log,
): Promise<{ saeCfg: SaeConfig; biasMean: Float32Array | undefined }> {
  let saeCfg = given;
  let normPass: AverageNorm | null = null;
  if (saeCfg.norm_activation === 'dataset-wise' && !saeCfg.dataset_average_activation_norm) {
    const est = (normPass = await estimate(cfg.norm_estimation_tokens));
    saeCfg = { ...saeCfg, dataset_average_activation_norm: est.norms };
    log(
      `dataset-wise norm over ${est.tokens} tokens: ${hooks.all.map((h) => `${h} ${entryOf(est.norms, h, 'the norm pass').toFixed(4)}`).join(', ')}`,
    );
  }
  const biasTokens = cfg.initializer.bias_init_method === 'mean' ? cfg.initializer.bias_init_tokens : null;
  if (biasTokens === null) return { saeCfg, biasMean: undefined };
  const est = normPass && cfg.norm_estimation_tokens === biasTokens ? normPass : await estimate(biasTokens);
  const biasMean = entryOf(est.means, hooks.hookOut, 'the mean activations');
  log(`b_D initialised to the mean of ${est.tokens} tokens`);
  return { saeCfg, biasMean };
}

/** A batch's rows at one of the stream's hook points. */
function hookActs(batch: ActivationBatch, hook: string): Float32Array {
  return entryOf(batch.acts, hook, 'activation batch');
}

/**
 * Steps until the schedule ends, the data runs out, or the run is stopped (cancelled, or its steps for this
 * process done); checkpoints every checkpoint_every_tokens on the way. Returns whether it was stopped.
 */
async function runSteps(run: Run): Promise<boolean> {
  const { cfg, opts, progress } = run;
  const { totalSteps } = run.schedule;
  while (progress.step < totalSteps) {
    // Yield to the event loop once per step: signals (Ctrl-C), IPC messages and timers are handled between steps.
    await new Promise((resolve) => setImmediate(resolve));
    if (
      opts.signal?.aborted ||
      (opts.maxStepsThisProcess !== undefined && progress.stepsThisProcess >= opts.maxStepsThisProcess)
    )
      return true;
    const batch = run.pending ?? (await run.stream.next());
    run.pending = null;
    if (!batch) {
      run.log(
        `the data ran out after ${progress.tokens} tokens (${progress.step} of ${totalSteps} steps): one pass done`,
      );
      return false;
    }
    await trainOnBatch(run, batch);
    const every = cfg.checkpoint_every_tokens;
    if (every && progress.tokens >= progress.nextCheckpointTokens && progress.step < totalSteps) {
      await saveCheckpoint(run);
      progress.nextCheckpointTokens += every;
    }
  }
  return false;
}

/** One optimiser step on one batch, its bookkeeping, and (every log_frequency steps and the last) its metrics. */
async function trainOnBatch(run: Run, batch: ActivationBatch): Promise<void> {
  const { cfg, saeCfg, sae, adam, book, hooks, sIn, sOut, progress } = run;
  const { totalSteps, warmK, warmL1, lrFactors } = run.schedule;
  const step = progress.step;
  const B = batch.rows;
  const k =
    saeCfg.act_fn === 'topk' || saeCfg.act_fn === 'batchtopk'
      ? annealedK(saeCfg.top_k, cfg.initial_k, warmK, step)
      : undefined;
  const lr = learningRate(
    {
      name: cfg.lr_scheduler_name,
      lr: cfg.lr,
      totalSteps,
      warmUpSteps: cfg.lr_warm_up_steps,
      coolDownSteps: cfg.lr_cool_down_steps,
      endRatio: cfg.lr_end_ratio,
    },
    step,
  );
  const deadMask =
    cfg.auxk_coefficient > 0
      ? tf.tidy(
          () =>
            tf.cast(
              tf.greaterEqual(book.tokensSinceFired, book.constant(cfg.dead_threshold_tokens)),
              'float32',
            ) as tf.Tensor1D,
        )
      : null;
  const nDead = deadMask ? await readDisposing(() => deadMask.sum()) : 0;
  const [x, y] = tf.tidy(() => {
    const xin = tf.tensor2d(hookActs(batch, hooks.hookIn), [B, saeCfg.d_model]);
    const xs = sIn === 1 ? xin : tf.mul(xin, sIn);
    if (hooks.hookOut === hooks.hookIn) return [xs, xs] as [tf.Tensor2D, tf.Tensor2D];
    const yout = tf.tensor2d(hookActs(batch, hooks.hookOut), [B, saeCfg.d_model]);
    return [xs, sOut === 1 ? yout : tf.mul(yout, sOut)] as [tf.Tensor2D, tf.Tensor2D];
  });
  const logging = (step + 1) % cfg.log_frequency === 0 || step + 1 === totalSteps;
  // BatchTopK's sparse path on webgpu selects the batch first (its passes read back asynchronously).
  let selection: Awaited<ReturnType<typeof preselectBatchTopK>> | undefined;
  if (run.sparse.use && saeCfg.act_fn === 'batchtopk' && k !== undefined && tf.getBackend() === 'webgpu') {
    const { W_E, b_E, b_D } = sae.weights();
    selection = await preselectBatchTopK(x, W_E, b_E, b_D, k, saeCfg.apply_decoder_bias_to_pre_encoder);
  }
  const stats: StepStats = trainStep(sae, adam, x, y, {
    lr,
    lrFactors,
    k,
    sparse: run.sparse.use,
    metrics: logging,
    ...(selection ? { selection } : {}),
    clipGradNorm: cfg.clip_grad_norm,
    unitNormDecoder: run.unitNorm,
    loss: {
      sparsityLossType: cfg.sparsity_loss_type,
      l1Coefficient: warmedCoefficient(cfg.l1_coefficient, warmL1, step),
      p: cfg.p,
      tanhStretchCoefficient: cfg.tanh_stretch_coefficient,
      frequencyScale: cfg.frequency_scale,
      lpCoefficient: cfg.lp_coefficient,
      auxkCoefficient: cfg.auxk_coefficient,
      kAux: cfg.k_aux,
      deadMask,
      nDead,
    },
  });
  tf.dispose([
    x,
    y,
    ...(deadMask ? [deadMask] : []),
    ...(selection ? [selection.values, selection.indices, selection.threshold] : []),
  ]);
  book.update(stats, B, step === 0 && !run.resumed);
  progress.step += 1;
  progress.stepsThisProcess += 1;
  progress.tokens += B;
  progress.windowTokens += B;
  progress.lastState = run.stream.state();
  if (logging) await emitMetrics(run, stats, k, lr);
  disposeStats(stats);
}

/** The metrics of the step just taken and of the logging window it closes; then a new window. */
async function emitMetrics(run: Run, stats: StepStats, k: number | undefined, lr: number): Promise<void> {
  const { cfg, book, progress } = run;
  const read = async (t: tf.Scalar | null) => (t ? scalarValue(t) : Number.NaN);
  const { parts } = stats;
  const [loss, l_rec, l_s, l_p, l_aux, l0, res, tot] = await Promise.all([
    read(parts.total),
    read(parts.l_rec),
    read(parts.l_s),
    read(parts.l_p),
    read(parts.l_aux),
    read(stats.l0),
    read(stats.residualSq),
    read(stats.totalSq),
  ]);
  const dead = await readDisposing(() =>
    tf.sum(tf.cast(tf.greaterEqual(book.tokensSinceFired, cfg.dead_threshold_tokens), 'float32')),
  );
  const dense = await readDisposing(() =>
    tf.sum(tf.cast(tf.greater(book.firedWindow, 0.1 * progress.windowTokens), 'float32')),
  );
  const secs = (performance.now() - progress.windowStart) / 1000;
  run.emit({
    type: 'metrics',
    metrics: {
      step: progress.step,
      tokens: progress.tokens,
      lr,
      k: k ?? null,
      loss,
      l_rec,
      l_s,
      l_p,
      l_aux,
      l0,
      explained_variance: 1 - res / tot,
      dead,
      dense,
      tokens_per_second: Math.round(progress.windowTokens / secs),
    },
  });
  progress.windowStart = performance.now();
  progress.windowTokens = 0;
  book.resetWindow();
}

/** The value of a scalar made for reading only (in a tidy scope), disposed once read. */
async function readDisposing(make: () => tf.Tensor): Promise<number> {
  const t = tf.tidy(make);
  try {
    return await scalarValue(t);
  } finally {
    t.dispose();
  }
}

/** A checkpoint of the step just taken: parameters, optimiser state, bookkeeping, and the stream's position. */
async function saveCheckpoint(run: Run): Promise<void> {
  const { progress, adam } = run;
  const state: CheckpointState = {
    format: 'sae-studio-checkpoint-1',
    step: progress.step,
    tokens: progress.tokens,
    adam_step: adam.step,
    seconds: elapsedSeconds(run),
    stream: progress.lastState,
    sae: run.saeCfg,
    train_config: run.cfg,
  };
  const tensors = await toHost({ ...run.sae.params, ...adam.state(), ...run.book.checkpointTensors() });
  const info = writeCheckpoint(run.runDir, progress.step, tensors, state);
  run.emit({ type: 'checkpoint', step: progress.step, tokens: progress.tokens, dir: info.dir });
}

/** Training time over every process of the run. */
function elapsedSeconds(run: Run): number {
  return run.priorSeconds + (performance.now() - run.t0) / 1000;
}

/** A stopped run checkpoints to resume; a finished one saves its dictionary (the activation scale folded in). */
async function finishRun(run: Run, cancelled: boolean, data: ModelAndWindows): Promise<TrainResult> {
  const { cfg, saeCfg, progress } = run;
  const { step, tokens } = progress;
  run.stream.close();
  const seconds = elapsedSeconds(run);
  let dictionaryDir: string | null = null;
  if (cancelled) {
    await saveCheckpoint(run);
    run.log(`stopped at step ${step}; resume with the same run id to continue`);
  } else {
    const finalHost = await toHost({ ...run.sae.params });
    if (saeCfg.act_fn === 'batchtopk')
      finalHost.batchtopk_threshold = { data: Float32Array.of(await scalarValue(run.book.emaThreshold)), shape: [] };
    const folded =
      saeCfg.norm_activation === 'dataset-wise'
        ? foldActivationNorm(saeCfg, finalHost)
        : { cfg: saeCfg, params: finalHost };
    dictionaryDir = join(run.opts.home.dictionaries, cfg.name);
    saveLmSaesDictionary(dictionaryDir, folded.cfg, folded.params, {
      lmConfig: {
        model_name: cfg.model,
        model_from_pretrained_path: data.location.dir,
        d_model: data.model.cfg.dModel,
        dataset: cfg.dataset,
        context_size: data.windows.seq,
      },
    });
    writeFileAtomic(
      join(run.runDir, 'result.json'),
      `${JSON.stringify({ dictionary: dictionaryDir, steps: step, tokens, seconds }, null, 2)}\n`,
    );
  }
  run.book.dispose();
  run.adam.dispose();
  run.sae.dispose();
  run.emit({ type: 'done', dictionaryDir: dictionaryDir ?? '', steps: step, tokens, seconds, cancelled });
  return { dictionaryDir, steps: step, tokens, seconds, cancelled, sae: saeCfg };
}

/** Whether the sparse TopK kernels apply to a run, and why not when they do not. */
export interface SparsePathChoice {
  use: boolean;
  why: string;
}

/** Whether the sparse TopK kernels apply to this run (and why not when they do not). */
export function sparsePathChoice(cfg: TrainConfig, sae: SaeConfig): SparsePathChoice {
  const blockers = [
    sae.act_fn !== 'topk' && sae.act_fn !== 'batchtopk' && `act_fn is ${sae.act_fn}`,
    sae.sparsity_include_decoder_norm && 'sparsity_include_decoder_norm selects on pre·‖W_D‖',
    cfg.sparsity_loss_type && cfg.l1_coefficient > 0 && 'a sparsity penalty needs every activation',
    cfg.auxk_coefficient > 0 && 'AuxK needs every pre-activation',
    sparseTopKUnavailable(sae.act_fn === 'batchtopk' ? undefined : sae.top_k),
  ].filter((b): b is string => typeof b === 'string');
  if (cfg.sparse_path === 'off') return { use: false, why: 'sparse_path is off' };
  const [blocker] = blockers;
  if (blocker !== undefined && cfg.sparse_path === 'on') throw new InputError(`sparse_path is on, but ${blocker}`);
  return blocker !== undefined ? { use: false, why: blocker } : { use: true, why: '' };
}

/** The config a run was started with (to resume it). */
export function readRunConfig(home: StudioHome, runId: string): unknown {
  const file = join(home.runs, runId, 'train-config.json');
  if (!existsSync(file)) throw new InputError(`${file}: no such run`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

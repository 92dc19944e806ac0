// The training job: from a run config to a trained dictionary. Streams activations (from the model on the fly
// or from a generated cache), normalises them, steps the optimiser, reports metrics, checkpoints atomically
// every N tokens, resumes bit-for-bit from the last complete checkpoint, stops cleanly when cancelled, and
// saves the final dictionary (activation scale folded in) in the lm-saes layout.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ActivationBatch } from '../activations';
import type { TrainConfig } from '../../protocol/run-config';
import { InputError } from '../errors';
import { dictionaryDir as dictionaryDirOf, runDir as runDirOf, type StudioHome } from '../home';
import { initBackend } from '../tensor/backend';
import { writeFileAtomic } from '../util/atomic-file';
import { writeCheckpoint } from './checkpoint';
import { foldActivationNorm } from './formats/fold-normalization';
import { saveLmSaesDictionary } from './formats/lm-saes';
import { scalarValue, toHost } from './host-tensor';
import { annealedK, learningRate, warmedCoefficient } from './optim/schedules';
import { disposeStats, trainStep, type StepStats } from './train-step';
import { loadModelAndWindows, resolveSplit, type ModelAndWindows } from './train-data';
import { preselectBatchTopK } from './sparse/sparse-topk';
import { batchTensors } from './batch-tensors';

import {
  checkDataBeforeTheRun,
  createRunDir,
  openRunDir,
  resolveDictionary,
  setUpRun,
  trainingMask,
} from './train-setup';
import { openTrainingSpool } from './train-spool';
import type { CheckpointState, Emit, Log, Run, TrainJobOptions, TrainResult } from './train-run';
export type { TrainEvent, TrainJobOptions, TrainMetrics, TrainResult } from './train-run';
/**
 * Trains (or resumes) one dictionary. The stages are the functions below, in order: openRunDir, resolveDictionary,
 * createRunDir, setUpRun (dataset statistics, the stream, parameters and optimiser), runSteps (trainOnBatch, emitMetrics and
 * saveCheckpoint each step), finishRun.
 */
export async function trainDictionary(cfg: TrainConfig, opts: TrainJobOptions): Promise<TrainResult> {
  const emit: Emit = opts.onEvent ?? (() => {});
  const log: Log = (message) => emit({ type: 'log', message });
  const { runDir, checkpoint, notes } = openRunDir(cfg, opts);
  for (const note of notes) log(note); // checkpoints cut short, a restart
  // Everything that can be checked from config.json alone is checked before any weights or data are read.
  const { hooks, saeCfg } = resolveDictionary(cfg, checkpoint);
  if (!opts.resume) checkDataBeforeTheRun(cfg);
  createRunDir(runDir, cfg, checkpoint); // only now: a config refused above leaves no folder behind

  const backend = await initBackend(cfg.backend);
  log(`backend: ${backend.device}`);
  const split = resolveSplit(cfg.dataset, cfg.dataset_split);
  const tData = performance.now();
  const data = await loadModelAndWindows(cfg.model, cfg.dataset, {
    home: opts.home,
    split,
    contextSize: cfg.context_size,
    basis: saeCfg.activation_basis,
    onLog: log,
  });
  let spool = await openTrainingSpool({
    ...{ cfg, saeCfg, resumed: checkpoint !== null, runDir, log },
    ...{ model: data.model, windows: data.windows, mask: trainingMask(cfg), hookPoints: hooks.all },
  });
  const tStats = performance.now();
  try {
    const run = await setUpRun({ cfg, opts, emit, log, runDir, checkpoint, hooks, saeCfg, data, spool });
    const seconds = (from: number, to: number) => Math.round((to - from) / 100) / 10;
    emit({
      type: 'started',
      totalSteps: run.schedule.totalSteps,
      totalTokens: run.schedule.totalSteps * cfg.batch_size,
      resumedFromStep: checkpoint?.state.step ?? 0,
      backend: backend.name,
      prep: { data_seconds: seconds(tData, tStats), statistics_seconds: seconds(tStats, performance.now()) },
    });
    const cancelled = await runSteps(run);
    const result = await finishRun(run, cancelled, data);
    if (!opts.keepSpool || cancelled || !spool) return result;
    const kept = spool;
    spool = null; // handed over: the caller disposes it
    return { ...result, spool: kept };
  } finally {
    spool?.dispose();
    data.model.dispose();
  }
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
  const { x, y, copied } = batchTensors(batch, hooks, saeCfg.d_model, sIn, sOut);
  // Copied into tensor memory: the stream may fill the batch's arrays with the next batch.
  if (copied) run.stream.release?.(batch);
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
  if (!Number.isFinite(loss)) throw divergedError(progress.step, `the loss is ${loss}`, cfg.lr);
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

/** Training that produced NaN or ±∞: nothing is saved as a dictionary; the run must start again with other settings. */
function divergedError(step: number, what: string, lr: number): InputError {
  return new InputError(
    `training diverged at step ${step}: ${what}; no dictionary was saved — start the run again with a lower 'lr' (now ${lr}) or check the activations`,
  );
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
    for (const [name, t] of Object.entries(finalHost))
      if (t && !t.data.every(Number.isFinite)) throw divergedError(step, `weight '${name}' holds NaN or ±∞`, cfg.lr);
    if (saeCfg.act_fn === 'batchtopk')
      finalHost.batchtopk_threshold = { data: Float32Array.of(await scalarValue(run.book.emaThreshold)), shape: [] };
    const folded =
      saeCfg.norm_activation === 'dataset-wise'
        ? foldActivationNorm(saeCfg, finalHost)
        : { cfg: saeCfg, params: finalHost };
    dictionaryDir = dictionaryDirOf(run.opts.home, cfg.name);
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

/** The config a run was started with (to resume it). */
export function readRunConfig(home: StudioHome, runId: string): unknown {
  const file = join(runDirOf(home, runId), 'train-config.json');
  if (!existsSync(file)) throw new InputError(`${file}: no such run`);
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message}); the run's config cannot be read back`);
  }
}

// The training job: from a run config to a trained dictionary. Streams activations (from the model on the fly
// or from a generated cache), normalises them, steps the optimiser, reports metrics, checkpoints atomically
// every N tokens, resumes bit-for-bit from the last complete checkpoint, stops cleanly when cancelled, and
// saves the final dictionary (activation scale folded in) in the lm-saes layout.
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedActivationStream, createModelActivationStream, estimateAverageNorm, type ActivationBatch, type ActivationStream, type ActivationStreamState } from '../activations';
import { SaeConfigSchema, type SaeConfig } from '../../protocol/dictionary-config';
import type { TrainConfig } from '../../protocol/run-config';
import { parseConfig } from '../config/validate';
import { InputError } from '../errors';
import type { StudioHome } from '../home';
import { initBackend } from '../tensor/backend';
import { writeFileAtomic } from '../util/atomic-file';
import { latestCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoint';
import { foldActivationNorm } from './formats/fold-normalization';
import { saveLmSaesDictionary } from './formats/lm-saes';
import { toHost, type HostParams } from './host-tensor';
import { initializeSae } from './init/initialize';
import { Adam } from './optim/adam';
import { annealedK, learningRate, resolveSteps, warmedCoefficient } from './optim/schedules';
import { datasetScale } from './sparse-dictionary';
import { disposeStats, trainStep, type StepStats } from './train-step';
import { dictionaryHooks, loadModelAndWindows, resolveSplit } from './train-data';
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

const TRACKER = 'tracker.tokens_since_fired';
const EMA_THRESHOLD = 'buffer.batchtopk_threshold';

export async function trainDictionary(cfg: TrainConfig, opts: TrainJobOptions): Promise<TrainResult> {
  const emit = opts.onEvent ?? (() => {});
  const log = (message: string) => emit({ type: 'log', message });
  const runDir = join(opts.home.runs, opts.runId);
  const resumeFrom = opts.resume ? latestCheckpoint(runDir) : null;
  if (opts.resume && !resumeFrom) throw new InputError(`${runDir}: no complete checkpoint to resume from`);
  if (!opts.resume && existsSync(join(runDir, 'train-config.json'))) {
    throw new InputError(`${runDir}: a run with this id exists; resume it (--resume) or choose another id`);
  }
  const checkpoint = resumeFrom ? readCheckpoint<CheckpointState>(resumeFrom.dir) : null;
  if (checkpoint && JSON.stringify(checkpoint.state.train_config) !== JSON.stringify(cfg)) {
    throw new InputError(`${resumeFrom!.dir}: the run's config differs from the one given; resume with the run's own train-config.json`);
  }
  mkdirSync(runDir, { recursive: true });
  if (!checkpoint) writeFileAtomic(join(runDir, 'train-config.json'), `${JSON.stringify(cfg, null, 2)}\n`);

  // Everything that can be checked from config.json alone is checked before any weights or data are read.
  const modelDir = resolveModel(cfg.model).dir;
  const modelCfg = readModelConfig(modelDir);
  const hookIn = cfg.sae.hook_point_in;
  const hookOut = cfg.sae.hook_point_out ?? hookIn;
  const hooks = dictionaryHooks(modelCfg, hookIn, hookOut);
  if (cfg.sae.d_model !== undefined && cfg.sae.d_model !== modelCfg.dModel) {
    throw new InputError(`sae.d_model is ${cfg.sae.d_model}, but ${modelDir} has d_model ${modelCfg.dModel}`);
  }
  let saeCfg: SaeConfig = checkpoint?.state.sae ?? parseConfig(SaeConfigSchema, { model_name: cfg.model, ...cfg.sae, d_model: modelCfg.dModel }, 'train config, field sae');

  const backend = await initBackend(cfg.backend);
  log(`backend: ${backend.device}`);
  const split = resolveSplit(cfg.dataset, cfg.dataset_split);
  const data = await loadModelAndWindows(cfg.model, cfg.dataset, { home: opts.home, split, contextSize: cfg.context_size, onLog: log });
  const { model, windows } = data;
  try {
    const mask = { bosId: null, ignoreTokenIds: cfg.ignore_token_ids };

    const estimate = (nTokens: number) => estimateAverageNorm({ model, windows, hookPoints: hooks, mask, nTokens, modelBatchSize: cfg.model_batch_size });
    let normPass: Awaited<ReturnType<typeof estimate>> | null = null;
    if (!checkpoint && saeCfg.norm_activation === 'dataset-wise' && !saeCfg.dataset_average_activation_norm) {
      const est = (normPass = await estimate(cfg.norm_estimation_tokens));
      saeCfg = { ...saeCfg, dataset_average_activation_norm: est.norms };
      log(`dataset-wise norm over ${est.tokens} tokens: ${hooks.map((h) => `${h} ${est.norms[h]!.toFixed(4)}`).join(', ')}`);
    }
    // b_D from the mean of many tokens (initializer.bias_init_tokens): the norm pass's when it covered as many.
    let biasMean: Float32Array | undefined;
    const biasTokens = cfg.initializer.bias_init_method === 'mean' ? cfg.initializer.bias_init_tokens : null;
    if (!checkpoint && biasTokens !== null) {
      const est = normPass && cfg.norm_estimation_tokens === biasTokens ? normPass : await estimate(biasTokens);
      biasMean = est.means[hookOut]!;
      log(`b_D initialised to the mean of ${est.tokens} tokens`);
    }
    const sIn = datasetScale(saeCfg, hookIn);
    const sOut = datasetScale(saeCfg, hookOut);
    const unitNorm = cfg.decoder_unit_norm ?? (saeCfg.act_fn === 'topk' || saeCfg.act_fn === 'batchtopk');

    // A short run need not generate a whole shuffle group it will never use.
    const groupWindows = Math.max(1, Math.min(cfg.shuffle_windows, Math.ceil(cfg.total_training_tokens / (windows.seq - 1)) + 1));
    const openStream = (seed: number, state?: ActivationStreamState): Promise<ActivationStream> =>
      cfg.activation_cache
        ? cachedActivationStream({ dir: cfg.activation_cache, hookPoints: hooks, batchSize: cfg.batch_size, seed, state, expectDModel: model.cfg.dModel })
        : createModelActivationStream({ model, windows, hookPoints: hooks, mask, batchSize: cfg.batch_size, groupWindows, modelBatchSize: cfg.model_batch_size, seed, state });

    // The training stream is opened first: a new run initialises from its first batch (as lm-saes initialises
    // from the first batch of its activation stream), and that same batch is then the first one trained on, so
    // no activations are computed twice however large the shuffle group is.
    const stream = await openStream(cfg.seed, checkpoint?.state.stream);
    let lastState = stream.state();
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
        data: { x: scaled(pending.acts[hookIn]!, sIn), y: scaled(pending.acts[hookOut]!, sOut), rows: pending.rows, yMean: biasMean && scaled(biasMean, sOut) },
      });
    }

    const sae = new Sae(saeCfg, host);
    const adam = new Adam(sae.params, { beta1: cfg.betas[0], beta2: cfg.betas[1], eps: cfg.eps });
    const F = saeCfg.d_sae;
    const tokensSinceFired = tf.variable(host[TRACKER] ? tf.tensor1d(host[TRACKER].data) : tf.zeros([F]), false);
    const emaThreshold = tf.variable(tf.scalar(host[EMA_THRESHOLD]?.data[0] ?? host.batchtopk_threshold?.data[0] ?? 0), false);
    if (checkpoint) {
      const adamState: Record<string, Float32Array> = {};
      for (const [k, t] of Object.entries(checkpoint.tensors)) if (k.startsWith('adam.')) adamState[k] = t.data;
      adam.load(adamState, checkpoint.state.adam_step);
    }

    const sparse = useSparsePath(cfg, saeCfg);
    log(`path: ${sparse.use ? 'sparse TopK kernels' : `dense (${sparse.why})`}`);
    const totalSteps = Math.floor(cfg.total_training_tokens / cfg.batch_size);
    const warmL1 = resolveSteps(cfg.l1_coefficient_warmup_steps, totalSteps);
    const warmK = resolveSteps(cfg.k_warmup_steps, totalSteps);
    const lrFactors = { log_jumprelu_threshold: cfg.jumprelu_lr_factor };
    let step = checkpoint?.state.step ?? 0;
    let tokens = checkpoint?.state.tokens ?? 0;
    const priorSeconds = checkpoint?.state.seconds ?? 0;
    const t0 = performance.now();
    emit({ type: 'started', totalSteps, totalTokens: totalSteps * cfg.batch_size, resumedFromStep: checkpoint?.state.step ?? 0, backend: backend.name });

    const snapshot = async (): Promise<HostParams> => {
      const tensors: Record<string, tf.Tensor> = { ...sae.params, ...adam.state(), [TRACKER]: tokensSinceFired, [EMA_THRESHOLD]: emaThreshold };
      return toHost(tensors);
    };
    const saveCheckpoint = async (streamState: ActivationStreamState) => {
      const state: CheckpointState = {
        format: 'sae-studio-checkpoint-1', step, tokens, adam_step: adam.step, seconds: priorSeconds + (performance.now() - t0) / 1000,
        stream: streamState, sae: saeCfg, train_config: cfg,
      };
      const info = writeCheckpoint(runDir, step, await snapshot(), state);
      emit({ type: 'checkpoint', step, tokens, dir: info.dir });
    };

    let cancelled = false;
    let windowStart = performance.now();
    let windowTokens = 0;
    let firedWindow = tf.variable(tf.zeros([F]), false);
    // Constants of the per-step bookkeeping, made once: on webgpu every fresh scalar is an upload (a new staging
    // buffer) each step.
    const constants = new Map<number, tf.Scalar>();
    const constant = (v: number): tf.Scalar => {
      let c = constants.get(v);
      if (!c) constants.set(v, (c = tf.keep(tf.scalar(v))));
      return c;
    };
    let stepsThisProcess = 0;
    let nextCheckpointTokens = cfg.checkpoint_every_tokens ? (Math.floor(tokens / cfg.checkpoint_every_tokens) + 1) * cfg.checkpoint_every_tokens : Infinity;
    while (step < totalSteps) {
      // Yield to the event loop once per step: signals (Ctrl-C), IPC messages and timers are handled between steps.
      await new Promise((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted || (opts.maxStepsThisProcess !== undefined && stepsThisProcess >= opts.maxStepsThisProcess)) {
        cancelled = true;
        break;
      }
      const batch = pending ?? (await stream.next());
      pending = null;
      if (!batch) {
        log(`the data ran out after ${tokens} tokens (${step} of ${totalSteps} steps): one pass done`);
        break;
      }
      const B = batch.rows;
      const k = saeCfg.act_fn === 'topk' || saeCfg.act_fn === 'batchtopk' ? annealedK(saeCfg.top_k, cfg.initial_k, warmK, step) : undefined;
      const lr = learningRate({ name: cfg.lr_scheduler_name, lr: cfg.lr, totalSteps, warmUpSteps: cfg.lr_warm_up_steps, coolDownSteps: cfg.lr_cool_down_steps, endRatio: cfg.lr_end_ratio }, step);
      const deadMask = cfg.auxk_coefficient > 0 ? tf.tidy(() => tf.cast(tf.greaterEqual(tokensSinceFired, constant(cfg.dead_threshold_tokens)), 'float32') as tf.Tensor1D) : null;
      const nDead = deadMask ? (await deadMask.sum().data())[0]! : 0;
      const [x, y] = tf.tidy(() => {
        const xin = tf.tensor2d(batch.acts[hookIn]!, [B, saeCfg.d_model]);
        const xs = sIn === 1 ? xin : tf.mul(xin, sIn);
        if (hookOut === hookIn) return [xs, xs] as [tf.Tensor2D, tf.Tensor2D];
        const yout = tf.tensor2d(batch.acts[hookOut]!, [B, saeCfg.d_model]);
        return [xs, sOut === 1 ? yout : tf.mul(yout, sOut)] as [tf.Tensor2D, tf.Tensor2D];
      });
      const logging = (step + 1) % cfg.log_frequency === 0 || step + 1 === totalSteps;
      // BatchTopK's sparse path on webgpu selects the batch first (its passes read back asynchronously).
      const selection = sparse.use && saeCfg.act_fn === 'batchtopk' && tf.getBackend() === 'webgpu'
        ? await preselectBatchTopK(x, sae.params.W_E as tf.Tensor2D, sae.params.b_E as tf.Tensor1D, (sae.params.b_D as tf.Tensor1D | undefined) ?? null, k!, saeCfg.apply_decoder_bias_to_pre_encoder)
        : undefined;
      const stats: StepStats = trainStep(sae, adam, x, y, {
        lr, lrFactors, k, sparse: sparse.use, metrics: logging, ...(selection ? { selection } : {}),
        clipGradNorm: cfg.clip_grad_norm,
        unitNormDecoder: unitNorm,
        loss: {
          sparsityLossType: cfg.sparsity_loss_type,
          l1Coefficient: warmedCoefficient(cfg.l1_coefficient, warmL1, step),
          p: cfg.p, tanhStretchCoefficient: cfg.tanh_stretch_coefficient, frequencyScale: cfg.frequency_scale,
          lpCoefficient: cfg.lp_coefficient, auxkCoefficient: cfg.auxk_coefficient, kAux: cfg.k_aux, deadMask, nDead,
        },
      });
      tf.dispose([x, y, ...(deadMask ? [deadMask] : []), ...(selection ? [selection.values, selection.indices, selection.threshold] : [])]);
      const nextTracker = tf.tidy(() => tf.where(tf.greater(stats.fired, constant(0)), tf.zerosLike(tokensSinceFired), tf.add(tokensSinceFired, constant(B))));
      tokensSinceFired.assign(nextTracker);
      nextTracker.dispose();
      const nextFired = tf.tidy(() => tf.add(firedWindow, stats.fired));
      firedWindow.assign(nextFired);
      nextFired.dispose();
      if (stats.batchThreshold) {
        // The inference threshold of BatchTopK: an exponential moving average of the batches' thresholds.
        const ema = tf.tidy((): tf.Scalar => (step === 0 && !checkpoint ? stats.batchThreshold!.clone() : (tf.add(tf.mul(emaThreshold, 0.99), tf.mul(stats.batchThreshold!, 0.01)) as tf.Scalar)));
        emaThreshold.assign(ema);
        ema.dispose();
      }
      step += 1;
      stepsThisProcess += 1;
      tokens += B;
      windowTokens += B;
      lastState = stream.state();

      if (logging) {
        const read = async (t: tf.Tensor | null) => (t ? (await t.data())[0]! : Number.NaN);
        const [loss, lRec, lS, lP, lAux, l0, res, tot] = await Promise.all([stats.parts.total, stats.parts.l_rec, stats.parts.l_s, stats.parts.l_p, stats.parts.l_aux, stats.l0, stats.residualSq, stats.totalSq].map(read));
        const dead = await read(tf.tidy(() => tf.sum(tf.cast(tf.greaterEqual(tokensSinceFired, cfg.dead_threshold_tokens), 'float32'))));
        const dense = await read(tf.tidy(() => tf.sum(tf.cast(tf.greater(firedWindow, 0.1 * windowTokens), 'float32'))));
        const secs = (performance.now() - windowStart) / 1000;
        emit({
          type: 'metrics',
          metrics: {
            step, tokens, lr, k: k ?? null, loss: loss!, l_rec: lRec!, l_s: lS!, l_p: lP!, l_aux: lAux!, l0: l0!,
            explained_variance: 1 - res! / tot!, dead, dense, tokens_per_second: Math.round(windowTokens / secs),
          },
        });
        windowStart = performance.now();
        windowTokens = 0;
        firedWindow.dispose();
        firedWindow = tf.variable(tf.zeros([F]), false);
      }
      disposeStats(stats);
      if (tokens >= nextCheckpointTokens && step < totalSteps) {
        await saveCheckpoint(lastState);
        nextCheckpointTokens += cfg.checkpoint_every_tokens!;
      }
    }
    stream.close();
    const seconds = priorSeconds + (performance.now() - t0) / 1000;

    let dictionaryDir: string | null = null;
    if (cancelled) {
      await saveCheckpoint(lastState);
      log(`stopped at step ${step}; resume with the same run id to continue`);
    } else {
      const finalHost = await toHost({ ...sae.params });
      if (saeCfg.act_fn === 'batchtopk') finalHost.batchtopk_threshold = { data: Float32Array.of((await emaThreshold.data())[0]!), shape: [] };
      const folded = saeCfg.norm_activation === 'dataset-wise' ? foldActivationNorm(saeCfg, finalHost) : { cfg: saeCfg, params: finalHost };
      dictionaryDir = join(opts.home.dictionaries, cfg.name);
      saveLmSaesDictionary(dictionaryDir, folded.cfg, folded.params, {
        lmConfig: { model_name: cfg.model, model_from_pretrained_path: data.location.dir, d_model: model.cfg.dModel, dataset: cfg.dataset, context_size: windows.seq },
      });
      writeFileAtomic(join(runDir, 'result.json'), `${JSON.stringify({ dictionary: dictionaryDir, steps: step, tokens, seconds }, null, 2)}\n`);
    }
    tf.dispose([tokensSinceFired, emaThreshold, firedWindow, ...constants.values()]);
    adam.dispose();
    sae.dispose();
    emit({ type: 'done', dictionaryDir: dictionaryDir ?? '', steps: step, tokens, seconds, cancelled });
    return { dictionaryDir, steps: step, tokens, seconds, cancelled, sae: saeCfg };
  } finally {
    model.dispose();
  }
}

/** Whether the sparse TopK kernels apply to this run (and why not when they do not). */
export function useSparsePath(cfg: TrainConfig, sae: SaeConfig): { use: boolean; why: string } {
  const blockers = [
    sae.act_fn !== 'topk' && sae.act_fn !== 'batchtopk' && `act_fn is ${sae.act_fn}`,
    sae.sparsity_include_decoder_norm && 'sparsity_include_decoder_norm selects on pre·‖W_D‖',
    cfg.sparsity_loss_type && cfg.l1_coefficient > 0 && 'a sparsity penalty needs every activation',
    cfg.auxk_coefficient > 0 && 'AuxK needs every pre-activation',
    sparseTopKUnavailable(sae.act_fn === 'batchtopk' ? undefined : sae.top_k),
  ].filter((b): b is string => typeof b === 'string');
  if (cfg.sparse_path === 'off') return { use: false, why: 'sparse_path is off' };
  if (blockers.length > 0 && cfg.sparse_path === 'on') throw new InputError(`sparse_path is on, but ${blockers[0]}`);
  return blockers.length > 0 ? { use: false, why: blockers[0]! } : { use: true, why: '' };
}

/** The config a run was started with (to resume it). */
export function readRunConfig(home: StudioHome, runId: string): unknown {
  const file = join(home.runs, runId, 'train-config.json');
  if (!existsSync(file)) throw new InputError(`${file}: no such run`);
  return JSON.parse(readFileSync(file, 'utf8'));
}


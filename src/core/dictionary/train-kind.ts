// Training of the dictionary kinds other than `sae` (which has its own trainer with sparse kernels, checkpoints and
// resume in src/core/sae): the same lm-saes-shaped run config, one LM pass per batch feeding every hook the kind
// reads and writes, lm-saes's dataset-wise normalisation per hook, the kind's tensor forward with tfjs autodiff,
// lm-saes's generic loss averaged over tokens and over the kind's heads / layers, Adam with the lr, L1 and K
// schedules of the SAE trainer, and an evaluation on held-out windows when eval_windows > 0.
//
// Data. Token kinds (crosscoder, CLT, MoLT) read shuffled token rows of all their hooks from the SAE's activation
// stream (the same shuffle groups, BOS excluded). Sequence kinds (Lorsa) read whole windows in a seeded order —
// attention needs the positions — and leave position 0 (BOS) out of the loss.
//
// Saving. The dictionary is saved dataset-wise with its norm scalars (lm-saes applies them on load), so no fold
// approximation enters a saved file; `kind.fold` is there for exports that need raw-space weights.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../../protocol/run-config';
import {
  cachedActivationStream,
  createModelActivationStream,
  estimateAverageNorm,
  type ActivationStream,
} from '../activations';
import { parseConfig } from '../config/validate';
import { InputError } from '../errors';
import { dictionaryDir as dictionaryDirOf, runDir as runDirOf } from '../home';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { readModelConfig, resolveModel } from '../lm/load-model';
import { hookStage } from '../lm/hooks';
import { sliceRows, type TokenBatch } from '../lm/token-batch';
import { torchRandperm } from '../data/random/torch-randperm';
import { toHost, type HostParams } from '../sae/host-tensor';
import { Adam } from '../sae/optim/adam';
import { annealedK, learningRate, resolveSteps, warmedCoefficient } from '../sae/optim/schedules';
import { loadModelAndWindows, resolveSplit, type ModelAndWindows } from '../sae/train-data';
import type { TrainEvent, TrainJobOptions } from '../sae/train-run';
import { initBackend } from '../tensor/backend';
import { writeFileAtomic } from '../util/atomic-file';
import { mkdirSync } from 'node:fs';
import { hookScales, stackHooks } from './apply';
import { evaluateKind, type KindEvalResult } from './evaluate-kind';
import { initOutputBiases, searchInitScale } from './init-data';
import type { DictionaryKind, KindConfigBase } from './kind';
import { saveKindDictionary } from './lm-saes-files';
import { kindOf } from './registry';

export interface KindTrainResult {
  dictionaryDir: string | null;
  steps: number;
  tokens: number;
  seconds: number;
  cancelled: boolean;
  config: KindConfigBase;
  evaluation: KindEvalResult | null;
}

/** The sparsity penalty Σ_F p(f ⊙ n) averaged over tokens and feature axes; f [N, A, F], n [A, F]. */
function sparsityPenalty(cfg: TrainConfig, f: tf.Tensor3D, n: tf.Tensor2D): tf.Scalar {
  const w = tf.mul(f, n); // f ≥ 0
  switch (cfg.sparsity_loss_type) {
    case null:
      return tf.scalar(0);
    case 'power':
      // relu, not abs: w ≥ 0, and tfjs's abs has gradient −1 at 0 where torch's has 0 (JumpReLU's θ sees it).
      return tf.mean(tf.sum(cfg.p === 1 ? tf.relu(w) : tf.pow(tf.relu(w), cfg.p), 2));
    case 'tanh':
      return tf.mean(tf.sum(tf.tanh(tf.mul(w, cfg.tanh_stretch_coefficient)), 2));
    case 'tanh-quad': {
      const freq = tf.mean(tf.tanh(tf.mul(w, cfg.tanh_stretch_coefficient)), 0); // [A, F]
      return tf.div(tf.sum(tf.mul(freq, tf.add(1, tf.div(freq, cfg.frequency_scale)))), n.shape[0]) as tf.Scalar;
    }
  }
}

/** A batch: x [N, nIn, d] and y [N, nOut, d] normalised; `lossRows` 1 for rows in the loss (sequence kinds: not BOS). */
interface KindBatch {
  x: Float32Array;
  y: Float32Array;
  rows: number;
  lossRows: Float32Array | null;
}

interface BatchSource {
  next(): Promise<KindBatch | null>;
  close(): void;
}

function tokenSource(stream: ActivationStream, kind: DictionaryKind, cfg: KindConfigBase): BatchSource {
  return {
    async next() {
      const batch = await stream.next();
      if (!batch) return null;
      const scales: Record<string, Float64Array> = {};
      for (const h of stream.hookPoints) scales[h] = hookScales(cfg, h, batch.acts[h]!, batch.rows, stream.dims[h]!);
      return {
        x: stackHooks(kind.hooksIn(cfg), batch.acts, scales, batch.rows, cfg.d_model),
        y: stackHooks(kind.hooksOut(cfg), batch.acts, scales, batch.rows, cfg.d_model),
        rows: batch.rows,
        lossRows: null,
      };
    },
    close: () => stream.close(),
  };
}

/** Whole windows in a seeded order (a new permutation each pass), `perBatch` windows a batch. */
function sequenceSource(
  model: HookedTransformer,
  windows: TokenBatch,
  kind: DictionaryKind,
  cfg: KindConfigBase,
  perBatch: number,
  seed: number,
): BatchSource {
  const hooks = [...new Set([...kind.hooksIn(cfg), ...kind.hooksOut(cfg)])];
  const S = windows.seq;
  let order = torchRandperm(windows.batch, seed);
  let at = 0;
  let pass = 0;
  return {
    async next() {
      if (at + perBatch > windows.batch) {
        pass += 1;
        order = torchRandperm(windows.batch, seed + pass);
        at = 0;
      }
      const ids = new Int32Array(perBatch * S);
      for (let w = 0; w < perBatch; w++) ids.set(sliceRows(windows, order[at + w]!, 1).ids, w * S);
      at += perBatch;
      const out = model.forward({ ids, batch: perBatch, seq: S }, { cache: hooks, logits: false });
      const acts: Record<string, Float32Array> = {};
      for (const h of hooks) acts[h] = (await out.cache[h]!.data()) as Float32Array;
      tf.dispose(Object.values(out.cache));
      const rows = perBatch * S;
      const scales: Record<string, Float64Array> = {};
      for (const h of hooks) scales[h] = hookScales(cfg, h, acts[h]!, rows, acts[h]!.length / rows);
      const lossRows = new Float32Array(rows).map((_, r) => (r % S === 0 ? 0 : 1));
      return {
        x: stackHooks(kind.hooksIn(cfg), acts, scales, rows, cfg.d_model),
        y: stackHooks(kind.hooksOut(cfg), acts, scales, rows, cfg.d_model),
        rows,
        lossRows,
      };
    },
    close: () => {},
  };
}

interface KindRun {
  cfg: TrainConfig;
  opts: TrainJobOptions;
  emit: (e: TrainEvent) => void;
  log: (message: string) => void;
  kind: DictionaryKind;
  kcfg: KindConfigBase;
  data: ModelAndWindows;
  source: BatchSource;
  /** The first batch, used for the data-dependent initialisation and trained on first. */
  pending: KindBatch | null;
  vars: Record<string, tf.Variable>;
  buffers: Record<string, tf.Tensor>;
  adam: Adam;
  totalSteps: number;
  tokensPerStep: number;
  progress: { step: number; tokens: number; windowStart: number; windowTokens: number };
  t0: number;
}

/** Checks what the run config alone decides (kind, fields, d_model) before any weights or data are read. */
function checkKindConfig(cfg: TrainConfig, opts: TrainJobOptions): { kind: DictionaryKind; early: KindConfigBase } {
  const kind = kindOf(String(cfg.sae.sae_type), 'sae.sae_type');
  const modelCfg = readModelConfig(resolveModel(cfg.model).dir);
  if (cfg.sae.d_model !== undefined && cfg.sae.d_model !== modelCfg.dModel)
    throw new InputError(`sae.d_model is ${cfg.sae.d_model}, but ${cfg.model} has d_model ${modelCfg.dModel}`);
  const early = parseConfig(kind.schema, { model_name: cfg.model, ...cfg.sae, d_model: modelCfg.dModel }, 'sae');
  for (const h of new Set([...kind.hooksIn(early), ...kind.hooksOut(early)])) {
    try {
      hookStage(modelCfg, h);
    } catch (err) {
      throw new InputError(`sae: ${(err as Error).message}`);
    }
  }
  kind.fitsModel?.(early, modelCfg);
  if (opts.resume)
    throw new InputError(`--resume: a ${kind.saeType} run cannot be resumed yet (only sae runs checkpoint)`);
  return { kind, early };
}

/** Trains a dictionary of a non-`sae` kind from a run config; saves it under dictionaries/<name>. */
export async function trainKindDictionary(cfg: TrainConfig, opts: TrainJobOptions): Promise<KindTrainResult> {
  const emit = opts.onEvent ?? (() => {});
  const log = (message: string) => emit({ type: 'log', message });
  const { kind, early } = checkKindConfig(cfg, opts);
  const backend = await initBackend(cfg.backend);
  log(`backend: ${backend.device}`);
  const data = await loadModelAndWindows(cfg.model, cfg.dataset, {
    home: opts.home,
    split: resolveSplit(cfg.dataset, cfg.dataset_split),
    contextSize: cfg.context_size,
    onLog: log,
    basis: early.activation_basis,
  });
  try {
    const run = await setUpKindRun(cfg, opts, emit, log, kind, data);
    emit({
      type: 'started',
      totalSteps: run.totalSteps,
      totalTokens: run.totalSteps * run.tokensPerStep,
      resumedFromStep: 0,
      backend: backend.name,
    });
    const cancelled = await runKindSteps(run);
    return await finishKindRun(run, cancelled);
  } finally {
    data.model.dispose();
  }
}

/** Dataset norms, the batch source, the initial parameters (data-dependent on the first batch) and Adam. */
async function setUpKindRun(
  cfg: TrainConfig,
  opts: TrainJobOptions,
  emit: (e: TrainEvent) => void,
  log: (message: string) => void,
  kind: DictionaryKind,
  data: ModelAndWindows,
): Promise<KindRun> {
  const { model, windows } = data;
  const t0 = performance.now();
  const draft = { model_name: cfg.model, ...cfg.sae, d_model: model.cfg.dModel };
  const base = parseConfig(kind.schema, { ...draft, dataset_average_activation_norm: null }, 'sae');
  const hooks = [...new Set([...kind.hooksIn(base), ...kind.hooksOut(base)])];
  const known = new Set(model.hookNames);
  for (const h of hooks) if (!known.has(h)) throw new InputError(`sae: hook '${h}' is not a hook of ${cfg.model}`);
  let kcfg = base;
  if (base.norm_activation === 'dataset-wise') {
    const avg = await estimateAverageNorm({
      model,
      windows,
      hookPoints: hooks,
      nTokens: cfg.norm_estimation_tokens,
      modelBatchSize: cfg.model_batch_size,
    });
    log(
      `dataset-wise norms over ${avg.tokens} tokens: ${hooks.map((h) => `${h} ${avg.norms[h]!.toFixed(3)}`).join(', ')}`,
    );
    kcfg = parseConfig(kind.schema, { ...draft, dataset_average_activation_norm: avg.norms }, 'sae');
  }
  const S = windows.seq;
  const perBatch = Math.max(1, Math.floor(cfg.batch_size / S));
  const tokensPerStep = kind.needsSequences ? perBatch * (S - 1) : cfg.batch_size;
  const totalSteps = Math.max(1, Math.floor(cfg.total_training_tokens / tokensPerStep));
  if (kind.needsSequences && cfg.activation_cache)
    throw new InputError(
      `activation_cache: a ${kind.label} trains on whole windows in order, which a shuffled token cache does not keep; leave it null`,
    );
  // A short run need not generate a whole shuffle group it will never use (as the sae trainer).
  const groupWindows = Math.max(1, Math.min(cfg.shuffle_windows, Math.ceil(cfg.total_training_tokens / (S - 1)) + 1));
  const source: BatchSource = kind.needsSequences
    ? sequenceSource(model, windows, kind, kcfg, perBatch, cfg.seed)
    : tokenSource(
        await (cfg.activation_cache
          ? cachedActivationStream({
              dir: cfg.activation_cache,
              hookPoints: hooks,
              batchSize: cfg.batch_size,
              seed: cfg.seed,
              expectDModel: model.cfg.dModel,
            })
          : createModelActivationStream({
              model,
              windows,
              hookPoints: hooks,
              batchSize: cfg.batch_size,
              groupWindows,
              modelBatchSize: cfg.model_batch_size,
              seed: cfg.seed,
            })),
        kind,
        kcfg,
      );
  const pending = await source.next();
  if (!pending) throw new InputError(`${cfg.dataset}: no tokens to train on`);
  const buffers: Record<string, tf.Tensor> = {};
  for (const [n, b] of Object.entries(kind.buffers(kcfg)))
    buffers[n] = tf.tensor(Float32Array.from(b.data as ArrayLike<number>, Number), [...b.shape]);
  let host = kind.init(kcfg, cfg.seed);
  const initBatch = { x: pending.x, y: pending.y, rows: pending.rows, seqLen: kind.needsSequences ? S : 1 };
  if (cfg.initializer.bias_init_method !== 'all_zero') initOutputBiases(kind, kcfg, host, initBatch);
  // The scale search pays off where the encoder starts tied to the decoder (autoencoders: a random feature then
  // reconstructs its own direction); with independent random encoder and decoder (transcoders, CLT, Lorsa, MoLT)
  // every random feature is noise and the search would shrink the weights towards 0, so lm-saes's init is kept.
  const hooksIn = kind.hooksIn(kcfg);
  const autoencoder = kind.hooksOut(kcfg).every((h, i) => h === hooksIn[i]);
  if (autoencoder) {
    const searched = await searchInitScale(kind, kcfg, host, buffers, initBatch);
    host = searched.params;
    log(
      `initial weight scale ${searched.scale.toPrecision(3)} (reconstruction loss ${searched.loss.toPrecision(4)} on the first batch)`,
    );
  }
  const vars: Record<string, tf.Variable> = {};
  for (const name of kind.trainable(kcfg))
    vars[name] = tf.variable(tf.tensor(host[name]!.data, host[name]!.shape), true, `${kind.saeType}.${name}.${uid++}`);
  const adam = new Adam(vars, { beta1: cfg.betas[0], beta2: cfg.betas[1], eps: cfg.eps });
  log(
    `${kind.label}: ${kcfg.d_sae} features × ${kind.featureAxes(kcfg)} axis(es), ${totalSteps} steps of ${tokensPerStep} tokens`,
  );
  return {
    cfg,
    opts,
    emit,
    log,
    kind,
    kcfg,
    data,
    source,
    pending,
    vars,
    buffers,
    adam,
    totalSteps,
    tokensPerStep,
    progress: { step: 0, tokens: 0, windowStart: performance.now(), windowTokens: 0 },
    t0,
  };
}

let uid = 0;

/** Steps until the schedule ends, the data runs out or the run is cancelled; returns whether it was cancelled. */
async function runKindSteps(run: KindRun): Promise<boolean> {
  const { progress, totalSteps } = run;
  while (progress.step < totalSteps) {
    await new Promise((resolve) => setImmediate(resolve));
    if (run.opts.signal?.aborted) return true;
    const batch = run.pending ?? (await run.source.next());
    run.pending = null;
    if (!batch) {
      run.log(`the data ran out after ${progress.tokens} tokens (${progress.step} of ${totalSteps} steps)`);
      return false;
    }
    await kindStep(run, batch);
  }
  return false;
}

/** One optimiser step: lm-saes's generic loss through the kind's tensor forward, Adam, and metrics when due. */
async function kindStep(run: KindRun, batch: KindBatch): Promise<void> {
  const { cfg, kind, kcfg, vars, buffers, progress, totalSteps } = run;
  const step = progress.step;
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
  const usesK = kcfg.act_fn !== 'relu' && kcfg.act_fn !== 'jumprelu';
  const k = usesK
    ? annealedK(kcfg.top_k, cfg.initial_k, resolveSteps(cfg.k_warmup_steps, totalSteps), step)
    : undefined;
  const l1 = warmedCoefficient(cfg.l1_coefficient, resolveSteps(cfg.l1_coefficient_warmup_steps, totalSteps), step);
  const N = batch.rows;
  const d = kcfg.d_model;
  const S = run.data.windows.seq;
  const logNow = (step + 1) % cfg.log_frequency === 0 || step + 1 === totalSteps;
  const x = tf.tensor3d(batch.x, [N, kind.hooksIn(kcfg).length, d]);
  const y = tf.tensor3d(batch.y, [N, kind.hooksOut(kcfg).length, d]);
  const weights = batch.lossRows ? tf.tensor1d(batch.lossRows) : null;
  const kept = batch.lossRows ? batch.lossRows.reduce((a, b) => a + b, 0) : N;
  const logged: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const params = { ...buffers, ...vars };
    const fwd = kind.tf.forward(kcfg, params, x, { k, seqLen: kind.needsSequences ? S : 1, training: true });
    const perRow = tf.mean(tf.sum(tf.square(tf.sub(fwd.recon, y)), 2), 1); // [N]
    const l_rec = (weights ? tf.div(tf.sum(tf.mul(perRow, weights)), kept) : tf.mean(perRow)) as tf.Scalar;
    const fRows = (weights ? tf.mul(fwd.featureActs, tf.reshape(weights, [N, 1, 1])) : fwd.featureActs) as tf.Tensor3D;
    const penalty =
      cfg.sparsity_loss_type && l1 > 0
        ? (tf.mul(sparsityPenalty(cfg, fRows, kind.tf.gateNorms(kcfg, params)), (l1 * N) / kept) as tf.Scalar)
        : tf.scalar(0);
    if (logNow) logged.push(tf.keep(l_rec), tf.keep(penalty), tf.keep(fwd.featureActs), tf.keep(fwd.recon));
    return tf.add(l_rec, penalty) as tf.Scalar;
  }, Object.values(vars));
  run.adam.apply(Object.fromEntries(Object.entries(vars).map(([n, v]) => [n, grads[v.name]!])), lr);
  tf.dispose(Object.values(grads));
  progress.step += 1;
  progress.tokens += kept;
  progress.windowTokens += kept;
  if (logNow) await emitKindMetrics(run, batch, value, logged, { lr, k });
  tf.dispose([value, x, y, ...logged, ...(weights ? [weights] : [])]);
}

async function emitKindMetrics(
  run: KindRun,
  batch: KindBatch,
  value: tf.Scalar,
  logged: tf.Tensor[],
  at: { lr: number; k: number | undefined },
): Promise<void> {
  const { kind, kcfg, progress } = run;
  const [loss, lRec, lS, fData, rData] = await Promise.all([value.data(), ...logged.map((t) => t.data())]);
  const N = batch.rows;
  const nOut = kind.hooksOut(kcfg).length;
  const m = kind.metrics(
    kcfg,
    { ...hostBuffers(kind, kcfg), ...(await toHost(run.vars)) },
    { featureActs: Float64Array.from(fData!), hiddenPre: new Float64Array(0), recon: Float64Array.from(rData!) },
    Float64Array.from(batch.y),
    N,
  );
  const ev = batchEv(rData!, batch.y, N, nOut, kcfg.d_model);
  const l0 = typeof m['metrics/l0'] === 'number' ? m['metrics/l0'] : countActive(fData!) / N / kind.featureAxes(kcfg);
  const now = performance.now();
  run.emit({
    type: 'metrics',
    metrics: {
      step: progress.step,
      tokens: progress.tokens,
      lr: at.lr,
      k: at.k ?? null,
      loss: loss![0]!,
      l_rec: lRec![0]!,
      l_s: lS![0]!,
      l_p: 0,
      l_aux: 0,
      l0,
      explained_variance: ev,
      dead: 0,
      dense: 0,
      tokens_per_second: Math.round(progress.windowTokens / ((now - progress.windowStart) / 1000)),
    },
  });
  progress.windowStart = now;
  progress.windowTokens = 0;
}

/** Saves the dictionary (dataset-wise, with its norm scalars), evaluates it when asked, and records the run. */
async function finishKindRun(run: KindRun, cancelled: boolean): Promise<KindTrainResult> {
  const { cfg, opts, kind, kcfg, data, progress } = run;
  run.source.close();
  const seconds = (performance.now() - run.t0) / 1000;
  let dictionaryDir: string | null = null;
  let evaluation: KindEvalResult | null = null;
  const params: HostParams = { ...hostBuffers(kind, kcfg), ...(await toHost(run.vars)) };
  if (!cancelled) {
    dictionaryDir = dictionaryDirOf(opts.home, cfg.name);
    saveKindDictionary(dictionaryDir, kind, kcfg, params, {
      lmConfig: {
        model_name: cfg.model,
        model_from_pretrained_path: data.location.dir,
        d_model: data.model.cfg.dModel,
        dataset: cfg.dataset,
        context_size: data.windows.seq,
        backend: kcfg.activation_basis === 'transformer-lens' ? 'transformer_lens' : 'huggingface',
      },
    });
    if (cfg.eval_windows > 0) evaluation = await evaluateAfterTraining(run, params);
    const runDir = runDirOf(opts.home, opts.runId);
    mkdirSync(runDir, { recursive: true });
    writeFileAtomic(join(runDir, 'train-config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
    writeFileAtomic(
      join(runDir, 'result.json'),
      `${JSON.stringify({ dictionary: dictionaryDir, steps: progress.step, tokens: progress.tokens, seconds, evaluation }, null, 2)}\n`,
    );
  } else run.log(`stopped at step ${progress.step}; a ${kind.saeType} run is not checkpointed, nothing was saved`);
  run.adam.dispose();
  tf.dispose([...Object.values(run.vars), ...Object.values(run.buffers)]);
  const { step, tokens } = progress;
  run.emit({ type: 'done', dictionaryDir: dictionaryDir ?? '', steps: step, tokens, seconds, cancelled });
  return { dictionaryDir, steps: step, tokens, seconds, cancelled, config: kcfg, evaluation };
}

/** The held-out evaluation: the validation split where the dataset has one, else its last windows. */
async function evaluateAfterTraining(run: KindRun, params: HostParams): Promise<KindEvalResult> {
  const { cfg, opts, kind, kcfg } = run;
  const held = await loadModelAndWindows(cfg.model, cfg.dataset, {
    home: opts.home,
    split: resolveSplit(cfg.dataset, cfg.dataset_split) === 'train' ? 'validation' : 'all',
    contextSize: cfg.context_size,
    basis: kcfg.activation_basis,
  });
  try {
    const n = Math.min(cfg.eval_windows, held.windows.batch);
    const windows = sliceRows(held.windows, held.windows.batch - n, n);
    const evaluation = await evaluateKind(held.model, kind, kcfg, params, windows);
    run.log(
      `evaluation on ${n} held-out windows: EV ${evaluation.explained_variance.toFixed(4)}, L0 ${evaluation.l0.toFixed(2)}, CE loss recovered ${evaluation.ce_loss_recovered.toFixed(4)}`,
    );
    return evaluation;
  } finally {
    held.model.dispose();
  }
}

/** The kind's buffers as host tensors (the reference and the metrics read them beside the parameters). */
function hostBuffers(kind: DictionaryKind, cfg: KindConfigBase): HostParams {
  return Object.fromEntries(
    Object.entries(kind.buffers(cfg)).map(([n, b]) => [
      n,
      { data: Float32Array.from(b.data as ArrayLike<number>, Number), shape: [...b.shape] },
    ]),
  );
}

function countActive(f: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < f.length; i++) if (f[i]! > 0) n++;
  return n;
}

/** Mean over outputs of 1 − Σ‖ŷ−y‖² / Σ‖y−ȳ‖² on one batch. */
function batchEv(yHat: ArrayLike<number>, y: ArrayLike<number>, N: number, nOut: number, d: number): number {
  let total = 0;
  for (let t = 0; t < nOut; t++) {
    const mean = new Float64Array(d);
    for (let r = 0; r < N; r++) for (let c = 0; c < d; c++) mean[c]! += y[(r * nOut + t) * d + c]! / N;
    let res = 0;
    let vari = 0;
    for (let r = 0; r < N; r++)
      for (let c = 0; c < d; c++) {
        const i = (r * nOut + t) * d + c;
        res += (yHat[i]! - y[i]!) ** 2;
        vari += (y[i]! - mean[c]!) ** 2;
      }
    total += 1 - res / vari;
  }
  return total / nOut;
}

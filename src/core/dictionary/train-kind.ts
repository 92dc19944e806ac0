// Training of the dictionary kinds other than `sae` (which has its own trainer with sparse kernels in src/core/sae):
// the same lm-saes-shaped run config, one LM pass per batch feeding every hook the kind reads and writes, lm-saes's
// dataset-wise normalisation per hook, the kind's tensor forward with tfjs autodiff (train-kind-step.ts), Adam with
// the lr, L1 and K schedules of the SAE trainer, and an evaluation on held-out windows when eval_windows > 0.
//
// Runs, checkpoints and resume are the SAE trainer's: the run folder is checked (openRunDir) and made only once the
// config is valid (createRunDir, with train-config.json); a checkpoint (kind-checkpoint.ts) is written atomically
// every checkpoint_every_tokens and when the run is stopped; `--resume` continues from the newest intact one with
// the same batches (kind-batches.ts: the activation stream's state, or the sequence order's pass and offset) and
// ends bit-identical to an uninterrupted run. The data-dependent initialisation happens only in a new run, on the
// batch it then trains on first. A finished run (result.json) is not resumed.
//
// Saving. The dictionary is saved dataset-wise with its norm scalars (lm-saes applies them on load), so no fold
// approximation enters a saved file; `kind.fold` is there for exports that need raw-space weights.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from '../../protocol/run-config';
import { estimateAverageNorm } from '../activations';
import { parseConfig } from '../config/validate';
import { InputError } from '../errors';
import { dictionaryDir as dictionaryDirOf } from '../home';
import { readModelConfig, resolveModel } from '../lm/load-model';
import { hookStage } from '../lm/hooks';
import { sliceRows } from '../lm/token-batch';
import { toHost, type HostParams } from '../sae/host-tensor';
import { Adam } from '../sae/optim/adam';
import { loadModelAndWindows, resolveSplit, type ModelAndWindows } from '../sae/train-data';
import { createRunDir, openRunDir } from '../sae/train-setup';
import type { TrainEvent, TrainJobOptions } from '../sae/train-run';
import { initBackend } from '../tensor/backend';
import { writeFileAtomic } from '../util/atomic-file';
import { evaluateKind, type KindEvalResult } from './evaluate-kind';
import { initOutputBiases, searchInitScale } from './init-data';
import { initLorsaActiveSubspace, initLorsaFromModel } from './kinds/lorsa';
import type { LorsaConfig } from '../../protocol/kind-configs/lorsa';
import { hookLayer } from '../../protocol/hook-names';
import type { DictionaryKind, KindConfigBase } from './kind';
import { kindHooks, openKindSource, type KindBatch } from './kind-batches';
import { kindResume, saveKindCheckpoint, type KindResume } from './kind-checkpoint';
import { saveKindDictionary } from './lm-saes-files';
import { kindOf } from './registry';
import { hostBuffers, kindStep, type KindRun } from './train-kind-step';

export interface KindTrainResult {
  dictionaryDir: string | null;
  steps: number;
  tokens: number;
  seconds: number;
  cancelled: boolean;
  config: KindConfigBase;
  evaluation: KindEvalResult | null;
}

/** Checks what the run config alone decides (kind, fields, d_model, hooks) before any weights or data are read. */
function checkKindConfig(cfg: TrainConfig): { kind: DictionaryKind; early: KindConfigBase } {
  const kind = kindOf(String(cfg.sae.sae_type), 'sae.sae_type');
  const modelCfg = readModelConfig(resolveModel(cfg.model).dir);
  if (cfg.sae.d_model !== undefined && cfg.sae.d_model !== modelCfg.dModel)
    throw new InputError(`sae.d_model is ${cfg.sae.d_model}, but ${cfg.model} has d_model ${modelCfg.dModel}`);
  const early = parseConfig(kind.schema, { model_name: cfg.model, ...cfg.sae, d_model: modelCfg.dModel }, 'sae');
  for (const h of kindHooks(kind, early)) {
    try {
      hookStage(modelCfg, h);
    } catch (err) {
      throw new InputError(`sae: ${(err as Error).message}`);
    }
  }
  kind.fitsModel?.(early, modelCfg);
  if (kind.needsSequences && cfg.activation_cache)
    throw new InputError(
      `activation_cache: a ${kind.label} trains on whole windows in order, which a shuffled token cache does not keep; leave it null`,
    );
  return { kind, early };
}

/** Trains (or resumes) a dictionary of a non-`sae` kind from a run config; saves it under dictionaries/<name>. */
export async function trainKindDictionary(cfg: TrainConfig, opts: TrainJobOptions): Promise<KindTrainResult> {
  const emit = opts.onEvent ?? (() => {});
  const log = (message: string) => emit({ type: 'log', message });
  const { runDir, checkpoint, notes } = openRunDir(cfg, opts);
  for (const note of notes) log(note); // checkpoints cut short, a restart
  const { kind, early } = checkKindConfig(cfg);
  const resume = checkpoint ? kindResume(runDir, kind, checkpoint) : null;
  createRunDir(runDir, cfg, checkpoint); // only now: a config refused above leaves no folder behind
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
    const run = await setUpKindRun({ cfg, opts, emit, log, runDir, kind, data, resume });
    emit({
      type: 'started',
      totalSteps: run.totalSteps,
      totalTokens: run.totalSteps * run.tokensPerStep,
      resumedFromStep: resume?.state.step ?? 0,
      backend: backend.name,
    });
    const cancelled = await runKindSteps(run);
    return await finishKindRun(run, cancelled);
  } finally {
    data.model.dispose();
  }
}

interface KindSetup {
  cfg: TrainConfig;
  opts: TrainJobOptions;
  emit: (e: TrainEvent) => void;
  log: (message: string) => void;
  runDir: string;
  kind: DictionaryKind;
  data: ModelAndWindows;
  resume: KindResume | null;
}

/** The kind's config with its dataset-wise norms: a resumed run's from its checkpoint, a new run's estimated. */
async function kindConfigWithNorms(s: KindSetup): Promise<KindConfigBase> {
  const { cfg, kind, data, resume } = s;
  if (resume) return resume.kcfg;
  const { model, windows } = data;
  const draft = { model_name: cfg.model, ...cfg.sae, d_model: model.cfg.dModel };
  const base = parseConfig(kind.schema, { ...draft, dataset_average_activation_norm: null }, 'sae');
  const hooks = kindHooks(kind, base);
  const known = new Set(model.hookNames);
  for (const h of hooks) if (!known.has(h)) throw new InputError(`sae: hook '${h}' is not a hook of ${cfg.model}`);
  if (base.norm_activation !== 'dataset-wise') return base;
  const avg = await estimateAverageNorm({
    model,
    windows,
    hookPoints: hooks,
    nTokens: cfg.norm_estimation_tokens,
    modelBatchSize: cfg.model_batch_size,
  });
  s.log(
    `dataset-wise norms over ${avg.tokens} tokens: ${hooks.map((h) => `${h} ${avg.norms[h]!.toFixed(3)}`).join(', ')}`,
  );
  return parseConfig(kind.schema, { ...draft, dataset_average_activation_norm: avg.norms }, 'sae');
}

/**
 * lm-saes's Lorsa initialisations from the model's own attention layer (the one the Lorsa reads): W_Q / W_K copied
 * from its heads (initialize_lorsa_with_mhsa) and W_V / W_O from each head's active subspace on the first batch
 * (initialize_W_D_with_active_subspace).
 */
function initLorsaFromAttention(s: KindSetup, cfg: LorsaConfig, host: HostParams, first: KindBatch): HostParams {
  const init = s.cfg.initializer;
  if (!init.initialize_lorsa_with_mhsa && !init.initialize_W_D_with_active_subspace) return host;
  const layer = hookLayer(cfg.hook_point_in);
  if (layer === null) throw new InputError(`sae.hook_point_in '${cfg.hook_point_in}' is not a layer's hook`);
  const a = s.data.model.weights.blocks[layer]!.attn;
  const h = (t: tf.Tensor | null) => (t ? { data: t.dataSync() as Float32Array, shape: [...t.shape] } : null);
  const attn = {
    W_Q: h(a.W_Q)!,
    W_K: h(a.W_K)!,
    W_V: h(a.W_V)!,
    W_O: h(a.W_O)!,
    b_Q: h(a.b_Q),
    b_K: h(a.b_K),
    b_V: h(a.b_V),
    b_O: h(a.b_O),
    qNorm: a.qNorm ? { w: h(a.qNorm.w)!, b: h(a.qNorm.b) } : null,
    kNorm: a.kNorm ? { w: h(a.kNorm.w)!, b: h(a.kNorm.b) } : null,
  } as unknown as Parameters<typeof initLorsaFromModel>[2];
  let out = host;
  if (init.initialize_lorsa_with_mhsa) {
    out = initLorsaFromModel(cfg, s.data.model.cfg, attn, out);
    s.log(`Lorsa W_Q, W_K from the ${s.data.model.cfg.nHeads} heads of layer ${layer}`);
  }
  if (init.initialize_W_D_with_active_subspace) {
    out = initLorsaActiveSubspace(cfg, s.data.model.cfg, attn, out, Float64Array.from(first.x), first.rows);
    s.log(`Lorsa W_V, W_O from the active subspaces of layer ${layer}'s heads`);
  }
  return out;
}

/** A new run's parameters: lm-saes's init, then the data-dependent steps on its first batch. */
async function initialParams(
  s: KindSetup,
  kcfg: KindConfigBase,
  buffers: Record<string, tf.Tensor>,
  first: KindBatch,
): Promise<HostParams> {
  const { cfg, kind } = s;
  let host = kind.init(kcfg, cfg.seed);
  const initBatch = { x: first.x, y: first.y, rows: first.rows, seqLen: kind.needsSequences ? s.data.windows.seq : 1 };
  if (cfg.initializer.bias_init_method !== 'all_zero') initOutputBiases(kind, kcfg, host, initBatch);
  // The scale search pays off where the encoder starts tied to the decoder (autoencoders: a random feature then
  // reconstructs its own direction); with independent random encoder and decoder (transcoders, CLT, Lorsa, MoLT)
  // every random feature is noise and the search would shrink the weights towards 0, so lm-saes's init is kept.
  if (kind.saeType === 'lorsa') host = initLorsaFromAttention(s, kcfg as LorsaConfig, host, first);
  const hooksIn = kind.hooksIn(kcfg);
  if (kind.hooksOut(kcfg).every((h, i) => h === hooksIn[i])) {
    const searched = await searchInitScale(kind, kcfg, host, buffers, initBatch);
    host = searched.params;
    s.log(
      `initial weight scale ${searched.scale.toPrecision(3)} (reconstruction loss ${searched.loss.toPrecision(4)} on the first batch)`,
    );
  }
  return host;
}

/** The batch source, the parameters and Adam: new (initialised from the first batch), or the checkpoint's. */
async function setUpKindRun(s: KindSetup): Promise<KindRun> {
  const { cfg, kind, data, resume } = s;
  const t0 = performance.now();
  const kcfg = await kindConfigWithNorms(s);
  const S = data.windows.seq;
  const perBatch = Math.max(1, Math.floor(cfg.batch_size / S));
  const tokensPerStep = kind.needsSequences ? perBatch * (S - 1) : cfg.batch_size;
  const totalSteps = Math.max(1, Math.floor(cfg.total_training_tokens / tokensPerStep));
  const source = await openKindSource({ ...data, cfg, kind, kcfg, state: resume?.state.stream });
  const lastState = source.state();
  const buffers: Record<string, tf.Tensor> = {};
  for (const [n, b] of Object.entries(kind.buffers(kcfg)))
    buffers[n] = tf.tensor(Float32Array.from(b.data as ArrayLike<number>, Number), [...b.shape]);
  let pending: KindBatch | null = null;
  let host: HostParams;
  if (resume) host = resume.tensors;
  else {
    pending = await source.next();
    if (!pending) throw new InputError(`${cfg.dataset}: no tokens to train on`);
    host = await initialParams(s, kcfg, buffers, pending);
  }
  const vars: Record<string, tf.Variable> = {};
  for (const name of kind.trainable(kcfg)) {
    const init = tf.tensor(host[name]!.data, host[name]!.shape);
    vars[name] = tf.variable(init, true, `${kind.saeType}.${name}.${uid++}`);
    init.dispose();
  }
  const adam = new Adam(vars, { beta1: cfg.betas[0], beta2: cfg.betas[1], eps: cfg.eps });
  if (resume) {
    const moments: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(resume.tensors)) if (k.startsWith('adam.')) moments[k] = t.data;
    adam.load(moments, resume.state.adam_step);
  }
  s.log(
    `${kind.label}: ${kcfg.d_sae} features × ${kind.featureAxes(kcfg)} axis(es), ${totalSteps} steps of ${tokensPerStep} tokens`,
  );
  const tokens = resume?.state.tokens ?? 0;
  const every = cfg.checkpoint_every_tokens;
  return {
    ...s,
    kcfg,
    source,
    pending,
    vars,
    buffers,
    adam,
    totalSteps,
    tokensPerStep,
    progress: {
      step: resume?.state.step ?? 0,
      tokens,
      stepsThisProcess: 0,
      lastState,
      nextCheckpointTokens: every ? (Math.floor(tokens / every) + 1) * every : Infinity,
      windowStart: performance.now(),
      windowTokens: 0,
    },
    priorSeconds: resume?.state.seconds ?? 0,
    t0,
  };
}

let uid = 0;

/**
 * Steps until the schedule ends, the data runs out, or the run is stopped (cancelled, or its steps for this process
 * done); checkpoints every checkpoint_every_tokens on the way. Returns whether it was stopped.
 */
async function runKindSteps(run: KindRun): Promise<boolean> {
  const { progress, totalSteps, opts } = run;
  while (progress.step < totalSteps) {
    // Yield to the event loop once per step: signals (Ctrl-C), IPC messages and timers are handled between steps.
    await new Promise((resolve) => setImmediate(resolve));
    if (
      opts.signal?.aborted ||
      (opts.maxStepsThisProcess !== undefined && progress.stepsThisProcess >= opts.maxStepsThisProcess)
    )
      return true;
    const batch = run.pending ?? (await run.source.next());
    run.pending = null;
    if (!batch) {
      run.log(`the data ran out after ${progress.tokens} tokens (${progress.step} of ${totalSteps} steps)`);
      return false;
    }
    await kindStep(run, batch);
    progress.lastState = run.source.state();
    const every = run.cfg.checkpoint_every_tokens;
    if (every && progress.tokens >= progress.nextCheckpointTokens && progress.step < totalSteps) {
      await saveKindCheckpoint(run);
      while (progress.nextCheckpointTokens <= progress.tokens) progress.nextCheckpointTokens += every;
    }
  }
  return false;
}

/** A stopped run checkpoints to resume; a finished one saves its dictionary, evaluates it when asked, records it. */
async function finishKindRun(run: KindRun, cancelled: boolean): Promise<KindTrainResult> {
  const { cfg, opts, kind, kcfg, data, progress } = run;
  run.source.close();
  let dictionaryDir: string | null = null;
  let evaluation: KindEvalResult | null = null;
  if (cancelled) {
    await saveKindCheckpoint(run);
    run.log(`stopped at step ${progress.step}; resume with the same run id (--resume ${opts.runId}) to continue`);
  } else {
    const params: HostParams = { ...hostBuffers(kind, kcfg), ...(await toHost(run.vars)) };
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
  }
  const seconds = run.priorSeconds + (performance.now() - run.t0) / 1000;
  if (dictionaryDir !== null)
    writeFileAtomic(
      join(run.runDir, 'result.json'),
      `${JSON.stringify({ dictionary: dictionaryDir, steps: progress.step, tokens: progress.tokens, seconds, evaluation }, null, 2)}\n`,
    );
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

// The training job's setup: the run folder (new, or resumed from its last complete checkpoint), the dictionary's
// config checked against the model, the dataset statistics (normalisation scale, b_D), the activation stream, and
// the parameters and optimiser — new or restored.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cachedActivationStream,
  createModelActivationStream,
  estimateAverageNorm,
  type ActivationBatch,
  type AverageNorm,
} from '../activations';
import { SaeConfigSchema, type SaeConfig } from '../../protocol/dictionary-config';
import type { TrainConfig } from '../../protocol/run-config';
import { parseConfig } from '../config/validate';
import { runDir as runDirOf } from '../home';
import { InputError } from '../errors';
import { sweepDeadTempFiles, writeFileAtomic } from '../util/atomic-file';
import { entryOf } from '../util/lookup';
import { listCheckpoints, readLatestCheckpoint } from './checkpoint';
import type { HostParams } from './host-tensor';
import { initializeSae } from './init/initialize';
import { Adam } from './optim/adam';
import { resolveSteps } from './optim/schedules';
import { datasetScale } from './sparse-dictionary';
import { Bookkeeping } from './train-bookkeeping';
import { dictionaryHooks, type ModelAndWindows } from './train-data';
import { readModelConfig, resolveModel } from '../lm/load-model';
import { openDataset } from '../data/sources/open-dataset';
import type {
  Checkpoint,
  CheckpointState,
  Emit,
  Hooks,
  Log,
  Progress,
  Run,
  Schedule,
  TrainJobOptions,
} from './train-run';
import { Sae } from './variants/sae';
import { sparseTopKUnavailable } from './sparse/sparse-topk';
import type { RowSpool } from '../activations/row-spool';
import type { TokenMaskOptions } from '../data/masks';

/**
 * What would otherwise fail only once the run's folder exists: the dataset opens, and the windows fit the model's
 * context. Checked for a new run, after the dictionary's config and before createRunDir.
 */
export function checkDataBeforeTheRun(cfg: TrainConfig): void {
  if (cfg.activation_cache === null) openDataset(cfg.dataset);
  if (cfg.context_size === null) return;
  const { nCtx } = readModelConfig(resolveModel(cfg.model).dir);
  if (cfg.context_size > nCtx)
    throw new InputError(`field 'context_size' is ${cfg.context_size}, beyond the model's context of ${nCtx}`);
}

/**
 * The run folder, checked but not yet made: a new one's id must be free; to resume, its last complete checkpoint
 * (with the same config). Nothing is written until the dictionary's config is valid too (createRunDir).
 */
export function openRunDir(
  cfg: TrainConfig,
  opts: TrainJobOptions,
): { runDir: string; checkpoint: Checkpoint | null; notes: string[] } {
  const runDir = runDirOf(opts.home, opts.runId);
  if (!opts.resume) {
    if (existsSync(join(runDir, 'train-config.json'))) {
      throw new InputError(`${runDir}: a run with this id exists; resume it (--resume) or choose another id`);
    }
    return { runDir, checkpoint: null, notes: [] };
  }
  const result = join(runDir, 'result.json');
  if (existsSync(result)) {
    // A finished run's dictionary may have been analysed, exported or renamed since: resuming would overwrite it.
    const { dictionary } = JSON.parse(readFileSync(result, 'utf8')) as { dictionary?: string };
    throw new InputError(
      `${runDir}: the run has finished (its dictionary: ${dictionary ?? 'unknown'}); nothing to resume`,
    );
  }
  // The newest checkpoint that reads back whole: one cut short by a crash falls back to the one before it.
  const found = readLatestCheckpoint<CheckpointState>(runDir);
  if (!found) return { runDir, checkpoint: null, notes: restartableRun(runDir, cfg) };
  if (JSON.stringify(found.checkpoint.state.train_config) !== JSON.stringify(cfg)) {
    throw new InputError(
      `${found.info.dir}: the run's config differs from the one given; resume with the run's own train-config.json`,
    );
  }
  const notes = found.skipped.map((why) => `checkpoint not readable, resuming from an earlier one: ${why}`);
  return { runDir, checkpoint: found.checkpoint, notes };
}

/**
 * A run killed before its first complete checkpoint kept nothing of its training: it starts again from its beginning
 * (the same config and seed make the same run), where it used to be stuck — neither resumable nor startable under
 * its id. Its saved config must be the one given; the returned notes say what happened, for the run's log.
 */
function restartableRun(runDir: string, cfg: TrainConfig): string[] {
  const file = join(runDir, 'train-config.json');
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new InputError(`${runDir}: no complete checkpoint to resume from, and no readable train-config.json`);
  }
  if (JSON.stringify(saved) !== JSON.stringify(cfg))
    throw new InputError(`${file}: the run's config differs from the one given; resume with the run's own config`);
  return [
    ...listCheckpoints(runDir).map((c) => `checkpoint not readable: ${c.dir}`),
    'no complete checkpoint (the run stopped before its first one): it starts again from its beginning',
  ];
}

/** Makes a new run's folder with its train-config.json (what --resume reads); a resumed run's folder exists. */
export function createRunDir(runDir: string, cfg: TrainConfig, checkpoint: Checkpoint | null): void {
  mkdirSync(runDir, { recursive: true });
  sweepDeadTempFiles(runDir); // a killed writer's train-config.json or result.json on its way in
  if (!checkpoint) writeFileAtomic(join(runDir, 'train-config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
}

/** The hook points (checked against the model's config.json) and the dictionary's config: the checkpoint's, or parsed. */
export function resolveDictionary(
  cfg: TrainConfig,
  checkpoint: Checkpoint | null,
): { hooks: Hooks; saeCfg: SaeConfig } {
  const modelDir = resolveModel(cfg.model).dir;
  const modelCfg = readModelConfig(modelDir);
  const hookIn = cfg.sae.hook_point_in;
  if (cfg.sae.sae_type !== 'sae' || hookIn === undefined)
    throw new Error(`the sae trainer got a ${cfg.sae.sae_type} config (trainKindDictionary trains the other kinds)`);
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
  /** Where the statistics pass spools its rows for the training stream (openTrainingSpool), or null. */
  spool: RowSpool | null;
}

/** The tokens a run trains on: all but position 0 of each window and the config's ignore_token_ids. */
export function trainingMask(cfg: TrainConfig): TokenMaskOptions {
  return { bosId: null, ignoreTokenIds: cfg.ignore_token_ids };
}

/** Dataset statistics, the activation stream, and the dictionary and optimiser: new, or restored from the checkpoint. */
export async function setUpRun(input: SetupInput): Promise<Run> {
  const { cfg, log, checkpoint, hooks, data } = input;
  const { model, windows } = data;
  const mask = trainingMask(cfg);
  const { spool } = input;
  const estimate = (nTokens: number) =>
    estimateAverageNorm({
      ...{ model, windows, hookPoints: hooks.all, mask, nTokens, modelBatchSize: cfg.model_batch_size },
      // Only the first pass spools (a second, for b_D over other tokens, starts again at window 0).
      ...(spool && spool.coveredWindows === 0 ? { spool } : {}),
    });
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
        ...(spool ? { spool } : {}),
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
    spool,
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
export function hookActs(batch: ActivationBatch, hook: string): Float32Array {
  return entryOf(batch.acts, hook, 'activation batch');
}

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

// A run's training config as lm-saes's Python runner takes it: the settings of src/lm_saes/runners/train.py
// (TrainSAESettings, TrainCrosscoderSettings, TrainCLTSettings, TrainLorsaSettings, TrainMOLTSettings) with their
// nested TrainerConfig (trainer.py), InitializerConfig (initializer.py), ActivationFactoryConfig and its sources
// (activation/factory.py, activation/processors/activation.py: BufferShuffleConfig), LanguageModelConfig
// (backend/language_model.py), DatasetConfig (config.py), at OpenMOSS/Language-Model-SAEs abb5311 (the last commit
// before the package became `llamascopium`). Only fields those classes declare are written; what SAE Studio's run
// config holds beyond them is returned as `notCarried`, to be said where the settings are written.
import type { TrainConfig } from '../../protocol/run-config';
import { InputError } from '../errors';
import type { DictionaryKind, KindConfigBase } from '../dictionary/kind';
import { kindHooks } from '../dictionary/lm-saes-files';
import { lmSaesBackend } from '../lm/activation-basis';

/** Per kind: lm-saes's settings class, its runner function and its dictionary config class. */
export const LM_SAES_RUNNERS = {
  sae: { settings: 'TrainSAESettings', runner: 'train_sae', config: 'SAEConfig' },
  crosscoder: { settings: 'TrainCrosscoderSettings', runner: 'train_crosscoder', config: 'CrosscoderConfig' },
  clt: { settings: 'TrainCLTSettings', runner: 'train_clt', config: 'CLTConfig' },
  lorsa: { settings: 'TrainLorsaSettings', runner: 'train_lorsa', config: 'LorsaConfig' },
  molt: { settings: 'TrainMOLTSettings', runner: 'train_molt', config: 'MOLTConfig' },
} as const;

/** SparseDictionaryConfig's fields (models/sparse_dictionary.py; device and dtype from BaseModelConfig, config.py). */
const BASE_SAE_FIELDS = [
  'device',
  'dtype',
  'sae_type',
  'd_model',
  'expansion_factor',
  'use_decoder_bias',
  'act_fn',
  'norm_activation',
  'sparsity_include_decoder_norm',
  'top_k',
  'use_triton_kernel',
  'sparsity_threshold_for_triton_spmm_kernel',
  'jumprelu_threshold_window',
];
/** Each kind's own config fields (models/sae.py, crosscoder.py, clt.py, lorsa.py, molt.py). */
const KIND_SAE_FIELDS: Record<keyof typeof LM_SAES_RUNNERS, string[]> = {
  sae: ['hook_point_in', 'hook_point_out', 'use_glu_encoder'],
  crosscoder: ['hook_points'],
  clt: [
    'init_cross_layer_decoder_all_zero',
    'hook_points_in',
    'hook_points_out',
    'decode_with_csr',
    'sparsity_threshold_for_csr',
  ],
  lorsa: [
    'hook_point_in',
    'hook_point_out',
    'n_qk_heads',
    'd_qk_head',
    'positional_embedding_type',
    'rotary_dim',
    'rotary_base',
    'rotary_adjacent_pairs',
    'rotary_scale',
    'use_NTK_by_parts_rope',
    'NTK_by_parts_factor',
    'NTK_by_parts_low_freq_factor',
    'NTK_by_parts_high_freq_factor',
    'old_context_len',
    'n_ctx',
    'attn_scale',
    'use_post_qk_ln',
    'normalization_type',
    'eps',
  ],
  molt: ['hook_point_in', 'hook_point_out', 'rank_counts'],
};

export interface RunnerInputs {
  run: TrainConfig;
  kind: DictionaryKind;
  /** The run's dictionary config, parsed with the model's d_model. */
  dict: KindConfigBase;
  /** The model's Hugging Face name (lm-saes loads it by name), and its local folder when it has no Hub id. */
  modelName: string;
  modelPath: string | null;
  /** The dataset as lm-saes's load_dataset takes it (a Hub name or a path). */
  datasetPath: string;
  /** The window length the run used, when known. */
  contextSize: number | null;
  device: string;
}

export interface RunnerSettings {
  saeType: keyof typeof LM_SAES_RUNNERS;
  settings: Record<string, unknown>;
  /** SAE Studio run fields that no lm-saes setting holds, with their values. */
  notCarried: Record<string, unknown>;
}

function saeSettings(inp: RunnerInputs, saeType: keyof typeof LM_SAES_RUNNERS): Record<string, unknown> {
  const json = { ...inp.kind.configJson(inp.dict), device: inp.device, dtype: 'torch.float32' };
  const out: Record<string, unknown> = {};
  for (const f of [...BASE_SAE_FIELDS, ...KIND_SAE_FIELDS[saeType]]) {
    if (f in json) out[f] = (json as Record<string, unknown>)[f];
  }
  return out;
}

function trainerSettings(r: TrainConfig, name: string): Record<string, unknown> {
  if (!Number.isInteger(r.p))
    throw new InputError(`run config field 'p' is ${r.p}: lm-saes's TrainerConfig.p is an integer`);
  const every = r.checkpoint_every_tokens;
  return {
    l1_coefficient: r.l1_coefficient,
    l1_coefficient_warmup_steps: r.l1_coefficient_warmup_steps,
    lp_coefficient: r.lp_coefficient,
    auxk_coefficient: r.auxk_coefficient,
    amp_dtype: 'torch.float32',
    sparsity_loss_type: r.sparsity_loss_type,
    tanh_stretch_coefficient: r.tanh_stretch_coefficient,
    frequency_scale: r.frequency_scale,
    p: r.p,
    initial_k: r.initial_k,
    k_warmup_steps: r.k_warmup_steps,
    k_cold_booting_steps: 0,
    k_schedule_type: 'linear',
    k_exponential_factor: 3.0,
    k_aux: r.k_aux,
    dead_threshold: r.dead_threshold_tokens,
    skip_metrics_calculation: false,
    gradient_accumulation_steps: 1,
    lr: r.lr,
    betas: [...r.betas],
    optimizer_class: 'adam',
    optimizer_foreach: true,
    lr_scheduler_name: r.lr_scheduler_name,
    lr_end_ratio: r.lr_end_ratio,
    lr_warm_up_steps: r.lr_warm_up_steps,
    lr_cool_down_steps: r.lr_cool_down_steps,
    jumprelu_lr_factor: r.jumprelu_lr_factor,
    clip_grad_norm: r.clip_grad_norm,
    feature_sampling_window: 1000,
    total_training_tokens: r.total_training_tokens,
    log_frequency: r.log_frequency,
    eval_frequency: 1000,
    // SAE Studio checkpoints every N tokens; lm-saes spaces n_checkpoints linearly over the run.
    n_checkpoints: every === null ? 0 : Math.floor(r.total_training_tokens / every),
    check_point_save_mode: 'linear',
    from_pretrained_path: null,
    exp_result_path: `results/${name}`,
  };
}

function initializerSettings(r: TrainConfig, dict: KindConfigBase): Record<string, unknown> {
  const i = r.initializer;
  return {
    // lm-saes's 'geometric_median' sets b_D to the mean of the first batch (initializer.py, initialize_parameters),
    // which is SAE Studio's 'mean'.
    bias_init_method: i.bias_init_method === 'all_zero' ? 'all_zero' : 'geometric_median',
    decoder_uniform_bound: 1.0,
    encoder_uniform_bound: 1.0,
    init_encoder_with_decoder_transpose: i.init_encoder_with_decoder_transpose,
    init_encoder_with_decoder_transpose_factor: i.init_encoder_with_decoder_transpose_factor,
    // SAE Studio's jumprelu_threshold is the initial θ; lm-saes initialises log θ.
    init_log_jumprelu_threshold_value: dict.act_fn === 'jumprelu' ? Math.log(dict.jumprelu_threshold) : null,
    grid_search_init_norm: i.grid_search_init_norm,
    initialize_W_D_with_active_subspace: i.initialize_W_D_with_active_subspace,
    d_active_subspace: i.d_active_subspace,
    initialize_lorsa_with_mhsa: i.initialize_lorsa_with_mhsa,
    initialize_tc_with_mlp: null,
    model_layer: null,
    init_encoder_bias_with_mean_hidden_pre: false,
  };
}

function factorySettings(inp: RunnerInputs, hooks: string[], datasetName: string): Record<string, unknown> {
  const r = inp.run;
  const source = r.activation_cache
    ? {
        type: 'activations',
        name: 'activations',
        sample_weights: 1.0,
        path: r.activation_cache,
        device: 'cpu',
        dtype: null,
        num_workers: 4,
        prefetch: 8,
      }
    : { type: 'dataset', name: datasetName, sample_weights: 1.0, is_dataset_tokenized: false, prepend_bos: true };
  const context = inp.contextSize;
  return {
    sources: [source],
    target: 'activations-1d',
    hook_points: hooks,
    batch_size: r.batch_size,
    num_workers: 4,
    context_size: context,
    model_batch_size: r.model_batch_size,
    override_dtype: null,
    // SAE Studio shuffles across shuffle_windows windows; lm-saes's buffer counts tokens.
    buffer_size: context === null ? r.batch_size * 4 : r.shuffle_windows * context,
    buffer_shuffle: { perm_seed: r.seed, generator_device: inp.device },
    ignore_token_ids: r.ignore_token_ids.length > 0 ? [...r.ignore_token_ids] : null,
  };
}

/** The settings object for the kind's runner (see the file header), and what did not carry over. */
export function lmSaesRunnerSettings(inp: RunnerInputs): RunnerSettings {
  const saeType = inp.kind.saeType as keyof typeof LM_SAES_RUNNERS;
  if (!(saeType in LM_SAES_RUNNERS)) throw new InputError(`lm-saes has no runner for sae_type '${saeType}'`);
  const r = inp.run;
  const datasetName = 'dataset';
  const hooks = kindHooks(inp.kind, inp.dict);
  const factories =
    saeType === 'crosscoder'
      ? { activation_factories: hooks.map((h) => factorySettings(inp, [h], datasetName)) }
      : { activation_factory: factorySettings(inp, hooks, datasetName) };
  const settings: Record<string, unknown> = {
    sae: saeSettings(inp, saeType),
    sae_name: r.name,
    sae_series: r.series ?? 'default',
    initializer: initializerSettings(r, inp.dict),
    trainer: trainerSettings(r, r.name),
    ...factories,
    wandb: null,
    eval: false,
    data_parallel_size: 1,
    model_parallel_size: 1,
    mongo: null,
    model: {
      device: inp.device,
      dtype: 'torch.float32',
      model_name: inp.modelName,
      model_from_pretrained_path: inp.modelPath,
      cache_dir: null,
      local_files_only: false,
      max_length: inp.contextSize ?? 2048,
      backend: lmSaesBackend(inp.dict.activation_basis),
      prepend_bos: true,
      bos_token_id: null,
      eos_token_id: null,
      pad_token_id: null,
    },
    model_name: inp.modelName,
    datasets: r.activation_cache
      ? null
      : { [datasetName]: { dataset_name_or_path: inp.datasetPath, cache_dir: null, is_dataset_on_disk: false } },
    device_type: inp.device,
    fold_activation_scale: true,
  };
  const notCarried: Record<string, unknown> = {
    eps: r.eps,
    norm_estimation_tokens: r.norm_estimation_tokens,
    decoder_unit_norm: r.decoder_unit_norm,
    'initializer.bias_init_tokens': r.initializer.bias_init_tokens,
    'initializer.init_decoder_norm': r.initializer.init_decoder_norm,
    dataset_split: r.dataset_split,
    sparse_path: r.sparse_path,
    backend: r.backend,
    eval_windows: r.eval_windows,
    analyze_tokens: r.analyze_tokens,
  };
  // lm-saes's SAEConfig has no pre-encoder decoder bias (models/sae.py at abb5311): its SAE never subtracts b_D.
  const preEncoderBias = (inp.dict as { apply_decoder_bias_to_pre_encoder?: boolean })
    .apply_decoder_bias_to_pre_encoder;
  if (preEncoderBias !== undefined) notCarried['sae.apply_decoder_bias_to_pre_encoder'] = preEncoderBias;
  return { saeType, settings, notCarried };
}

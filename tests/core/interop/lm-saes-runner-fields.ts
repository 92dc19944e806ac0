// The fields lm-saes's training runner declares, copied from OpenMOSS/Language-Model-SAEs at abb5311 (the last
// commit before the package became `llamascopium`), for the lm-saes-config suites to check the written settings
// against. Each list is a pydantic class's declared fields, in source order.

/** src/lm_saes/runners/train.py: TrainSAESettings (TrainCLTSettings, TrainLorsaSettings, TrainMOLTSettings have the same fields). */
export const TRAIN_SETTINGS_FIELDS = [
  'sae',
  'sae_name',
  'sae_series',
  'initializer',
  'trainer',
  'activation_factory',
  'wandb',
  'eval',
  'data_parallel_size',
  'model_parallel_size',
  'mongo',
  'model',
  'model_name',
  'datasets',
  'device_type',
  'fold_activation_scale',
];
/** TrainCrosscoderSettings: `activation_factories` (one per head) instead of `activation_factory`. */
export const TRAIN_CROSSCODER_SETTINGS_FIELDS = TRAIN_SETTINGS_FIELDS.map((f) =>
  f === 'activation_factory' ? 'activation_factories' : f,
);

/** src/lm_saes/trainer.py: TrainerConfig. */
export const TRAINER_CONFIG_FIELDS = [
  'l1_coefficient',
  'l1_coefficient_warmup_steps',
  'lp_coefficient',
  'auxk_coefficient',
  'amp_dtype',
  'sparsity_loss_type',
  'tanh_stretch_coefficient',
  'frequency_scale',
  'p',
  'initial_k',
  'k_warmup_steps',
  'k_cold_booting_steps',
  'k_schedule_type',
  'k_exponential_factor',
  'k_aux',
  'dead_threshold',
  'skip_metrics_calculation',
  'gradient_accumulation_steps',
  'lr',
  'betas',
  'optimizer_class',
  'optimizer_foreach',
  'lr_scheduler_name',
  'lr_end_ratio',
  'lr_warm_up_steps',
  'lr_cool_down_steps',
  'jumprelu_lr_factor',
  'clip_grad_norm',
  'feature_sampling_window',
  'total_training_tokens',
  'log_frequency',
  'eval_frequency',
  'n_checkpoints',
  'check_point_save_mode',
  'from_pretrained_path',
  'exp_result_path',
];

/** src/lm_saes/initializer.py: InitializerConfig. */
export const INITIALIZER_CONFIG_FIELDS = [
  'bias_init_method',
  'decoder_uniform_bound',
  'encoder_uniform_bound',
  'init_encoder_with_decoder_transpose',
  'init_encoder_with_decoder_transpose_factor',
  'init_log_jumprelu_threshold_value',
  'grid_search_init_norm',
  'initialize_W_D_with_active_subspace',
  'd_active_subspace',
  'initialize_lorsa_with_mhsa',
  'initialize_tc_with_mlp',
  'model_layer',
  'init_encoder_bias_with_mean_hidden_pre',
];

/** src/lm_saes/activation/factory.py: ActivationFactoryConfig. */
export const ACTIVATION_FACTORY_CONFIG_FIELDS = [
  'sources',
  'target',
  'hook_points',
  'batch_size',
  'num_workers',
  'context_size',
  'model_batch_size',
  'override_dtype',
  'buffer_size',
  'buffer_shuffle',
  'ignore_token_ids',
];
/** ActivationFactoryDatasetSource (with ActivationFactorySource's type, name, sample_weights). */
export const DATASET_SOURCE_FIELDS = ['type', 'name', 'sample_weights', 'is_dataset_tokenized', 'prepend_bos'];
/** ActivationFactoryActivationsSource (a pre-generated activation cache). */
export const ACTIVATIONS_SOURCE_FIELDS = [
  'type',
  'name',
  'sample_weights',
  'path',
  'device',
  'dtype',
  'num_workers',
  'prefetch',
];
/** ActivationFactoryTarget's values. */
export const ACTIVATION_FACTORY_TARGETS = ['tokens', 'activations-2d', 'activations-1d'];
/** src/lm_saes/activation/processors/activation.py: BufferShuffleConfig. */
export const BUFFER_SHUFFLE_FIELDS = ['perm_seed', 'generator_device'];

/** src/lm_saes/backend/language_model.py: LanguageModelConfig (device and dtype from config.py BaseModelConfig). */
export const LANGUAGE_MODEL_CONFIG_FIELDS = [
  'device',
  'dtype',
  'model_name',
  'model_from_pretrained_path',
  'cache_dir',
  'local_files_only',
  'max_length',
  'backend',
  'prepend_bos',
  'bos_token_id',
  'eos_token_id',
  'pad_token_id',
];

/** src/lm_saes/config.py: DatasetConfig. */
export const DATASET_CONFIG_FIELDS = ['dataset_name_or_path', 'cache_dir', 'is_dataset_on_disk'];

/** src/lm_saes/models/sparse_dictionary.py: SparseDictionaryConfig (device, dtype from BaseModelConfig). */
const SPARSE_DICTIONARY_FIELDS = [
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
/** Each kind's config class: models/sae.py SAEConfig, crosscoder.py, clt.py, lorsa.py, molt.py. */
export const SAE_CONFIG_FIELDS: Record<string, string[]> = {
  sae: [...SPARSE_DICTIONARY_FIELDS, 'hook_point_in', 'hook_point_out', 'use_glu_encoder'],
  crosscoder: [...SPARSE_DICTIONARY_FIELDS, 'hook_points'],
  clt: [
    ...SPARSE_DICTIONARY_FIELDS,
    'init_cross_layer_decoder_all_zero',
    'hook_points_in',
    'hook_points_out',
    'decode_with_csr',
    'sparsity_threshold_for_csr',
  ],
  lorsa: [
    ...SPARSE_DICTIONARY_FIELDS,
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
  molt: [...SPARSE_DICTIONARY_FIELDS, 'hook_point_in', 'hook_point_out', 'rank_counts'],
};
/** Fields a kind's config class requires (no default): SparseDictionaryConfig's and the kind's own. */
export const SAE_REQUIRED_FIELDS: Record<string, string[]> = {
  sae: ['d_model', 'expansion_factor', 'hook_point_in', 'hook_point_out'],
  crosscoder: ['d_model', 'expansion_factor', 'hook_points'],
  clt: ['d_model', 'expansion_factor', 'hook_points_in', 'hook_points_out'],
  lorsa: [
    'd_model',
    'expansion_factor',
    'hook_point_in',
    'hook_point_out',
    'n_qk_heads',
    'd_qk_head',
    'rotary_dim',
    'n_ctx',
  ],
  molt: ['d_model', 'expansion_factor', 'hook_point_in', 'hook_point_out', 'rank_counts'],
};

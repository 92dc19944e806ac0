// The run config of a training job (lm-saes TrainerConfig / ActivationFactoryConfig / InitializerConfig field
// names where they exist): which model, data and hook, the dictionary's own config, the optimiser and schedules,
// with the vocabulary of each choice. The dictionary config it embeds is what gets saved beside the weights; the
// rest stays with the run.
import { z } from 'zod';
import { PathSegmentSchema } from './path-segment';
import type { SaeConfigInput } from './dictionary-config';

/** Compute backends, and what a config may ask for (`auto` picks the fastest that works here). */
export const BACKEND_NAMES = ['webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_REQUESTS = ['auto', ...BACKEND_NAMES] as const;
export type BackendRequest = (typeof BACKEND_REQUESTS)[number];

export const DATASET_SPLITS = ['train', 'validation', 'all'] as const;
export type DatasetSplit = (typeof DATASET_SPLITS)[number];

/** Sparsity penalties on activations × decoder norms: Lp (`power`), tanh, tanh-quad (lm-saes names). */
export const SPARSITY_LOSS_TYPES = ['power', 'tanh', 'tanh-quad'] as const;
export type SparsityLossType = (typeof SPARSITY_LOSS_TYPES)[number];

export const LR_SCHEDULERS = [
  'constant',
  'constantwithwarmup',
  'linearwarmupdecay',
  'cosineannealing',
  'cosineannealingwarmup',
] as const;
export type LrSchedulerName = (typeof LR_SCHEDULERS)[number];

export const BIAS_INIT_METHODS = ['all_zero', 'mean', 'geometric_median'] as const;

/** TopK's sparse kernels: `auto` uses them wherever they apply. */
export const SPARSE_PATH_MODES = ['auto', 'on', 'off'] as const;

/** How the dictionary is initialised (lm-saes InitializerConfig). */
export const InitConfigSchema = z.strictObject({
  bias_init_method: z.enum(BIAS_INIT_METHODS).default('mean'),
  /**
   * With bias_init_method 'mean': the mean over this many tokens of the dataset (the first ones, in window order,
   * from a pass of their own) initialises b_D; null takes the first training batch, as lm-saes does.
   */
  bias_init_tokens: z.number().int().positive().nullable().default(null),
  /** Row norm of W_D at initialisation (default: 1 with unit-norm decoders, else 0.1). */
  init_decoder_norm: z.number().positive().nullable().default(null),
  init_encoder_with_decoder_transpose: z.boolean().default(true),
  init_encoder_with_decoder_transpose_factor: z.number().positive().default(1),
  /** Pick the decoder norm with the lowest reconstruction loss on a batch: 0.1…1 coarse, then ±0.1 fine. */
  grid_search_init_norm: z.boolean().default(false),
  initialize_W_D_with_active_subspace: z.boolean().default(false),
  /** Lorsa: W_Q and W_K copied from the model's own attention heads (lm-saes initialize_lorsa_with_mhsa). */
  initialize_lorsa_with_mhsa: z.boolean().default(false),
  /** Rank of the active subspace (default: d_model / 4). */
  d_active_subspace: z.number().int().positive().nullable().default(null),
});
export type InitConfig = z.output<typeof InitConfigSchema>;

const positiveInt = z.number().int().positive();
/** Every dictionary kind, by lm-saes sae_type (src/core/dictionary/registry.ts has their implementations). */
export const DICTIONARY_KINDS = ['sae', 'crosscoder', 'clt', 'lorsa', 'molt'] as const;
export type DictionaryKindName = (typeof DICTIONARY_KINDS)[number];
const MAX_BATCH_TOKENS = 1 << 20;
/** A length in steps (≥ 1) or a fraction of all steps (< 1), as lm-saes accepts. */
const stepsOrFraction = z.number().nonnegative();

/** The dictionary part: SaeConfig fields; d_model may be left out (taken from the model). */
export const TrainSaeSchema = z
  .object({
    /** Which dictionary kind (lm-saes sae_type); the other kinds' fields are checked by their own schemas. */
    sae_type: z.enum(DICTIONARY_KINDS).default('sae'),
    hook_point_in: z.string().min(1).optional(),
    hook_point_out: z.string().min(1).optional(),
    d_model: positiveInt.optional(),
  })
  .loose()
  .superRefine((c, ctx) => {
    if (c.sae_type === 'sae' && c.hook_point_in === undefined)
      ctx.addIssue({ code: 'custom', path: ['hook_point_in'], message: 'an sae or transcoder needs its input hook' });
  });

export const TrainConfigSchema = z
  .strictObject({
    /** Name of the resulting dictionary (a folder under $SAE_STUDIO_HOME/dictionaries). */
    /** The dictionary's name: its folder under dictionaries/. */
    name: PathSegmentSchema.default('sae'),
    series: z.string().nullable().default(null),
    sae: TrainSaeSchema,
    /** Model folder or bundled model name. */
    model: z.string().min(1).default('pdlm-4l-256'),
    /** Dataset spec: a folder of .txt, a .jsonl / .parquet file, or an embedded corpus name. */
    dataset: z.string().min(1).default('pdlm-corpus'),
    /** Which windows of the dataset to train on (default: 'train' for corpora with a reference split, else 'all'). */
    dataset_split: z.enum(DATASET_SPLITS).nullable().default(null),
    /** Generated activation cache to train from instead of running the model (sae-studio generate). */
    activation_cache: z.string().nullable().default(null),
    context_size: positiveInt.nullable().default(null),
    model_batch_size: positiveInt.default(16),
    /** Windows whose tokens are shuffled together (an on-line shuffle buffer of ~this many windows). */
    shuffle_windows: positiveInt.default(128),
    ignore_token_ids: z.array(z.number().int().nonnegative()).default([]),
    /** Tokens per optimiser step; a step's activations and gradients must fit in memory (1M tokens × d 768 is 3 GiB). */
    batch_size: positiveInt
      .max(MAX_BATCH_TOKENS, `at most ${MAX_BATCH_TOKENS.toLocaleString('en-US')} tokens per step`)
      .default(4096),
    total_training_tokens: positiveInt,
    /** Tokens used to estimate the dataset-wise activation norm. */
    norm_estimation_tokens: positiveInt.default(100_000),

    lr: z.number().positive().default(4e-4),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    eps: z.number().positive().default(1e-8),
    lr_scheduler_name: z.enum(LR_SCHEDULERS).default('constantwithwarmup'),
    lr_warm_up_steps: stepsOrFraction.default(0.01),
    lr_cool_down_steps: stepsOrFraction.default(0.2),
    lr_end_ratio: z.number().min(0).max(1).default(0),
    clip_grad_norm: z.number().nonnegative().default(0),

    sparsity_loss_type: z.enum(SPARSITY_LOSS_TYPES).nullable().default(null),
    l1_coefficient: z.number().nonnegative().default(0),
    l1_coefficient_warmup_steps: stepsOrFraction.default(0.1),
    p: z.number().positive().default(1),
    tanh_stretch_coefficient: z.number().positive().default(4),
    frequency_scale: z.number().positive().default(0.01),
    /** JumpReLU pre-activation loss coefficient. */
    lp_coefficient: z.number().nonnegative().default(0),
    jumprelu_lr_factor: z.number().positive().default(1),

    /** K annealing: start at initial_k and reach top_k after k_warmup_steps. */
    initial_k: positiveInt.nullable().default(null),
    k_warmup_steps: stepsOrFraction.default(0.1),

    /** AuxK (Gao et al. 2024): coefficient, number of dead latents used, and tokens without firing to count as dead. */
    auxk_coefficient: z.number().nonnegative().default(0),
    k_aux: positiveInt.default(512),
    dead_threshold_tokens: positiveInt.default(10_000_000),

    /** Keep decoder rows at unit norm (project out the parallel gradient, renormalise after each step). */
    decoder_unit_norm: z.boolean().nullable().default(null),
    initializer: InitConfigSchema.default(InitConfigSchema.parse({})),

    /** TopK's sparse kernels (cpu/wasm with the native addon): auto uses them wherever they apply. */
    sparse_path: z.enum(SPARSE_PATH_MODES).default('auto'),
    seed: z.number().int().nonnegative().default(42),
    log_frequency: positiveInt.default(10),
    /** Write a checkpoint every this many tokens (null: only at the end). */
    checkpoint_every_tokens: positiveInt.nullable().default(null),
    backend: z.enum(BACKEND_REQUESTS).default('auto'),

    /**
     * After training, evaluate on this many held-out windows (the validation split where the dataset has one, else
     * its last windows) and record the metrics with the dictionary; 0 skips it. Used by the studio's training jobs.
     */
    eval_windows: z.number().int().nonnegative().default(0),
    /** After training, analyse the features over this many tokens of the dataset into the store; 0 skips it. */
    analyze_tokens: z.number().int().nonnegative().default(0),
  })
  .superRefine((c, ctx) => {
    if (c.batch_size > c.total_training_tokens) {
      ctx.addIssue({
        code: 'custom',
        path: ['batch_size'],
        message: `must be at most total_training_tokens = ${c.total_training_tokens} (one step)`,
      });
    }
  });

export type TrainConfigInput = z.input<typeof TrainConfigSchema>;
export type TrainConfig = z.output<typeof TrainConfigSchema>;

/** The dictionary part as a form or a file gives it: a dictionary config whose d_model may be left to the model. */
export type TrainSaeInput = Omit<SaeConfigInput, 'd_model'> & { d_model?: number };

/**
 * A train config before its check, as a form builds it: every field may still be missing (the check reports it),
 * but the fields present have their config types.
 */
export type TrainConfigDraft = Partial<Omit<TrainConfigInput, 'sae'>> & { sae?: Partial<TrainSaeInput> };

/**
 * On the wire a draft is any JSON object: the studio's config check (TrainConfigSchema and the model, hook and
 * dataset checks) reports its problems field by field, which a stricter request schema would turn into one error.
 */
export const TrainConfigDraftSchema = z.custom<TrainConfigDraft>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  'expected an object (a train config)',
);

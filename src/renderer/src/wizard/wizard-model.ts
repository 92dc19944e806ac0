/**
 * The new-experiment wizard's form: its fields, their defaults, how they become a train config (lm-saes field
 * names, the config `sae-studio train --config` takes), and how the issues of the config check map back onto
 * fields. Validation itself is the studio's: `validateTrainConfig` runs TrainConfigSchema and the model / hook /
 * dataset checks that the CLI runs, so the wizard and the CLI accept exactly the same configs.
 */
import type { ActFn } from '../../../protocol/dictionary-config';
import type { KindActFn } from '../../../protocol/kind-configs/common';
import { hookLayer, hookName } from '../../../protocol/hook-names';
import type { ModelInfo } from '../../../protocol/models';
import {
  SPARSITY_LOSS_TYPES,
  type BackendRequest,
  type SparsityLossType,
  type TrainConfigDraft,
  type TrainSaeInput,
} from '../../../protocol/run-config';
import type { FieldErrors } from './field-issues';
import {
  defaultKindForm,
  KIND_DEFAULTS,
  kindSaeFields,
  moltHooks,
  rankCountsSum,
  resolveKindFields,
  type KindForm,
} from './kind-fields';

/** How the wizard presents each activation function, in the order it offers them (every act_fn of the contract). */
const ACT_FN_CHOICES = {
  topk: {
    label: 'TopK',
    help: 'Keeps the k largest pre-activations of each token (Gao et al. 2024). No sparsity penalty to tune; k sets L0.',
  },
  batchtopk: {
    label: 'BatchTopK',
    help: 'Keeps the k·batch largest pre-activations of the whole batch: L0 varies per token, averages k. Inference uses a learned threshold.',
  },
  jumprelu: {
    label: 'JumpReLU',
    help: 'ReLU with a learned per-latent threshold (rectangle straight-through estimator); trained with a sparsity penalty.',
  },
  relu: { label: 'ReLU', help: 'The classic SAE: ReLU with an L1 (or tanh) penalty on activations × decoder norms.' },
  layertopk: {
    label: 'Layer TopK',
    help: 'CLT only: keeps the k largest pre-activations of each token across all its layers together (k is the L0 of the whole CLT).',
  },
  batchlayertopk: {
    label: 'Batch layer TopK',
    help: 'CLT only: keeps the k·batch largest pre-activations of the whole batch across all layers.',
  },
} as const satisfies Record<KindActFn, { label: string; help: string }>;

/** The choices as a select's data (the form maps a picked value back through KIND_ACT_FNS). */
export const ACT_FN_OPTIONS = Object.entries(ACT_FN_CHOICES).map(([value, c]) => ({ value, ...c }));

const LAYER_WIDE = new Set<KindActFn>(['layertopk', 'batchlayertopk']);

/** The activation functions a kind takes: the layer-wide TopK variants select across a CLT's layers only. */
export function actFnOptions(kind: WizardForm['saeType']) {
  return ACT_FN_OPTIONS.filter((o) => kind === 'clt' || !LAYER_WIDE.has(o.value as KindActFn));
}

/** Whether the activation function keeps top_k latents (every TopK variant) rather than taking a sparsity penalty. */
export function keepsTopK(actFn: KindActFn): boolean {
  return actFn !== 'relu' && actFn !== 'jumprelu';
}

const SPARSITY_LABELS: Record<SparsityLossType, string> = { power: 'L1 / Lp', tanh: 'tanh', 'tanh-quad': 'tanh-quad' };
export const SPARSITY_OPTIONS = SPARSITY_LOSS_TYPES.map((value) => ({ value, label: SPARSITY_LABELS[value] }));

export interface WizardForm extends KindForm {
  name: string;
  /** A bundled model's name, or a folder path. */
  model: string;
  modelSource: 'bundled' | 'folder';
  /** The embedded corpus's name, or a path (folder of .txt, .jsonl, .parquet). */
  dataset: string;
  datasetSource: 'embedded' | 'path';
  hookIn: string;
  /** Empty: the same as hookIn (an SAE); another hook makes a transcoder. */
  hookOut: string;
  actFn: KindActFn;
  /** Numbers are '' while a field is empty. */
  dSae: number | '';
  topK: number | '';
  sparsityLoss: SparsityLossType;
  l1Coefficient: number | '';
  lr: number | '';
  batchSize: number | '';
  totalTokens: number | '';
  warmupSteps: number | '';
  backend: BackendRequest;
  evalWindows: number | '';
  analyzeTokens: number | '';
}

export type FormField = keyof WizardForm;

/** A number input's value as the form keeps it ('' while empty). */
export function numberOrEmpty(v: string | number): number | '' {
  return typeof v === 'number' ? v : '';
}

export const EMBEDDED_CORPUS = 'pdlm-corpus';
export const DEFAULT_MODEL = 'pdlm-4l-256';

export function defaultForm(): WizardForm {
  return {
    name: 'sae',
    model: DEFAULT_MODEL,
    modelSource: 'bundled',
    dataset: EMBEDDED_CORPUS,
    datasetSource: 'embedded',
    hookIn: '',
    hookOut: '',
    actFn: 'topk',
    dSae: 4096,
    topK: 32,
    sparsityLoss: 'power',
    l1Coefficient: 5,
    lr: 4e-4,
    batchSize: 4096,
    totalTokens: 1_000_000,
    warmupSteps: 100,
    backend: 'auto',
    evalWindows: 64,
    analyzeTokens: 200_000,
    ...defaultKindForm(),
  };
}

/**
 * The form after picking another kind: that kind's small defaults for latents and k, the dictionary named after the
 * kind while it still carries the previous kind's name, and for a MoLT the MLP of the middle layer as its hooks.
 */
export function chooseKind(f: WizardForm, kind: WizardForm['saeType'], model: ModelInfo | null): WizardForm {
  if (kind === f.saeType) return f;
  const d = KIND_DEFAULTS[kind];
  const next: WizardForm = {
    ...f,
    saeType: kind,
    dSae: d.dSae,
    topK: d.topK,
    name: f.name === f.saeType ? kind : f.name,
    actFn: kind !== 'clt' && LAYER_WIDE.has(f.actFn) ? 'topk' : f.actFn,
  };
  if (kind === 'molt' && model) Object.assign(next, moltHooks(Math.floor(model.nLayers / 2)));
  if (kind === 'sae' && f.saeType === 'molt') Object.assign(next, { hookIn: '', hookOut: '' });
  return next;
}

/** The residual stream in the middle of the model: a common first choice. */
export function defaultHook(model: ModelInfo): string {
  const preferred = hookName(Math.floor(model.nLayers / 2), 'resid_post');
  return model.hookNames.includes(preferred)
    ? preferred
    : (model.hookNames.find((h) => h.endsWith('hook_resid_post')) ?? model.hookNames[0] ?? '');
}

/** A transcoder's usual target: the MLP output of the input hook's layer. */
export function transcoderTarget(hookIn: string, hooks: readonly string[]): string {
  const layer = hookLayer(hookIn);
  const mlpOut = layer === null ? undefined : hookName(layer, 'mlp_out');
  return mlpOut && hooks.includes(mlpOut) ? mlpOut : (hooks.find((h) => h.endsWith('hook_mlp_out')) ?? hookIn);
}

/**
 * The form with its hooks made valid for `model` (derived, not stored: the user's own choice comes back when they
 * return to a model that has it). A hook the model lacks gives way to the default; an output hook to none.
 */
export function withModelHooks(f: WizardForm, model: ModelInfo | null): WizardForm {
  if (!model) return f;
  const fallback = f.saeType === 'molt' ? moltHooks(Math.floor(model.nLayers / 2)) : null;
  const hookIn = model.hookNames.includes(f.hookIn) ? f.hookIn : (fallback?.hookIn ?? defaultHook(model));
  const hookOut =
    (f.hookOut === '' && !fallback) || model.hookNames.includes(f.hookOut) ? f.hookOut : (fallback?.hookOut ?? '');
  const resolved = f.saeType === 'sae' ? f : { ...f, ...resolveKindFields(f, model) };
  return hookIn === f.hookIn && hookOut === f.hookOut ? resolved : { ...resolved, hookIn, hookOut };
}

/** The wizard's fields in config terms. Empty numbers are left out, so the check reports them as missing. */
export function toTrainConfig(f: WizardForm): TrainConfigDraft {
  const topK = keepsTopK(f.actFn);
  const sae: Partial<TrainSaeInput> = f.saeType === 'sae' ? saeFields(f) : kindFields(f);
  return withoutUndefined({
    name: f.name,
    model: f.model,
    dataset: f.dataset,
    sae: withoutUndefined(sae),
    lr: num(f.lr),
    batch_size: num(f.batchSize),
    total_training_tokens: num(f.totalTokens),
    lr_warm_up_steps: num(f.warmupSteps),
    backend: f.backend,
    eval_windows: num(f.evalWindows),
    analyze_tokens: num(f.analyzeTokens),
    checkpoint_every_tokens: f.saeType === 'sae' ? checkpointEvery(f) : undefined,
    log_frequency: logFrequency(f),
    norm_estimation_tokens: normEstimationTokens(f),
    sparsity_loss_type: topK ? undefined : f.sparsityLoss,
    l1_coefficient: topK ? undefined : num(f.l1Coefficient),
  });
}

const num = (v: number | '') => (v === '' ? undefined : v);

/** An SAE or a transcoder: one hook in, optionally another out. */
function saeFields(f: WizardForm): Partial<TrainSaeInput> {
  const topK = keepsTopK(f.actFn);
  return {
    sae_type: 'sae',
    hook_point_in: f.hookIn,
    d_sae: num(f.dSae),
    act_fn: f.actFn as ActFn, // a layer-wide TopK left from a CLT is reported by the check
    norm_activation: 'dataset-wise',
    hook_point_out: f.hookOut !== '' && f.hookOut !== f.hookIn ? f.hookOut : undefined,
    top_k: topK ? num(f.topK) : undefined,
    sparsity_include_decoder_norm: topK ? false : undefined,
  };
}

/**
 * A crosscoder, CLT, Lorsa or MoLT: its own hooks and shapes, the shared act_fn and k, and d_sae (a MoLT's is the
 * sum of its rank table, so it is left to the check). The kinds keep lm-saes's decoder-norm gate (crosscoders
 * require it), so sparsity_include_decoder_norm keeps its default.
 */
function kindFields(f: WizardForm): Partial<TrainSaeInput> {
  return {
    sae_type: f.saeType,
    act_fn: f.actFn,
    norm_activation: 'dataset-wise',
    d_sae: f.saeType === 'molt' ? undefined : num(f.dSae),
    top_k: keepsTopK(f.actFn) ? num(f.topK) : undefined,
    ...(kindSaeFields(f, f) as Partial<TrainSaeInput>),
  } as Partial<TrainSaeInput>;
}

/** The number of latents the form gives: d_sae, or a MoLT's Σ rank counts. */
export function formDSae(f: WizardForm): number | null {
  return f.saeType === 'molt' ? rankCountsSum(f.rankCounts) : f.dSae === '' ? null : f.dSae;
}

/** The same object without its undefined fields (which a check would read as given). */
export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The dataset-wise norm from at most as many tokens as the run trains on (a short run needs no 100,000-token pass). */
function normEstimationTokens(f: WizardForm): number | undefined {
  return f.totalTokens === '' || f.totalTokens <= 0 ? undefined : Math.min(100_000, f.totalTokens);
}

/** Metrics every step for short runs, every 10 steps from 1,000 steps on: charts get at least ~100 points. */
function logFrequency(f: WizardForm): number | undefined {
  if (f.totalTokens === '' || f.batchSize === '' || f.batchSize <= 0) return undefined;
  return Math.max(1, Math.min(10, Math.floor(f.totalTokens / f.batchSize / 100)));
}

/** About ten checkpoints per run (never fewer tokens than one batch), so pause and resume lose little. */
function checkpointEvery(f: WizardForm): number | undefined {
  if (f.totalTokens === '' || f.batchSize === '' || f.totalTokens <= 0 || f.batchSize <= 0) return undefined;
  return Math.max(f.batchSize, Math.ceil(f.totalTokens / 10 / f.batchSize) * f.batchSize);
}

/** How long typing must pause before the studio checks what was typed. */
export const CHECK_DELAY_MS = 250;

export const STEPS = [
  { key: 'model', label: 'Model', fields: ['model'] },
  { key: 'dataset', label: 'Dataset', fields: ['dataset'] },
  { key: 'kind', label: 'Kind', fields: ['saeType'] },
  { key: 'hook', label: 'Hook points', fields: ['hookIn', 'hookOut', 'crosscoderHooks', 'cltLastLayer', 'lorsaLayer'] },
  {
    key: 'dictionary',
    label: 'Dictionary',
    fields: [
      'actFn',
      'dSae',
      'topK',
      'sparsityLoss',
      'l1Coefficient',
      'nQkHeads',
      'dQkHead',
      'nCtx',
      'lorsaRotary',
      'rankCounts',
    ],
  },
  {
    key: 'training',
    label: 'Training',
    fields: ['name', 'totalTokens', 'batchSize', 'lr', 'warmupSteps', 'evalWindows', 'analyzeTokens'],
  },
  { key: 'compute', label: 'Compute', fields: ['backend'] },
  { key: 'review', label: 'Review', fields: [] },
] as const satisfies readonly { key: string; label: string; fields: readonly FormField[] }[];
export type StepKey = (typeof STEPS)[number]['key'];

/** What the wizard knows beyond the config check: the model folder's own check and the dataset preview's issues. */
export interface LocalChecks {
  /** The model folder's check for the path in the form, or null when there is none (yet). */
  folderError: string | null;
  /** Why the previewed dataset cannot be read, or null. */
  previewIssue: string | null;
}

/** The error to show on each field: an empty choice first, then the local checks, then the config check. */
export function shownFieldErrors(
  f: WizardForm,
  errors: FieldErrors,
  local: LocalChecks,
): Partial<Record<FormField, string>> {
  const shown = { ...errors.byField };
  if (f.modelSource === 'folder' && f.model.trim() === '')
    shown.model = 'choose a Hugging Face model folder (config.json, model.safetensors, tokenizer.json)';
  else if (f.modelSource === 'folder' && local.folderError !== null) shown.model = local.folderError;
  if (f.dataset.trim() === '') shown.dataset = 'choose a dataset: a folder of .txt files, a .jsonl or a .parquet file';
  else if (local.previewIssue !== null) shown.dataset = local.previewIssue;
  return shown;
}

/** Whether step `i` has a field with an error. */
export function stepHasError(shown: Partial<Record<FormField, string>>, i: number): boolean {
  const step = STEPS[i];
  return step !== undefined && (step.fields as readonly FormField[]).some((f) => shown[f] !== undefined);
}

/** The first step with an error, or -1. */
export function firstStepWithError(errors: FieldErrors): number {
  return STEPS.findIndex((s) => (s.fields as readonly FormField[]).some((f) => errors.byField[f] !== undefined));
}

/** Steps (after training) and the run's length in words, for the review. */
export function runLength(f: WizardForm): string | null {
  if (f.totalTokens === '' || f.batchSize === '' || f.batchSize <= 0) return null;
  const steps = Math.floor(f.totalTokens / f.batchSize);
  return `${steps.toLocaleString('en-US')} steps of ${f.batchSize.toLocaleString('en-US')} tokens`;
}

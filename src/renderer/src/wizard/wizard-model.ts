/**
 * The new-experiment wizard's form: its fields, their defaults, how they become a train config (lm-saes field
 * names, the config `sae-studio train --config` takes), and how the issues of the config check map back onto
 * fields. Validation itself is the studio's: `validateTrainConfig` runs TrainConfigSchema and the model / hook /
 * dataset checks that the CLI runs, so the wizard and the CLI accept exactly the same configs.
 */
import { usesTopK, type ActFn } from '../../../protocol/dictionary-config';
import { hookLayer, hookName } from '../../../protocol/hook-names';
import type { ModelInfo } from '../../../protocol/models';
import {
  SPARSITY_LOSS_TYPES,
  type BackendRequest,
  type SparsityLossType,
  type TrainConfigDraft,
  type TrainSaeInput,
} from '../../../protocol/run-config';
import type { FieldIssue } from '../../../protocol/service-error';

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
} as const satisfies Record<ActFn, { label: string; help: string }>;

/** The choices as a select's data (the form maps a picked value back through ACT_FNS). */
export const ACT_FN_OPTIONS = Object.entries(ACT_FN_CHOICES).map(([value, c]) => ({ value, ...c }));

const SPARSITY_LABELS: Record<SparsityLossType, string> = { power: 'L1 / Lp', tanh: 'tanh', 'tanh-quad': 'tanh-quad' };
export const SPARSITY_OPTIONS = SPARSITY_LOSS_TYPES.map((value) => ({ value, label: SPARSITY_LABELS[value] }));

export interface WizardForm {
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
  actFn: ActFn;
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
  };
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
  const hookIn = model.hookNames.includes(f.hookIn) ? f.hookIn : defaultHook(model);
  const hookOut = f.hookOut === '' || model.hookNames.includes(f.hookOut) ? f.hookOut : '';
  return hookIn === f.hookIn && hookOut === f.hookOut ? f : { ...f, hookIn, hookOut };
}

/** The wizard's fields in config terms. Empty numbers are left out, so the check reports them as missing. */
export function toTrainConfig(f: WizardForm): TrainConfigDraft {
  const num = (v: number | '') => (v === '' ? undefined : v);
  const topK = usesTopK(f.actFn);
  const sae: Partial<TrainSaeInput> = {
    sae_type: 'sae',
    hook_point_in: f.hookIn,
    d_sae: num(f.dSae),
    act_fn: f.actFn,
    norm_activation: 'dataset-wise',
    hook_point_out: f.hookOut !== '' && f.hookOut !== f.hookIn ? f.hookOut : undefined,
    top_k: topK ? num(f.topK) : undefined,
    sparsity_include_decoder_norm: topK ? false : undefined,
  };
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
    checkpoint_every_tokens: checkpointEvery(f),
    log_frequency: logFrequency(f),
    sparsity_loss_type: topK ? undefined : f.sparsityLoss,
    l1_coefficient: topK ? undefined : num(f.l1Coefficient),
  });
}

/** The same object without its undefined fields (which a check would read as given). */
function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
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

/** Where each config field is edited (issues of other fields are shown on the review step). */
const CONFIG_FIELD: Record<string, FormField> = {
  'config.name': 'name',
  'config.model': 'model',
  'config.dataset': 'dataset',
  'config.sae.hook_point_in': 'hookIn',
  'config.sae.hook_point_out': 'hookOut',
  'config.sae.act_fn': 'actFn',
  'config.sae.d_sae': 'dSae',
  'config.sae.expansion_factor': 'dSae',
  'config.sae.top_k': 'topK',
  'config.sparsity_loss_type': 'sparsityLoss',
  'config.l1_coefficient': 'l1Coefficient',
  'config.lr': 'lr',
  'config.batch_size': 'batchSize',
  'config.total_training_tokens': 'totalTokens',
  'config.lr_warm_up_steps': 'warmupSteps',
  'config.backend': 'backend',
  'config.eval_windows': 'evalWindows',
  'config.analyze_tokens': 'analyzeTokens',
};

export interface FieldErrors {
  byField: Partial<Record<FormField, string>>;
  /** Issues no field of the wizard edits. */
  other: FieldIssue[];
}

export const NO_FIELD_ERRORS: FieldErrors = { byField: {}, other: [] };

/** How long typing must pause before the studio checks what was typed. */
export const CHECK_DELAY_MS = 250;

export function issuesToFields(issues: readonly FieldIssue[]): FieldErrors {
  const byField: Partial<Record<FormField, string>> = {};
  const other: FieldIssue[] = [];
  for (const issue of issues) {
    const field = CONFIG_FIELD[issue.field];
    if (field) byField[field] ??= issue.message;
    else other.push(issue);
  }
  return { byField, other };
}

export const STEPS = [
  { key: 'model', label: 'Model', fields: ['model'] },
  { key: 'dataset', label: 'Dataset', fields: ['dataset'] },
  { key: 'hook', label: 'Hook point', fields: ['hookIn', 'hookOut'] },
  { key: 'dictionary', label: 'Dictionary', fields: ['actFn', 'dSae', 'topK', 'sparsityLoss', 'l1Coefficient'] },
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

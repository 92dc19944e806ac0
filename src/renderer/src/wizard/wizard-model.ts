/**
 * The new-experiment wizard's form: its fields, their defaults, how they become a train config (lm-saes field
 * names, the config `sae-studio train --config` takes), and how the issues of the config check map back onto
 * fields. Validation itself is the studio's: `validateTrainConfig` runs TrainConfigSchema and the model / hook /
 * dataset checks that the CLI runs, so the wizard and the CLI accept exactly the same configs.
 */
import type { FieldIssue } from '../../../protocol/service-error';
import type { ModelInfo } from '../../../protocol/models';

export const ACT_FN_OPTIONS = [
  { value: 'topk', label: 'TopK', help: 'Keeps the k largest pre-activations of each token (Gao et al. 2024). No sparsity penalty to tune; k sets L0.' },
  { value: 'batchtopk', label: 'BatchTopK', help: 'Keeps the k·batch largest pre-activations of the whole batch: L0 varies per token, averages k. Inference uses a learned threshold.' },
  { value: 'jumprelu', label: 'JumpReLU', help: 'ReLU with a learned per-latent threshold (rectangle straight-through estimator); trained with a sparsity penalty.' },
  { value: 'relu', label: 'ReLU', help: 'The classic SAE: ReLU with an L1 (or tanh) penalty on activations × decoder norms.' },
] as const;
export type ActFn = (typeof ACT_FN_OPTIONS)[number]['value'];

export const SPARSITY_OPTIONS = [
  { value: 'power', label: 'L1 / Lp' },
  { value: 'tanh', label: 'tanh' },
  { value: 'tanh-quad', label: 'tanh-quad' },
] as const;

export const BACKEND_OPTIONS = ['auto', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_OPTIONS)[number];

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
  sparsityLoss: 'power' | 'tanh' | 'tanh-quad';
  l1Coefficient: number | '';
  lr: number | '';
  batchSize: number | '';
  totalTokens: number | '';
  warmupSteps: number | '';
  backend: BackendChoice;
  evalWindows: number | '';
  analyzeTokens: number | '';
}

export type FormField = keyof WizardForm;

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
  const preferred = `blocks.${Math.floor(model.nLayers / 2)}.hook_resid_post`;
  return model.hookNames.includes(preferred) ? preferred : (model.hookNames.find((h) => h.endsWith('hook_resid_post')) ?? model.hookNames[0] ?? '');
}

/** The wizard's fields in config terms. Empty numbers are left out, so the check reports them as missing. */
export function toTrainConfig(f: WizardForm): Record<string, unknown> {
  const num = (v: number | '') => (v === '' ? undefined : v);
  const sparse = f.actFn === 'relu' || f.actFn === 'jumprelu';
  const sae: Record<string, unknown> = {
    sae_type: 'sae',
    hook_point_in: f.hookIn,
    d_sae: num(f.dSae),
    act_fn: f.actFn,
    norm_activation: 'dataset-wise',
  };
  if (f.hookOut !== '' && f.hookOut !== f.hookIn) sae.hook_point_out = f.hookOut;
  if (f.actFn === 'topk' || f.actFn === 'batchtopk') {
    sae.top_k = num(f.topK);
    sae.sparsity_include_decoder_norm = false;
  }
  const config: Record<string, unknown> = {
    name: f.name,
    model: f.model,
    dataset: f.dataset,
    sae,
    lr: num(f.lr),
    batch_size: num(f.batchSize),
    total_training_tokens: num(f.totalTokens),
    lr_warm_up_steps: num(f.warmupSteps),
    backend: f.backend,
    eval_windows: num(f.evalWindows),
    analyze_tokens: num(f.analyzeTokens),
    checkpoint_every_tokens: checkpointEvery(f),
    log_frequency: logFrequency(f),
  };
  if (sparse) {
    config.sparsity_loss_type = f.sparsityLoss;
    config.l1_coefficient = num(f.l1Coefficient);
  }
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
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
  { key: 'training', label: 'Training', fields: ['name', 'totalTokens', 'batchSize', 'lr', 'warmupSteps', 'evalWindows', 'analyzeTokens'] },
  { key: 'compute', label: 'Compute', fields: ['backend'] },
  { key: 'review', label: 'Review', fields: [] },
] as const satisfies readonly { key: string; label: string; fields: readonly FormField[] }[];

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

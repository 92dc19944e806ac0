// How the issues of the studio's config check (paths into the train config: config.sae.top_k,
// config.sae.rank_counts.4, …) map onto the wizard's fields, for the kind being configured.
import type { FieldIssue } from '../../../protocol/service-error';
import type { FormField, WizardForm } from './wizard-model';

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
  'config.sae.sae_type': 'saeType',
  // Each kind's own fields (an issue inside a list, e.g. config.sae.hook_points.2, goes to the list's field).
  'config.sae.hook_points': 'crosscoderHooks',
  'config.sae.hook_points_in': 'cltLastLayer',
  'config.sae.hook_points_out': 'cltLastLayer',
  'config.sae.n_qk_heads': 'nQkHeads',
  'config.sae.d_qk_head': 'dQkHead',
  'config.sae.n_ctx': 'nCtx',
  'config.sae.positional_embedding_type': 'lorsaRotary',
  'config.sae.rotary_dim': 'lorsaRotary',
  'config.sae.rotary_base': 'lorsaRotary',
  'config.sae.rotary_adjacent_pairs': 'lorsaRotary',
  'config.sae.rotary_scale': 'lorsaRotary',
  'config.sae.use_NTK_by_parts_rope': 'lorsaRotary',
  'config.sae.rank_counts': 'rankCounts',
};

/** Fields whose meaning depends on the kind: a Lorsa's hooks are its layer, a MoLT's d_sae its rank table. */
const KIND_FIELD: Partial<Record<WizardForm['saeType'], Record<string, FormField>>> = {
  crosscoder: { 'config.sae': 'crosscoderHooks' },
  clt: { 'config.sae': 'cltLastLayer' },
  lorsa: {
    'config.sae': 'lorsaLayer',
    'config.sae.hook_point_in': 'lorsaLayer',
    'config.sae.hook_point_out': 'lorsaLayer',
  },
  molt: { 'config.sae': 'hookIn', 'config.sae.d_sae': 'rankCounts', 'config.sae.expansion_factor': 'rankCounts' },
};

/** The form field of an issue's path: the field itself, else its nearest parent (config.sae.rank_counts.4 → rank_counts). */
function fieldOf(path: string, kind: WizardForm['saeType']): FormField | undefined {
  const table = { ...CONFIG_FIELD, ...KIND_FIELD[kind] };
  if (table[path]) return table[path];
  for (let p = path; p.includes('.');) {
    p = p.slice(0, p.lastIndexOf('.'));
    if (p === 'config.sae' || p === 'config') return undefined;
    if (table[p]) return table[p];
  }
  return undefined;
}

export interface FieldErrors {
  byField: Partial<Record<FormField, string>>;
  /** Issues no field of the wizard edits. */
  other: FieldIssue[];
}

export const NO_FIELD_ERRORS: FieldErrors = { byField: {}, other: [] };

export function issuesToFields(issues: readonly FieldIssue[], kind: WizardForm['saeType'] = 'sae'): FieldErrors {
  const byField: Partial<Record<FormField, string>> = {};
  const other: FieldIssue[] = [];
  for (const issue of issues) {
    const field = fieldOf(issue.field, kind);
    if (field) byField[field] ??= issue.message;
    else other.push(issue);
  }
  return { byField, other };
}

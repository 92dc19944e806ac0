/**
 * The "New circuit" form's state and its check: a prompt, a dictionary set, and the attribution settings under
 * lm-saes's names with the lm-saes server's defaults (spec §6.4–§6.5, §7). Each field's problem is reported on that
 * field; a valid form becomes a NewCircuitRequest.
 */

export interface CircuitSettings {
  max_feature_nodes: number;
  desired_logit_prob: number;
  max_n_logits: number;
  batch_size: number;
  node_threshold: number;
  edge_threshold: number;
  qk_tracing_topk: number;
  qk_top_fraction: number;
}

export interface NewCircuitRequest {
  /** The dictionary set that replaces the model. */
  set: string;
  prompt: string;
  settings: CircuitSettings;
}

export type SettingName = keyof CircuitSettings;

interface SettingRule {
  label: string;
  kind: 'count' | 'fraction';
  /** lm-saes server default. */
  default: number;
  help: string;
}

export const SETTING_RULES: Record<SettingName, SettingRule> = {
  max_feature_nodes: { label: 'max_feature_nodes', kind: 'count', default: 256, help: 'features collected' },
  desired_logit_prob: {
    label: 'desired_logit_prob',
    kind: 'fraction',
    default: 0.98,
    help: 'probability mass of the logits',
  },
  max_n_logits: { label: 'max_n_logits', kind: 'count', default: 1, help: 'most logits attributed' },
  batch_size: { label: 'batch_size', kind: 'count', default: 10, help: 'rows per reverse pass' },
  node_threshold: { label: 'node_threshold', kind: 'fraction', default: 0.6, help: 'cumulative influence kept' },
  edge_threshold: { label: 'edge_threshold', kind: 'fraction', default: 0.8, help: 'cumulative edge score kept' },
  qk_tracing_topk: { label: 'qk_tracing_topk', kind: 'count', default: 10, help: 'QK contributors kept' },
  qk_top_fraction: { label: 'qk_top_fraction', kind: 'fraction', default: 0.6, help: 'Lorsa features QK-traced' },
};

export const SETTING_NAMES = Object.keys(SETTING_RULES) as SettingName[];

export interface NewCircuitForm {
  set: string;
  prompt: string;
  /** As typed. */
  settings: Record<SettingName, string>;
}

export function defaultCircuitForm(set = ''): NewCircuitForm {
  const settings = Object.fromEntries(SETTING_NAMES.map((k) => [k, String(SETTING_RULES[k].default)]));
  return { set, prompt: '', settings: settings as Record<SettingName, string> };
}

function checkSetting(name: SettingName, text: string): string | null {
  const rule = SETTING_RULES[name];
  if (text.trim() === '') return `${name} is required`;
  const v = Number(text);
  if (!Number.isFinite(v)) return `${name} must be a number, got '${text}'`;
  if (rule.kind === 'count' && !(Number.isInteger(v) && v >= 1)) return `${name} must be an integer ≥ 1, got ${text}`;
  if (rule.kind === 'fraction' && !(v > 0 && v <= 1)) return `${name} must be in (0, 1], got ${text}`;
  return null;
}

export type CircuitFormErrors = Partial<Record<'set' | 'prompt' | SettingName, string>>;

/** The form's problems by field (empty when it is valid), with `maxPromptChars` the longest prompt accepted. */
export function checkCircuitForm(form: NewCircuitForm, maxPromptChars = 20_000): CircuitFormErrors {
  const errors: CircuitFormErrors = {};
  if (form.set.trim() === '') errors.set = 'choose the dictionary set that replaces the model';
  if (form.prompt.trim() === '') errors.prompt = 'the prompt is empty';
  else if (form.prompt.length > maxPromptChars)
    errors.prompt = `the prompt has ${form.prompt.length} characters, at most ${maxPromptChars}`;
  for (const name of SETTING_NAMES) {
    const problem = checkSetting(name, form.settings[name]);
    if (problem) errors[name] = problem;
  }
  return errors;
}

/** The request of a valid form (throws on an invalid one: check it first). */
export function toCircuitRequest(form: NewCircuitForm, maxPromptChars?: number): NewCircuitRequest {
  const errors = checkCircuitForm(form, maxPromptChars);
  const first = Object.values(errors)[0];
  if (first) throw new Error(first);
  const settings = Object.fromEntries(SETTING_NAMES.map((k) => [k, Number(form.settings[k])]));
  return { set: form.set, prompt: form.prompt, settings: settings as unknown as CircuitSettings };
}

// Which activation basis a saved dictionary was trained in, read from what lm-saes (lm_config.json) or SAELens
// (cfg.json) saves beside it. A dictionary is only meaningful in the basis its activations came from.
import { z } from 'zod';
import type { ActivationBasis } from '../../protocol/kind-configs/common';
import { parseConfig } from '../config/validate';
import { InputError } from '../errors';

const LM_SAES_BACKENDS = ['huggingface', 'transformer_lens', 'tokenizer_only', 'auto'] as const;

const lmSaesSchema = z.looseObject({
  model_name: z.string().default('gpt2'),
  backend: z.enum(LM_SAES_BACKENDS).default('auto'),
});

/**
 * lm-saes's LanguageModelConfig: `backend` defaults to "auto", which lm-saes resolves from the model name
 * (resource_loaders.infer_model_backend: names starting with "Qwen/Qwen2.5" use huggingface, every other model
 * transformer_lens). `tokenizer_only` loads no model, so it says nothing about the basis (null).
 */
export function basisFromLmSaesConfig(lmConfig: unknown, source = 'lm_config.json'): ActivationBasis | null {
  const cfg = parseConfig(lmSaesSchema, lmConfig, source);
  const backend =
    cfg.backend === 'auto'
      ? cfg.model_name.startsWith('Qwen/Qwen2.5')
        ? 'huggingface'
        : 'transformer_lens'
      : cfg.backend;
  if (backend === 'tokenizer_only') return null;
  return backend === 'transformer_lens' ? 'transformer-lens' : 'unprocessed';
}

/** TransformerLens's processing flags as SAELens passes them to from_pretrained_no_processing (default off). */
const PROCESSING_FLAGS = ['fold_ln', 'center_writing_weights', 'fold_value_biases', 'center_unembed'] as const;
type ProcessingFlag = (typeof PROCESSING_FLAGS)[number];

const kwargsSchema = z.looseObject(
  Object.fromEntries(PROCESSING_FLAGS.map((f) => [f, z.boolean().optional()])) as Record<
    ProcessingFlag,
    z.ZodOptional<z.ZodBoolean>
  >,
);
const saeLensFields = {
  model_class_name: z.string().optional(),
  model_from_pretrained_kwargs: kwargsSchema.nullable().optional(),
  hook_name: z.string().optional(),
  hook_point: z.string().optional(),
};
// SAELens 6 nests the model fields under `metadata`; older cfg.json files have them at the top level.
const saeLensSchema = z.looseObject({ ...saeLensFields, metadata: z.looseObject(saeLensFields).optional() });

/**
 * The flags that decide a hook's activations: residual-stream writers move with center_writing_weights, the norm
 * outputs with fold_ln, the value-side attention hooks with fold_value_biases; center_unembed moves only logits,
 * and every other hook (q, k, pattern, MLP hooks, hook_scale) is the same in both bases.
 */
function flagsForHook(hook: string | null): ProcessingFlag[] {
  if (hook === null) return ['fold_ln', 'center_writing_weights', 'fold_value_biases'];
  if (/(^|\.)hook_(embed|pos_embed|resid_pre|resid_mid|resid_post|attn_out|mlp_out)$/.test(hook))
    return ['center_writing_weights'];
  if (/(^|\.)hook_normalized$/.test(hook)) return ['fold_ln'];
  if (/(^|\.)attn\.hook_(v|z|result)$/.test(hook)) return ['fold_value_biases'];
  return [];
}

/**
 * SAELens loads a HookedTransformer with from_pretrained_no_processing(**model_from_pretrained_kwargs), so a flag
 * not given is off; an AutoModelForCausalLM runs unprocessed; another model class (HookedMamba) gives null. Mixed
 * flags (gpt2-small-res-jb passes only center_writing_weights) are decided by the flags that matter at the SAE's
 * hook; if those disagree, neither basis reproduces the activations and an InputError says so.
 */
export function basisFromSaeLensConfig(saeLensConfig: unknown, source = 'cfg.json'): ActivationBasis | null {
  const top = parseConfig(saeLensSchema, saeLensConfig, source);
  const meta = top.metadata;
  const modelClass = top.model_class_name ?? meta?.model_class_name ?? 'HookedTransformer';
  if (modelClass === 'AutoModelForCausalLM') return 'unprocessed';
  if (modelClass !== 'HookedTransformer') return null;
  const kwargs = top.model_from_pretrained_kwargs ?? meta?.model_from_pretrained_kwargs ?? {};
  const hook = top.hook_name ?? top.hook_point ?? meta?.hook_name ?? meta?.hook_point ?? null;
  const relevant = flagsForHook(hook);
  const on = relevant.filter((f) => kwargs[f] === true);
  if (on.length === 0) return 'unprocessed';
  if (on.length === relevant.length) return 'transformer-lens';
  const shown = relevant.map((f) => `${f}=${kwargs[f] === true}`).join(', ');
  throw new InputError(
    `${source}: field 'model_from_pretrained_kwargs' gives ${shown}${hook ? ` for hook '${hook}'` : ''}, ` +
      `expected all of them on (transformer-lens basis) or all off (unprocessed)`,
  );
}

/**
 * Where a loaded dictionary's basis came from: our config.json field `activation_basis`, lm-saes's lm_config.json
 * (its `backend`), SAELens's cfg.json (`model_from_pretrained_kwargs`, `model_class_name`), or nothing at all
 * ('default': the basis is unknown and 'unprocessed' is assumed).
 */
export type BasisSource = 'config' | 'lm_config' | 'saelens' | 'default';

export interface RecordedBasis {
  basis: ActivationBasis;
  source: BasisSource;
}

const BASIS_FIELD = 'activation_basis';

/**
 * The basis an lm-saes dictionary directory records: config.json's `activation_basis` (written by SAE Studio)
 * wins; else lm_config.json's backend; else unknown. `raw` is config.json as read; a bad value in it is left for
 * the config schema to reject.
 */
export function lmSaesRecordedBasis(
  raw: Record<string, unknown>,
  lmConfig: Record<string, unknown> | null,
  lmConfigPath: string,
): RecordedBasis {
  const field = raw[BASIS_FIELD];
  if (field === 'unprocessed' || field === 'transformer-lens') return { basis: field, source: 'config' };
  const fromLm = lmConfig ? basisFromLmSaesConfig(lmConfig, lmConfigPath) : null;
  if (fromLm) return { basis: fromLm, source: 'lm_config' };
  return { basis: 'unprocessed', source: 'default' };
}

/**
 * The basis a SAELens cfg.json records. A cfg.json with neither `model_from_pretrained_kwargs` nor
 * `model_class_name` (top level or under `metadata`) says nothing: SAELens's trainer writes both, so their absence
 * means the file came from elsewhere, and the basis is unknown.
 */
export function saeLensRecordedBasis(cfg: Record<string, unknown>, source: string): RecordedBasis {
  const meta = cfg.metadata && typeof cfg.metadata === 'object' ? (cfg.metadata as Record<string, unknown>) : {};
  const says = [cfg, meta].some(
    (o) =>
      (o.model_from_pretrained_kwargs !== undefined && o.model_from_pretrained_kwargs !== null) ||
      o.model_class_name !== undefined,
  );
  const basis = basisFromSaeLensConfig(cfg, source);
  if (!says) return { basis: 'unprocessed', source: 'default' };
  if (basis === null)
    throw new InputError(
      `${source}: field 'model_class_name' is not HookedTransformer or AutoModelForCausalLM; SAE Studio runs neither of the other model classes`,
    );
  return { basis, source: 'saelens' };
}

/** lm-saes's LanguageModelConfig.backend for a basis (what SAE Studio writes into lm_config.json). */
export function lmSaesBackend(basis: ActivationBasis): 'transformer_lens' | 'huggingface' {
  return basis === 'transformer-lens' ? 'transformer_lens' : 'huggingface';
}

/** TransformerLens's processing flags for a basis, as SAELens's model_from_pretrained_kwargs. */
export function saeLensProcessingKwargs(basis: ActivationBasis): Record<ProcessingFlag, boolean> {
  const on = basis === 'transformer-lens';
  return Object.fromEntries(PROCESSING_FLAGS.map((f) => [f, on])) as Record<ProcessingFlag, boolean>;
}

/** Parses a `--basis` value; undefined stays undefined. */
export function parseBasisOption(value: unknown, option = '--basis'): ActivationBasis | undefined {
  if (value === undefined) return undefined;
  if (value === 'unprocessed' || value === 'transformer-lens') return value;
  throw new InputError(`${option} is '${String(value)}', expected unprocessed or transformer-lens`);
}

const SOURCE_WORDS: Record<Exclude<BasisSource, 'default'>, string> = {
  config: "config.json's activation_basis",
  lm_config: "lm_config.json's backend",
  saelens: "cfg.json's model_from_pretrained_kwargs",
};

/**
 * The basis to run a dictionary's model in: what its files record, or `requested` (a --basis flag) when they
 * record nothing. A request that contradicts the files is an InputError; when neither says, `notice` is the one
 * line to show (the unprocessed basis is assumed).
 */
export function chooseBasis(
  dict: { dir: string; cfg: { activation_basis: ActivationBasis }; basisSource: BasisSource },
  requested: ActivationBasis | undefined,
  option = '--basis',
): { basis: ActivationBasis; notice: string | null } {
  const basis = dict.cfg.activation_basis;
  const source = dict.basisSource;
  if (source !== 'default') {
    if (requested !== undefined && requested !== basis)
      throw new InputError(
        `${option} ${requested} contradicts ${dict.dir}: ${SOURCE_WORDS[source]} says the dictionary was trained in the '${basis}' basis`,
      );
    return { basis, notice: null };
  }
  if (requested !== undefined) return { basis: requested, notice: null };
  return {
    basis: 'unprocessed',
    notice: `${dict.dir}: the dictionary does not record its activation basis; assuming 'unprocessed' (pass ${option} transformer-lens if it was trained on TransformerLens-processed activations, or ${option} unprocessed to silence this)`,
  };
}

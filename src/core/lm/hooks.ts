// TransformerLens hook names: built by one helper, listed per model, and located (which block, which order)
// so a forward pass can stop right after the deepest hook it was asked for.
import { InputError } from '../errors';
import type { ModelConfig } from './model-config';

/** Hook points inside block L, named as TransformerLens names them after `blocks.{L}.`. */
export const BLOCK_HOOKS = [
  'hook_resid_pre',
  'ln1.hook_scale',
  'ln1.hook_normalized',
  'attn.hook_q',
  'attn.hook_k',
  'attn.hook_v',
  'attn.hook_rot_q',
  'attn.hook_rot_k',
  'attn.hook_attn_scores',
  'attn.hook_pattern',
  'attn.hook_z',
  'ln1_post.hook_in',
  'hook_attn_out',
  'hook_resid_mid',
  'ln2.hook_scale',
  'ln2.hook_normalized',
  'mlp.hook_pre',
  'mlp.hook_pre_linear',
  'mlp.hook_post',
  'ln2_post.hook_in',
  'hook_mlp_out',
  'hook_resid_post',
] as const;
export type BlockHook = (typeof BLOCK_HOOKS)[number];

/** Short aliases accepted by `hookName`: resid_pre → hook_resid_pre, attn_out → hook_attn_out… */
type ShortHook = 'resid_pre' | 'resid_mid' | 'resid_post' | 'attn_out' | 'mlp_out';

export function hookName(layer: number, hook: BlockHook | ShortHook): string {
  const full = hook.includes('.') || hook.startsWith('hook_') ? hook : `hook_${hook}`;
  return `blocks.${layer}.${full}`;
}

/** Prefix of a block's submodule hooks, e.g. `blocks.3.ln1` (its hooks are `blocks.3.ln1.hook_scale`…). */
export function blockModule(layer: number, module: 'ln1' | 'ln2' | 'attn' | 'mlp'): string {
  return `blocks.${layer}.${module}`;
}

export const HOOK_EMBED = 'hook_embed';
export const HOOK_POS_EMBED = 'hook_pos_embed';
export const HOOK_LN_FINAL_SCALE = 'ln_final.hook_scale';
export const HOOK_LN_FINAL = 'ln_final.hook_normalized';

function blockHookApplies(cfg: ModelConfig, hook: BlockHook): boolean {
  switch (hook) {
    case 'attn.hook_rot_q':
    case 'attn.hook_rot_k':
      return cfg.rotary !== null;
    case 'ln1_post.hook_in':
    case 'ln2_post.hook_in':
      return cfg.postNorms;
    case 'hook_resid_mid':
      return !cfg.parallelResidual;
    case 'mlp.hook_pre_linear':
      return cfg.gatedMlp;
    case 'ln1.hook_scale':
    case 'ln2.hook_scale':
    default:
      return true;
  }
}

/** Every hook point of the model, in the order the forward pass reaches them. */
export function listHookNames(cfg: ModelConfig): string[] {
  const names = [HOOK_EMBED];
  if (!cfg.rotary) names.push(HOOK_POS_EMBED);
  for (let l = 0; l < cfg.nLayers; l++) {
    for (const h of BLOCK_HOOKS) if (blockHookApplies(cfg, h)) names.push(hookName(l, h));
  }
  names.push(HOOK_LN_FINAL_SCALE, HOOK_LN_FINAL);
  return names;
}

/** Where a hook sits: -1 for the embeddings, a block index, or nLayers for the final norm. */
export function hookStage(cfg: ModelConfig, name: string, hookNames = new Set(listHookNames(cfg))): number {
  if (!hookNames.has(name)) {
    const m = /^blocks\.(\d+)\./.exec(name);
    const hint = m && Number(m[1]) >= cfg.nLayers
      ? `the model has blocks 0..${cfg.nLayers - 1}`
      : `expected e.g. ${hookName(0, 'resid_post')}, ${hookName(0, 'attn.hook_pattern')}, ${HOOK_LN_FINAL}`;
    throw new InputError(`unknown hook '${name}' for this ${cfg.architecture} model (${hint})`);
  }
  if (name === HOOK_EMBED || name === HOOK_POS_EMBED) return -1;
  const m = /^blocks\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : cfg.nLayers;
}

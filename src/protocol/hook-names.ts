/**
 * TransformerLens hook names, the vocabulary every layer shares: the hooks of a block, the model-level ones, and
 * the one helper that builds (`hookName`) and reads (`hookLayer`) a block hook's name.
 */

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
export type ShortHook = 'resid_pre' | 'resid_mid' | 'resid_post' | 'attn_out' | 'mlp_out';

export function hookName(layer: number, hook: BlockHook | ShortHook): string {
  const full = hook.includes('.') || hook.startsWith('hook_') ? hook : `hook_${hook}`;
  return `blocks.${layer}.${full}`;
}

/** The block of a block hook (`blocks.3.hook_mlp_out` → 3), or null for a model-level hook such as `hook_embed`. */
export function hookLayer(name: string): number | null {
  const m = /^blocks\.(\d+)\./.exec(name);
  return m?.[1] === undefined ? null : Number(m[1]);
}

/** Prefix of a block's submodule hooks, e.g. `blocks.3.ln1` (its hooks are `blocks.3.ln1.hook_scale`…). */
export function blockModule(layer: number, module: 'ln1' | 'ln2' | 'attn' | 'mlp'): string {
  return `blocks.${layer}.${module}`;
}

export const HOOK_EMBED = 'hook_embed';
export const HOOK_POS_EMBED = 'hook_pos_embed';
export const HOOK_LN_FINAL_SCALE = 'ln_final.hook_scale';
export const HOOK_LN_FINAL = 'ln_final.hook_normalized';

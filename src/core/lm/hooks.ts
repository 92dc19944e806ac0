// TransformerLens hook names (their vocabulary lives in protocol/hook-names) listed per model, and located (which
// block, which order) so a forward pass can stop right after the deepest hook it was asked for.
import {
  BLOCK_HOOKS,
  HOOK_EMBED,
  HOOK_LN_FINAL,
  HOOK_LN_FINAL_SCALE,
  HOOK_POS_EMBED,
  hookLayer,
  hookName,
  type BlockHook,
} from '../../protocol/hook-names';
import { InputError } from '../errors';
import type { ModelConfig } from './model-config';

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
    const layer = hookLayer(name);
    const hint =
      layer !== null && layer >= cfg.nLayers
        ? `the model has blocks 0..${cfg.nLayers - 1}`
        : `expected e.g. ${hookName(0, 'resid_post')}, ${hookName(0, 'attn.hook_pattern')}, ${HOOK_LN_FINAL}`;
    throw new InputError(`unknown hook '${name}' for this ${cfg.architecture} model (${hint})`);
  }
  if (name === HOOK_EMBED || name === HOOK_POS_EMBED) return -1;
  return hookLayer(name) ?? cfg.nLayers;
}

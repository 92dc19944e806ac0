// TransformerLens hook names as the contract builds and reads them: hookName with full and short hook names, and
// hookLayer back to the block (null for model-level hooks).
import { describe, expect, it } from 'vitest';
import {
  BLOCK_HOOKS,
  blockModule,
  HOOK_EMBED,
  HOOK_LN_FINAL,
  hookLayer,
  hookName,
} from '../../src/protocol/hook-names';

describe('hook names', () => {
  it('builds block hooks from full and short names', () => {
    expect(hookName(3, 'resid_post')).toBe('blocks.3.hook_resid_post');
    expect(hookName(0, 'hook_mlp_out')).toBe('blocks.0.hook_mlp_out');
    expect(hookName(11, 'attn.hook_pattern')).toBe('blocks.11.attn.hook_pattern');
    expect(blockModule(2, 'ln1')).toBe('blocks.2.ln1');
  });

  it('reads the block back from every block hook, and null from model-level hooks', () => {
    for (const h of BLOCK_HOOKS) expect(hookLayer(hookName(7, h))).toBe(7);
    expect(hookLayer(HOOK_EMBED)).toBeNull();
    expect(hookLayer(HOOK_LN_FINAL)).toBeNull();
    expect(hookLayer('blocks.x.hook_resid_post')).toBeNull();
  });
});

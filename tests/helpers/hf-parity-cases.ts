// The Hugging Face parity cases (tiny random fixtures of six architectures and pdlm-4l-256) and the mapping from
// reference tensor names to our hook names; shared by tests/core/lm/hf-parity.test.ts and bench/parity.ts.
import { join } from 'node:path';
import type { ModelConfig } from '../../src/core/lm/model-config';
import { ALL_ARCHITECTURES, archFixture, PDLM_DIR, PDLM_REFERENCE } from './fixtures';

/**
 * Which of our hooks each reference tensor corresponds to. HF's hidden_states[i] is the input of block i
 * (its last entry has the final norm applied); Gemma 2's module outputs precede its post-norms.
 */
export function referenceToHook(ref: string, cfg: ModelConfig): string {
  if (ref === 'logits') return ref;
  const hs = /^hidden_states\.(\d+)$/.exec(ref);
  if (hs) {
    const i = Number(hs[1]);
    return i === cfg.nLayers ? 'ln_final.hook_normalized' : `blocks.${i}.hook_resid_pre`;
  }
  const mod = /^hf\..*\.(\d+)\.(attn|self_attn|attention|mlp)$/.exec(ref);
  if (!mod) throw new Error(`unexpected reference tensor ${ref}`);
  const [, layer, kind] = mod;
  const isMlp = kind === 'mlp';
  if (cfg.postNorms) return `blocks.${layer}.${isMlp ? 'ln2_post' : 'ln1_post'}.hook_in`;
  return `blocks.${layer}.${isMlp ? 'hook_mlp_out' : 'hook_attn_out'}`;
}

export const PARITY_CASES = [
  ...ALL_ARCHITECTURES.map((arch) => ({
    name: arch,
    dir: archFixture(arch),
    reference: join(archFixture(arch), 'reference.safetensors'),
  })),
  { name: 'pdlm-4l-256', dir: PDLM_DIR, reference: join(PDLM_REFERENCE, 'reference.safetensors') },
];

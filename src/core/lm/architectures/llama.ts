// Llama (LlamaForCausalLM, also Mistral-style checkpoints without sliding windows): RMSNorm, RoPE incl.
// Llama-3.1 scaling, grouped-query attention, SwiGLU MLP.
import { loadLlamaStyleParams, parseLlamaStyleConfig } from './llama-family';
import type { Architecture } from './architecture';

export const llama: Architecture = {
  name: 'llama',
  modelTypes: ['llama'],
  parseConfig: (cfg) => parseLlamaStyleConfig(cfg, { architecture: 'llama' }),
  loadParams: (src, cfg) => loadLlamaStyleParams(src, cfg, { gemmaNorms: false, normWeightOffset: 0 }),
};

// Qwen3 (Qwen3ForCausalLM): Llama layout with RMSNorm on each query and key head (q_norm, k_norm) before RoPE,
// and a head_dim that need not equal hidden_size / num_attention_heads.
import { loadLlamaStyleParams, parseLlamaStyleConfig, slidingWindowsFromLayerTypes } from './llama-family';
import type { Architecture } from './architecture';

export const qwen3: Architecture = {
  name: 'qwen3',
  modelTypes: ['qwen3'],
  parseConfig(cfg) {
    const base = parseLlamaStyleConfig(cfg, { architecture: 'qwen3', qkNorm: true });
    const window = cfg.bool('use_sliding_window', false) ? cfg.int('sliding_window') : null;
    const maxWindowLayers = cfg.int('max_window_layers', base.nLayers);
    const slidingWindows = slidingWindowsFromLayerTypes(cfg, base.nLayers, window, (i) => i >= maxWindowLayers);
    return { ...base, slidingWindows: window === null ? slidingWindows.map(() => null) : slidingWindows };
  },
  loadParams: (src, cfg) => loadLlamaStyleParams(src, cfg, { gemmaNorms: false, normWeightOffset: 0 }),
};

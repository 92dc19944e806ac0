// Qwen2 (Qwen2ForCausalLM): Llama layout with biases on q/k/v and optional sliding windows on upper layers.
import { loadLlamaStyleParams, parseLlamaStyleConfig, slidingWindowsFromLayerTypes } from './llama-family';
import type { Architecture } from './architecture';

export const qwen2: Architecture = {
  name: 'qwen2',
  modelTypes: ['qwen2'],
  parseConfig(cfg) {
    const base = parseLlamaStyleConfig(cfg, { architecture: 'qwen2' });
    const window = cfg.bool('use_sliding_window', false) ? cfg.int('sliding_window') : null;
    // transformers 4: layers at index >= max_window_layers use the sliding window.
    const maxWindowLayers = cfg.int('max_window_layers', base.nLayers);
    const slidingWindows = slidingWindowsFromLayerTypes(cfg, base.nLayers, window, (i) => i >= maxWindowLayers);
    return { ...base, slidingWindows: window === null ? slidingWindows.map(() => null) : slidingWindows };
  },
  loadParams: (src, cfg) => loadLlamaStyleParams(src, cfg, { gemmaNorms: false, normWeightOffset: 0 }),
};

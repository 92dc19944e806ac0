// Gemma 2 (Gemma2ForCausalLM): (1 + w) RMSNorm, embeddings scaled by sqrt(d_model), post-attention and
// post-feedforward norms, attention and final logit soft-capping, sliding windows on alternate layers.
import {
  loadLlamaStyleParams,
  parseActivation,
  parseLlamaStyleConfig,
  slidingWindowsFromLayerTypes,
} from './llama-family';
import type { Architecture } from './architecture';

export const gemma2: Architecture = {
  name: 'gemma2',
  modelTypes: ['gemma2'],
  parseConfig(cfg) {
    const base = parseLlamaStyleConfig(cfg, {
      architecture: 'gemma2',
      tiedEmbeddings: cfg.bool('tie_word_embeddings', true),
    });
    const window = cfg.has('sliding_window') ? cfg.int('sliding_window') : null;
    return {
      ...base,
      actFn: parseActivation(
        cfg,
        cfg.has('hidden_activation') ? 'hidden_activation' : 'hidden_act',
        'gelu_pytorch_tanh',
      ),
      postNorms: true,
      attnScale: 1 / Math.sqrt(cfg.number('query_pre_attn_scalar', base.dHead)),
      attnSoftcap: cfg.optionalNumber('attn_logit_softcapping'),
      finalSoftcap: cfg.optionalNumber('final_logit_softcapping'),
      // transformers 4: even-numbered layers use the sliding window.
      slidingWindows: slidingWindowsFromLayerTypes(cfg, base.nLayers, window, (i) => i % 2 === 0),
      embedScale: Math.fround(Math.sqrt(base.dModel)),
    };
  },
  loadParams: (src, cfg) => loadLlamaStyleParams(src, cfg, { gemmaNorms: true, normWeightOffset: 1 }),
};

// Shared reading of the Llama-style layout (model.embed_tokens, model.layers.N.self_attn.{q,k,v,o}_proj,
// mlp.{gate,up,down}_proj, RMSNorm, RoPE) used by Llama, Qwen2, Qwen3 and Gemma 2.
import { InputError } from '../../errors';
import type { HfConfig } from '../hf-config';
import type { ActivationName, ModelConfig } from '../model-config';
import type { AttentionParams, HostTensor, ModelParams } from '../params';
import { addScalar, linearWeight, transpose2d, type WeightSource } from '../weight-source';
import { normParams, optional } from './architecture';

const ACTIVATIONS: Record<string, ActivationName> = {
  silu: 'silu',
  swish: 'silu',
  gelu: 'gelu',
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new',
  relu: 'relu',
};

export function parseActivation(cfg: HfConfig, field: string, fallback: string): ActivationName {
  const name = cfg.string(field, fallback);
  const act = ACTIVATIONS[name];
  if (!act)
    throw new InputError(
      `${cfg.file}: field '${field}' is "${name}", expected one of ${Object.keys(ACTIVATIONS).join(', ')}`,
    );
  return act;
}

/** The fields every Llama-style config shares; each architecture overrides what differs. */
export function parseLlamaStyleConfig(
  cfg: HfConfig,
  overrides: Partial<ModelConfig> & Pick<ModelConfig, 'architecture'>,
): ModelConfig {
  const dModel = cfg.int('hidden_size');
  const nHeads = cfg.int('num_attention_heads');
  const nKvHeads = cfg.int('num_key_value_heads', nHeads);
  if (nHeads % nKvHeads !== 0) {
    throw new InputError(
      `${cfg.file}: num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`,
    );
  }
  if (!cfg.has('head_dim') && dModel % nHeads !== 0) {
    throw new InputError(
      `${cfg.file}: hidden_size ${dModel} is not divisible by num_attention_heads ${nHeads} and head_dim is not given`,
    );
  }
  const dHead = cfg.int('head_dim', dModel / nHeads);
  const nLayers = cfg.int('num_hidden_layers');
  return {
    modelType: cfg.string('model_type'),
    nLayers,
    dModel,
    nHeads,
    nKvHeads,
    dHead,
    dMlp: cfg.int('intermediate_size'),
    dVocab: cfg.int('vocab_size'),
    nCtx: cfg.int('max_position_embeddings'),
    normType: 'rmsnorm',
    normEps: cfg.positiveNumber('rms_norm_eps', 1e-6),
    actFn: parseActivation(cfg, 'hidden_act', 'silu'),
    gatedMlp: true,
    rotary: { dim: dHead, theta: cfg.ropeTheta(), scaling: cfg.ropeScaling() },
    qkNorm: false,
    parallelResidual: false,
    postNorms: false,
    attnScale: 1 / Math.sqrt(dHead),
    attnSoftcap: null,
    finalSoftcap: null,
    slidingWindows: new Array<null>(nLayers).fill(null),
    embedScale: null,
    tiedEmbeddings: cfg.bool('tie_word_embeddings', false),
    bosTokenId: cfg.tokenId('bos_token_id'),
    eosTokenId: cfg.tokenId('eos_token_id'),
    ...overrides,
  };
}

/**
 * Per-layer sliding windows from `layer_types` (transformers 5) or, when absent, from `fallback(layer)`.
 * Returns null entries for full-attention layers.
 */
export function slidingWindowsFromLayerTypes(
  cfg: HfConfig,
  nLayers: number,
  window: number | null,
  fallback: (layer: number) => boolean,
): (number | null)[] {
  const types = cfg.raw.layer_types;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.length !== nLayers) {
      throw new InputError(`${cfg.file}: field 'layer_types' must list one entry per layer (${nLayers})`);
    }
    return types.map((t, i) => {
      if (t === 'full_attention') return null;
      if (t === 'sliding_attention') {
        if (window === null)
          throw new InputError(`${cfg.file}: layer ${i} is sliding_attention but 'sliding_window' is not set`);
        return window;
      }
      throw new InputError(
        `${cfg.file}: layer_types[${i}] is "${String(t)}", expected full_attention or sliding_attention`,
      );
    });
  }
  return Array.from({ length: nLayers }, (_, i) => (window !== null && fallback(i) ? window : null));
}

export interface LlamaStyleLayout {
  /** Gemma 2: post_attention_layernorm is a post-norm and pre_feedforward_layernorm is ln2. */
  gemmaNorms: boolean;
  /** Add 1 to every norm weight (Gemma stores w and multiplies by 1 + w). */
  normWeightOffset: number;
}

export function loadLlamaStyleParams(
  src: WeightSource,
  cfg: ModelConfig,
  layout: LlamaStyleLayout,
): ModelParams<HostTensor> {
  const d = cfg.dModel;
  const qDim = cfg.nHeads * cfg.dHead;
  const kvDim = cfg.nKvHeads * cfg.dHead;
  const norm = (name: string, dim = d) => {
    const n = normParams(src, name, dim, false);
    return layout.normWeightOffset ? { w: addScalar(n.w, layout.normWeightOffset), b: null } : n;
  };
  const W_E = src.get('model.embed_tokens.weight', [cfg.dVocab, d]);
  const blocks = Array.from({ length: cfg.nLayers }, (_, i) => {
    const p = `model.layers.${i}`;
    const attn: AttentionParams<HostTensor> = {
      W_Q: linearWeight(src, `${p}.self_attn.q_proj.weight`, d, qDim),
      W_K: linearWeight(src, `${p}.self_attn.k_proj.weight`, d, kvDim),
      W_V: linearWeight(src, `${p}.self_attn.v_proj.weight`, d, kvDim),
      W_O: linearWeight(src, `${p}.self_attn.o_proj.weight`, qDim, d),
      b_Q: optional(src, `${p}.self_attn.q_proj.bias`, [qDim]),
      b_K: optional(src, `${p}.self_attn.k_proj.bias`, [kvDim]),
      b_V: optional(src, `${p}.self_attn.v_proj.bias`, [kvDim]),
      b_O: optional(src, `${p}.self_attn.o_proj.bias`, [d]),
      qNorm: cfg.qkNorm ? norm(`${p}.self_attn.q_norm`, cfg.dHead) : null,
      kNorm: cfg.qkNorm ? norm(`${p}.self_attn.k_norm`, cfg.dHead) : null,
    };
    return {
      ln1: norm(`${p}.input_layernorm`),
      ln2: layout.gemmaNorms ? norm(`${p}.pre_feedforward_layernorm`) : norm(`${p}.post_attention_layernorm`),
      ln1Post: layout.gemmaNorms ? norm(`${p}.post_attention_layernorm`) : null,
      ln2Post: layout.gemmaNorms ? norm(`${p}.post_feedforward_layernorm`) : null,
      attn,
      mlp: {
        W_in: linearWeight(src, `${p}.mlp.up_proj.weight`, d, cfg.dMlp),
        b_in: optional(src, `${p}.mlp.up_proj.bias`, [cfg.dMlp]),
        W_gate: linearWeight(src, `${p}.mlp.gate_proj.weight`, d, cfg.dMlp),
        W_out: linearWeight(src, `${p}.mlp.down_proj.weight`, cfg.dMlp, d),
        b_out: optional(src, `${p}.mlp.down_proj.bias`, [d]),
      },
    };
  });
  const untied = !cfg.tiedEmbeddings && src.has('lm_head.weight');
  if (!cfg.tiedEmbeddings && !untied) {
    throw new InputError(`${src.dir}: tie_word_embeddings is false but weight 'lm_head.weight' is missing`);
  }
  return {
    W_E,
    W_pos: null,
    blocks,
    lnFinal: norm('model.norm'),
    W_U: transpose2d(untied ? src.get('lm_head.weight', [cfg.dVocab, d]) : W_E),
    b_U: null,
  };
}

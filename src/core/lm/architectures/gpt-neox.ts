// GPT-NeoX (GPTNeoXForCausalLM, Pythia): LayerNorm, fused per-head-interleaved qkv, rotary embeddings on a
// fraction of each head, parallel residual (x + attn(ln1(x)) + mlp(ln2(x))), untied unembedding.
import { InputError } from '../../errors';
import type { HostTensor } from '../params';
import { linearWeight, transpose2d, type WeightSource } from '../weight-source';
import { parseActivation } from './llama-family';
import { normParams, type Architecture } from './architecture';

export const gptNeox: Architecture = {
  name: 'gpt_neox',
  modelTypes: ['gpt_neox'],
  parseConfig(cfg) {
    const dModel = cfg.int('hidden_size');
    const nHeads = cfg.int('num_attention_heads');
    if (dModel % nHeads !== 0)
      throw new InputError(`${cfg.file}: hidden_size ${dModel} is not divisible by num_attention_heads ${nHeads}`);
    const dHead = dModel / nHeads;
    const nLayers = cfg.int('num_hidden_layers');
    const rotaryDim = Math.floor(dHead * cfg.partialRotaryFactor('rotary_pct'));
    if (rotaryDim % 2 !== 0) throw new InputError(`${cfg.file}: rotary dimension ${rotaryDim} must be even`);
    return {
      architecture: 'gpt_neox',
      modelType: 'gpt_neox',
      nLayers,
      dModel,
      nHeads,
      nKvHeads: nHeads,
      dHead,
      dMlp: cfg.int('intermediate_size'),
      dVocab: cfg.int('vocab_size'),
      nCtx: cfg.int('max_position_embeddings'),
      normType: 'layernorm',
      normEps: cfg.positiveNumber('layer_norm_eps', 1e-5),
      actFn: parseActivation(cfg, 'hidden_act', 'gelu'),
      gatedMlp: false,
      rotary: { dim: rotaryDim, theta: cfg.ropeTheta('rotary_emb_base'), scaling: cfg.ropeScaling() },
      qkNorm: false,
      parallelResidual: cfg.bool('use_parallel_residual', true),
      postNorms: false,
      attnScale: 1 / Math.sqrt(dHead),
      attnSoftcap: null,
      finalSoftcap: null,
      slidingWindows: new Array<null>(nLayers).fill(null),
      embedScale: null,
      tiedEmbeddings: cfg.bool('tie_word_embeddings', false),
      bosTokenId: cfg.tokenId('bos_token_id'),
      eosTokenId: cfg.tokenId('eos_token_id'),
    };
  },
  loadParams(src, cfg) {
    const d = cfg.dModel;
    const W_E = src.get('gpt_neox.embed_in.weight', [cfg.dVocab, d]);
    const blocks = Array.from({ length: cfg.nLayers }, (_, i) => {
      const p = `gpt_neox.layers.${i}`;
      const qkv = splitInterleavedQkv(src, `${p}.attention.query_key_value`, cfg.nHeads, cfg.dHead, d);
      return {
        ln1: normParams(src, `${p}.input_layernorm`, d, true),
        ln2: normParams(src, `${p}.post_attention_layernorm`, d, true),
        ln1Post: null,
        ln2Post: null,
        attn: {
          ...qkv,
          W_O: linearWeight(src, `${p}.attention.dense.weight`, d, d),
          b_O: src.has(`${p}.attention.dense.bias`) ? src.get(`${p}.attention.dense.bias`, [d]) : null,
          qNorm: null,
          kNorm: null,
        },
        mlp: {
          W_in: linearWeight(src, `${p}.mlp.dense_h_to_4h.weight`, d, cfg.dMlp),
          b_in: src.get(`${p}.mlp.dense_h_to_4h.bias`, [cfg.dMlp]),
          W_gate: null,
          W_out: linearWeight(src, `${p}.mlp.dense_4h_to_h.weight`, cfg.dMlp, d),
          b_out: src.get(`${p}.mlp.dense_4h_to_h.bias`, [d]),
        },
      };
    });
    const head = cfg.tiedEmbeddings ? W_E : src.get('embed_out.weight', [cfg.dVocab, d]);
    return {
      W_E,
      W_pos: null,
      blocks,
      lnFinal: normParams(src, 'gpt_neox.final_layer_norm', d, true),
      W_U: transpose2d(head),
      b_U: null,
    };
  },
};

/** query_key_value rows are grouped per head as [q_h, k_h, v_h] (each d_head rows). */
function splitInterleavedQkv(src: WeightSource, prefix: string, nHeads: number, dHead: number, d: number) {
  const W = transpose2d(src.get(`${prefix}.weight`, [3 * d, d])); // [d, 3d], columns grouped per head
  const bias = src.has(`${prefix}.bias`) ? src.get(`${prefix}.bias`, [3 * d]) : null;
  const pick = (which: number): { W: HostTensor; b: HostTensor | null } => {
    const out = new Float32Array(d * d);
    const b = bias ? new Float32Array(d) : null;
    for (let h = 0; h < nHeads; h++) {
      const srcCol = h * 3 * dHead + which * dHead;
      for (let r = 0; r < d; r++) {
        out.set(W.data.subarray(r * 3 * d + srcCol, r * 3 * d + srcCol + dHead), r * d + h * dHead);
      }
      if (b && bias) b.set(bias.data.subarray(srcCol, srcCol + dHead), h * dHead);
    }
    return { W: { data: out, shape: [d, d] }, b: b && { data: b, shape: [d] } };
  };
  const q = pick(0);
  const k = pick(1);
  const v = pick(2);
  return { W_Q: q.W, W_K: k.W, W_V: v.W, b_Q: q.b, b_K: k.b, b_V: v.b };
}

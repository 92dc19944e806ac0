// GPT-2 (GPT2LMHeadModel): learned positions, LayerNorm, fused Conv1D qkv stored [in, out], gelu_new MLP.
import { InputError } from '../../errors';
import type { ActivationName } from '../model-config';
import { sliceColumns, sliceVector, transpose2d } from '../weight-source';
import { normParams, type Architecture } from './architecture';

const ACTIVATIONS: Record<string, ActivationName> = {
  gelu_new: 'gelu_new',
  gelu: 'gelu',
  relu: 'relu',
  gelu_pytorch_tanh: 'gelu_new',
};

export const gpt2: Architecture = {
  name: 'gpt2',
  modelTypes: ['gpt2'],
  parseConfig(cfg) {
    const dModel = cfg.int('n_embd');
    const nHeads = cfg.int('n_head');
    if (dModel % nHeads !== 0)
      throw new InputError(`${cfg.file}: n_embd ${dModel} is not divisible by n_head ${nHeads}`);
    const act = cfg.string('activation_function', 'gelu_new');
    const actFn = ACTIVATIONS[act];
    if (!actFn)
      throw new InputError(
        `${cfg.file}: field 'activation_function' is "${act}", expected one of ${Object.keys(ACTIVATIONS).join(', ')}`,
      );
    if (cfg.bool('scale_attn_by_inverse_layer_idx', false) || cfg.bool('reorder_and_upcast_attn', false)) {
      throw new InputError(`${cfg.file}: scale_attn_by_inverse_layer_idx / reorder_and_upcast_attn are not supported`);
    }
    const nLayers = cfg.int('n_layer');
    const dHead = dModel / nHeads;
    return {
      architecture: 'gpt2',
      modelType: 'gpt2',
      nLayers,
      dModel,
      nHeads,
      nKvHeads: nHeads,
      dHead,
      dMlp: cfg.int('n_inner', 4 * dModel),
      dVocab: cfg.int('vocab_size'),
      nCtx: cfg.int('n_positions'),
      normType: 'layernorm',
      normEps: cfg.positiveNumber('layer_norm_epsilon', 1e-5),
      actFn,
      gatedMlp: false,
      rotary: null,
      qkNorm: false,
      parallelResidual: false,
      postNorms: false,
      attnScale: cfg.bool('scale_attn_weights', true) ? 1 / Math.sqrt(dHead) : 1,
      attnSoftcap: null,
      finalSoftcap: null,
      slidingWindows: new Array<null>(nLayers).fill(null),
      embedScale: null,
      tiedEmbeddings: cfg.bool('tie_word_embeddings', true),
      bosTokenId: cfg.tokenId('bos_token_id'),
      eosTokenId: cfg.tokenId('eos_token_id'),
    };
  },
  loadParams(src, cfg) {
    const d = cfg.dModel;
    const prefix = src.has('transformer.wte.weight') ? 'transformer.' : '';
    const W_E = src.get(`${prefix}wte.weight`, [cfg.dVocab, d]);
    const blocks = Array.from({ length: cfg.nLayers }, (_, i) => {
      const p = `${prefix}h.${i}`;
      const qkv = src.get(`${p}.attn.c_attn.weight`, [d, 3 * d]); // Conv1D: [in, out]
      const qkvBias = src.get(`${p}.attn.c_attn.bias`, [3 * d]);
      return {
        ln1: normParams(src, `${p}.ln_1`, d, true),
        ln2: normParams(src, `${p}.ln_2`, d, true),
        ln1Post: null,
        ln2Post: null,
        attn: {
          W_Q: sliceColumns(qkv, 0, d),
          W_K: sliceColumns(qkv, d, d),
          W_V: sliceColumns(qkv, 2 * d, d),
          W_O: src.get(`${p}.attn.c_proj.weight`, [d, d]),
          b_Q: sliceVector(qkvBias, 0, d),
          b_K: sliceVector(qkvBias, d, d),
          b_V: sliceVector(qkvBias, 2 * d, d),
          b_O: src.get(`${p}.attn.c_proj.bias`, [d]),
          qNorm: null,
          kNorm: null,
        },
        mlp: {
          W_in: src.get(`${p}.mlp.c_fc.weight`, [d, cfg.dMlp]),
          b_in: src.get(`${p}.mlp.c_fc.bias`, [cfg.dMlp]),
          W_gate: null,
          W_out: src.get(`${p}.mlp.c_proj.weight`, [cfg.dMlp, d]),
          b_out: src.get(`${p}.mlp.c_proj.bias`, [d]),
        },
      };
    });
    const untied = !cfg.tiedEmbeddings && src.has('lm_head.weight');
    return {
      W_E,
      W_pos: src.get(`${prefix}wpe.weight`, [cfg.nCtx, d]),
      blocks,
      lnFinal: normParams(src, `${prefix}ln_f`, d, true),
      W_U: untied ? transpose2d(src.get('lm_head.weight', [cfg.dVocab, d])) : transpose2d(W_E),
      b_U: null,
    };
  },
};

// The `sae` kind in the registry: an SAE (hook_point_in = hook_point_out) or a per-layer transcoder. Its training,
// sparse kernels and file formats live in src/core/sae (the first kind SAE Studio had); this adapter gives the
// rest of the app the same view of it as of the other kinds, and its float64 reference.
//
// Conventions that differ from the other kinds (see sae/formats/lm-saes.ts): our JumpReLU gates pre > θ (the file
// holds lm-saes's θ of the gated score, converted on load and save), apply_decoder_bias_to_pre_encoder subtracts
// b_D before encoding, and BatchTopK applies its learned threshold outside training.
import * as tf from '@tensorflow/tfjs-core';
import { SaeConfigSchema, type SaeConfig } from '../../../protocol/dictionary-config';
import { InitConfigSchema } from '../../../protocol/run-config';
import { InputError } from '../../errors';
import { batchTopK, jumpRelu, thresholdActivation, topK } from '../../sae/activation-functions';
import { foldActivationNorm } from '../../sae/formats/fold-normalization';
import { configJson, translateConfig } from '../../sae/formats/lm-saes';
import { hostParam } from '../../sae/host-tensor';
import { randomSaeParams } from '../../sae/init/initialize';
import { saeBufferShapes, saeParamShapes } from '../../sae/variants/sae';
import { decoderNormGate, explainedVariancePerAxis, f64, l0PerAxis, matmul, rowNorms64 } from '../host64';
import type { DictionaryKind, HostForward, KindTf } from '../kind';
import { DICTIONARY_KIND_TEXTS } from '../../../protocol/dictionary-kinds';

const saeTf: KindTf<SaeConfig> = {
  forward(cfg, params, x, opts) {
    return tf.tidy(() => {
      const [N] = x.shape;
      const x2 = tf.reshape(x, [N, cfg.d_model]) as tf.Tensor2D;
      const W_E = params.W_E as tf.Tensor2D;
      const W_D = params.W_D as tf.Tensor2D;
      const b_D = params.b_D as tf.Tensor1D | undefined;
      const xin = cfg.apply_decoder_bias_to_pre_encoder && b_D ? tf.sub(x2, b_D) : x2;
      const pre = tf.add(tf.matMul(xin, W_E), params.b_E!) as tf.Tensor2D;
      const norms = cfg.sparsity_include_decoder_norm
        ? (saeTf.gateNorms(cfg, params).reshape([-1]) as tf.Tensor1D)
        : null;
      const k = opts.k ?? cfg.top_k;
      let acts: tf.Tensor2D;
      switch (cfg.act_fn) {
        case 'relu':
          acts = tf.relu(pre);
          break;
        case 'jumprelu':
          acts = jumpRelu(pre, params.log_jumprelu_threshold as tf.Tensor1D, cfg.jumprelu_threshold_window);
          break;
        case 'topk':
          acts = topK(pre, k, norms).acts;
          break;
        case 'batchtopk':
          acts = opts.training
            ? batchTopK(pre, k, norms).acts
            : thresholdActivation(pre, (params.batchtopk_threshold!.dataSync() as Float32Array)[0]!, norms);
          break;
      }
      let recon = tf.matMul(acts, W_D);
      if (b_D) recon = tf.add(recon, b_D);
      return {
        featureActs: tf.reshape(acts, [N, 1, cfg.d_sae]) as tf.Tensor3D,
        hiddenPre: tf.reshape(pre, [N, 1, cfg.d_sae]) as tf.Tensor3D,
        recon: tf.reshape(recon, [N, 1, cfg.d_model]) as tf.Tensor3D,
      };
    });
  },
  gateNorms(cfg, params) {
    return tf.tidy(() => tf.reshape(tf.sqrt(tf.sum(tf.square(params.W_D!), 1)), [1, cfg.d_sae]) as tf.Tensor2D);
  },
};

export const saeKind: DictionaryKind<SaeConfig> = {
  saeType: 'sae',
  label: DICTIONARY_KIND_TEXTS.sae.label,
  description: DICTIONARY_KIND_TEXTS.sae.description,
  schema: SaeConfigSchema,
  configJson,
  translateLmSaesConfig: (raw, file) => translateConfig(raw, file).input,
  hooksIn: (cfg) => [cfg.hook_point_in],
  hooksOut: (cfg) => [cfg.hook_point_out],
  featureAxes: () => 1,
  needsSequences: false,
  stateShapes: (cfg) => ({ ...saeParamShapes(cfg), ...saeBufferShapes(cfg) }),
  trainable: (cfg) => Object.keys(saeParamShapes(cfg)),
  buffers: () => ({}),
  init(cfg, seed) {
    return randomSaeParams(cfg, InitConfigSchema.parse({}), 1, seed);
  },
  gateNorms(cfg, params) {
    return rowNorms64(hostParam(params, 'W_D').data, cfg.d_sae, cfg.d_model);
  },
  reference(cfg, params, input, opts = {}): HostForward {
    const { d_model: d, d_sae: F } = cfg;
    const N = input.B * input.S;
    const b_D = params.b_D ? f64(params, 'b_D') : null;
    const x = Float64Array.from(input.x);
    if (cfg.apply_decoder_bias_to_pre_encoder && b_D) for (let i = 0; i < x.length; i++) x[i]! -= b_D[i % d]!;
    const pre = matmul(x, f64(params, 'W_E'), N, d, F);
    const b_E = f64(params, 'b_E');
    for (let i = 0; i < pre.length; i++) pre[i]! += b_E[i % F]!;
    const n = cfg.sparsity_include_decoder_norm ? this.gateNorms(cfg, params) : null;
    const perEntry = n ? Float64Array.from(pre, (_, e) => n[e % F]!) : null;
    let f: Float64Array;
    const rows = { count: N, size: F, index: (g: number, j: number) => g * F + j };
    switch (cfg.act_fn) {
      case 'relu':
        f = pre.map((v) => Math.max(v, 0));
        break;
      case 'jumprelu': {
        const log = f64(params, 'log_jumprelu_threshold');
        f = pre.map((v, e) => (v > Math.exp(log[e % F]!) ? v : 0));
        break;
      }
      case 'topk':
        f = decoderNormGate(pre, perEntry, 'topk', rows, { k: opts.k ?? cfg.top_k });
        break;
      case 'batchtopk': {
        const threshold = hostParam(params, 'batchtopk_threshold').data[0]!;
        f = pre.map((v, e) => (v * (perEntry ? perEntry[e]! : 1) > threshold ? Math.max(v, 0) : 0));
        break;
      }
    }
    const recon = matmul(f, f64(params, 'W_D'), N, F, d);
    if (b_D) for (let i = 0; i < recon.length; i++) recon[i]! += b_D[i % d]!;
    return { featureActs: f, hiddenPre: pre, recon };
  },
  fold(cfg, params) {
    const folded = foldActivationNorm(cfg, params);
    return { ...folded, warnings: [] };
  },
  metrics(cfg, _params, fwd, y, tokens) {
    const [ev] = explainedVariancePerAxis(fwd.recon, y, tokens, 1, cfg.d_model);
    const [l0] = l0PerAxis(fwd.featureActs, tokens, 1, cfg.d_sae);
    return { 'metrics/explained_variance': ev!, 'metrics/l0': l0! };
  },
  tf: saeTf,
};

/** Thrown for a sae_type this build does not know, naming the file. */
export function unknownKind(saeType: string, file: string, known: readonly string[]): InputError {
  return new InputError(
    `${file}: field 'sae_type': '${saeType}' is not a dictionary kind (expected one of ${known.join(', ')})`,
  );
}

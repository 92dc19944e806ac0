// The `sae` variant: a sparse autoencoder (hook_point_in = hook_point_out) or a transcoder (they differ).
// pre = (x − b_D) W_E + b_E (b_D subtracted only when apply_decoder_bias_to_pre_encoder);
// z = σ(pre); x̂ = z W_D + b_D, with σ one of relu, jumprelu, topk, batchtopk.
import * as tf from '@tensorflow/tfjs-core';
import type { SaeConfig } from '../../../protocol/dictionary-config';
import { batchTopK, jumpRelu, thresholdActivation, topK } from '../activation-functions';
import type { HostParams } from '../host-tensor';
import type { DictionaryForward, ForwardOptions, SparseDictionary } from '../sparse-dictionary';
import { sparseTopK } from '../sparse/sparse-topk';
import { checkWebGpuBinding } from '../../tensor/webgpu-guard';

/** Parameter names and shapes of an `sae` dictionary, lm-saes layout (W_E [d_in, d_sae], W_D [d_sae, d_out]). */
export function saeParamShapes(cfg: SaeConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {
    W_E: [cfg.d_model, cfg.d_sae],
    b_E: [cfg.d_sae],
    W_D: [cfg.d_sae, cfg.d_model],
  };
  if (cfg.use_decoder_bias) shapes.b_D = [cfg.d_model];
  if (cfg.act_fn === 'jumprelu') shapes.log_jumprelu_threshold = [cfg.d_sae];
  return shapes;
}

export function saeBufferShapes(cfg: SaeConfig): Record<string, number[]> {
  return cfg.act_fn === 'batchtopk' ? { batchtopk_threshold: [] } : {};
}

let uid = 0;

export class Sae implements SparseDictionary {
  readonly params: Record<string, tf.Variable>;
  /** Host copies: read every forward pass (BatchTopK threshold), so never a GPU read-back. */
  readonly buffers: HostParams;

  constructor(
    readonly cfg: SaeConfig,
    host: HostParams,
  ) {
    const check = (shapes: Record<string, number[]>) =>
      Object.entries(shapes).map(([name, shape]) => {
        const t = host[name];
        if (!t) throw new Error(`sae: missing parameter '${name}'`);
        if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`sae: parameter '${name}' has shape [${t.shape}], expected [${shape}]`);
        }
        return [name, t] as const;
      });
    const params = check(saeParamShapes(cfg));
    // On webgpu a parameter past the device's binding limit would make every shader reading it fail: refused here.
    for (const [n, t] of params) checkWebGpuBinding(`dictionary parameter '${n}'`, t.shape);
    // tf.variable shares the initial tensor's data and leaves that tensor alive: it is disposed once wrapped.
    this.params = Object.fromEntries(
      params.map(([n, t]) => {
        const init = tf.tensor(t.data, t.shape);
        const v = tf.variable(init, true, `sae.${n}.${uid++}`);
        init.dispose();
        return [n, v];
      }),
    );
    this.buffers = Object.fromEntries(
      check(saeBufferShapes(cfg)).map(([n, t]) => [n, { data: Float32Array.from(t.data), shape: [...t.shape] }]),
    );
  }

  /** The weights by role: W_E [d_in, d_sae], b_E [d_sae], W_D [d_sae, d_out], and b_D [d_out] when the config has one. */
  weights(): { W_E: tf.Tensor2D; b_E: tf.Tensor1D; W_D: tf.Tensor2D; b_D: tf.Tensor1D | null } {
    const b_D = this.params.b_D;
    return {
      W_E: this.param('W_E') as tf.Tensor2D,
      b_E: this.param('b_E') as tf.Tensor1D,
      W_D: this.param('W_D') as tf.Tensor2D,
      b_D: b_D ? (b_D as tf.Tensor1D) : null,
    };
  }

  /** The constructor made every parameter saeParamShapes lists, so a missing one here is a broken invariant. */
  private param(name: string): tf.Variable {
    const p = this.params[name];
    if (!p) throw new Error(`sae: no parameter '${name}'`);
    return p;
  }

  decoderNorms(): tf.Tensor1D {
    const { W_D } = this.weights();
    return tf.tidy(() => tf.sqrt(tf.sum(tf.square(W_D), 1)) as tf.Tensor1D);
  }

  forward(x: tf.Tensor2D, opts: ForwardOptions = {}): DictionaryForward {
    const cfg = this.cfg;
    const { W_E, b_E, W_D, b_D } = this.weights();
    const batch = cfg.act_fn === 'batchtopk' && opts.training === true;
    if (opts.sparse && (cfg.act_fn === 'topk' || batch) && !cfg.sparsity_include_decoder_norm) {
      const out = sparseTopK(x, W_E, b_E, W_D, b_D, opts.k ?? cfg.top_k, cfg.apply_decoder_bias_to_pre_encoder, {
        batch,
        ...(batch && opts.selection ? { selection: opts.selection } : {}),
      });
      return {
        recon: out.recon,
        sparse: { values: out.values, indices: out.indices, fired: out.fired },
        ...(out.threshold ? { batchThreshold: out.threshold } : {}),
      };
    }
    const xin = cfg.apply_decoder_bias_to_pre_encoder && b_D ? tf.sub(x, b_D) : x;
    const pre = tf.add(tf.matMul(xin, W_E), b_E) as tf.Tensor2D; // [B, d_sae]
    const norms =
      cfg.sparsity_include_decoder_norm && (cfg.act_fn === 'topk' || cfg.act_fn === 'batchtopk')
        ? this.decoderNorms()
        : null;
    let acts: tf.Tensor2D;
    let indices: tf.Tensor2D | undefined;
    let batchThreshold: tf.Scalar | undefined;
    switch (cfg.act_fn) {
      case 'relu':
        acts = tf.relu(pre);
        break;
      case 'jumprelu':
        acts = jumpRelu(pre, this.param('log_jumprelu_threshold') as tf.Tensor1D, cfg.jumprelu_threshold_window);
        break;
      case 'topk':
        ({ acts, indices } = topK(pre, opts.k ?? cfg.top_k, norms));
        break;
      case 'batchtopk':
        if (opts.training) ({ acts, threshold: batchThreshold } = batchTopK(pre, opts.k ?? cfg.top_k, norms));
        else acts = thresholdActivation(pre, this.inferenceThreshold(), norms);
        break;
    }
    let recon = tf.matMul(acts, W_D) as tf.Tensor2D; // [B, d_out]
    if (b_D) recon = tf.add(recon, b_D);
    return { pre, acts, recon, indices, batchThreshold };
  }

  /** BatchTopK's inference threshold (a buffer the constructor checked present for batchtopk configs). */
  private inferenceThreshold(): number {
    const threshold = this.buffers.batchtopk_threshold?.data[0];
    if (threshold === undefined) throw new Error('sae: batchtopk without a batchtopk_threshold buffer');
    return threshold;
  }

  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
  }
}

// Lorsa's tensor forward pass (tfjs, float32), tested against the float64 reference of ./lorsa-math.ts on every
// backend. Gradients follow lm-saes's autograd: through the softmax pattern into W_Q/W_K/b_Q/b_K and the QK norm,
// through ‖W_O‖ in the decoder-norm gate, and lm-saes's JumpReLU straight-through estimator for log θ.
import * as tf from '@tensorflow/tfjs-core';
import type { LorsaConfig } from '../../../protocol/kind-configs/lorsa';
import { InputError } from '../../errors';
import { batchTopK, topK } from '../../sae/activation-functions';
import { lorsaRepeat } from './lorsa-math';
import type { KindTf, TfForward, TfForwardOptions } from '../kind';

const param = (params: Record<string, tf.Tensor>, name: string): tf.Tensor => {
  const t = params[name];
  if (!t) throw new Error(`Lorsa parameters: no tensor ${name} (has ${Object.keys(params).join(', ')})`);
  return t;
};

/**
 * lm-saes's STEFunction: value x·H(x − θ); d x = dy·H(x − θ); d θ = Σ dy·(−θ/ε) where |x − θ| < ε/2 and x > 0
 * (the rectangle kernel, Rajamanoharan et al. 2024, with lm-saes's extra x > 0 condition); d logθ = θ·dθ.
 */
function jumpReluLmSaes(x: tf.Tensor2D, logThreshold: tf.Tensor, window: number): tf.Tensor2D {
  const f = tf.customGrad(((p: tf.Tensor, lt: tf.Tensor, save: tf.GradSaveFunc) => {
    const theta = tf.exp(lt);
    const gate = tf.cast(tf.greater(p, theta), 'float32'); // [N, F]
    save([p, theta, gate]);
    return {
      value: tf.mul(p, gate),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ps, th, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const near = tf.logicalAnd(tf.less(tf.abs(tf.sub(ps, th)), window * 0.5), tf.greater(ps, 0));
        const dTheta = tf.sum(tf.mul(tf.mul(dy, tf.cast(near, 'float32')), tf.div(tf.neg(th), window)), 0); // [F]
        return [tf.mul(dy, g), tf.mul(dTheta, th)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x, logThreshold) as tf.Tensor2D;
}

/** q or k of all QK heads: [B, H, S, dRot] after the projection, RMSNorm, repeat_interleave and rotary. */
function projectQk(
  cfg: LorsaConfig,
  params: Record<string, tf.Tensor>,
  x: tf.Tensor2D,
  B: number,
  S: number,
  which: 'Q' | 'K',
): tf.Tensor4D {
  const { d_model: d, n_qk_heads: H, d_qk_head: dq } = cfg;
  const rs = lorsaRepeat(cfg);
  const N = B * S;
  const W = tf.reshape(tf.transpose(param(params, `W_${which}`), [1, 0, 2]), [d, H * dq]); // [d, H·dq]
  let h: tf.Tensor = tf.reshape(tf.add(tf.matMul(x, W), tf.reshape(param(params, `b_${which}`), [H * dq])), [N, H, dq]);
  if (cfg.use_post_qk_ln) {
    const scale = tf.sqrt(tf.add(tf.mean(tf.square(h), -1, true), cfg.eps)); // [N, H, 1]
    h = tf.mul(tf.div(h, scale), param(params, which === 'Q' ? 'ln_q.w' : 'ln_k.w'));
  }
  const dr = dq * rs;
  if (rs > 1) h = tf.reshape(tf.tile(tf.reshape(h, [N * H, dq, 1]), [1, 1, rs]), [N, H, dr]); // repeat_interleave
  if (cfg.positional_embedding_type === 'rotary') {
    const r = cfg.rotary_dim;
    const rot = r === dr ? h : tf.slice(h, [0, 0, 0], [N, H, r]); // [N, H, r]
    let flip: tf.Tensor;
    if (cfg.rotary_adjacent_pairs) {
      const pairs = tf.reshape(rot, [N * H, r / 2, 2]);
      const even = tf.slice(pairs, [0, 0, 0], [N * H, r / 2, 1]);
      const odd = tf.slice(pairs, [0, 0, 1], [N * H, r / 2, 1]);
      flip = tf.reshape(tf.concat([tf.neg(odd), even], 2), [N, H, r]); // (x0, x1) → (−x1, x0)
    } else {
      const first = tf.slice(rot, [0, 0, 0], [N, H, r / 2]);
      const second = tf.slice(rot, [0, 0, r / 2], [N, H, r / 2]);
      flip = tf.concat([tf.neg(second), first], 2);
    }
    const table = (name: string) => tf.reshape(tf.slice(param(params, name), [0, 0], [S, r]), [1, S, 1, r]);
    const rotated = tf.reshape(
      tf.add(
        tf.mul(tf.reshape(rot, [B, S, H, r]), table('rotary_cos')),
        tf.mul(tf.reshape(flip, [B, S, H, r]), table('rotary_sin')),
      ),
      [N, H, r],
    );
    h = r === dr ? rotated : tf.concat([rotated, tf.slice(h, [0, 0, r], [N, H, dr - r])], 2);
  }
  return tf.transpose(tf.reshape(h, [B, S, H, dr]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, H, S, dr]
}

function gateNorms(cfg: LorsaConfig, params: Record<string, tf.Tensor>): tf.Tensor2D {
  return tf.tidy(() => tf.reshape(tf.sqrt(tf.sum(tf.square(param(params, 'W_O')), 1)), [1, cfg.d_sae])); // [1, F]
}

function forward(
  cfg: LorsaConfig,
  params: Record<string, tf.Tensor>,
  x: tf.Tensor3D,
  opts: TfForwardOptions,
): TfForward {
  const { d_model: d, n_qk_heads: H, d_sae: F } = cfg;
  const [N] = x.shape;
  const S = opts.seqLen;
  if (!Number.isInteger(N / S) || S > cfg.n_ctx)
    throw new InputError(
      `Lorsa: field 'n_ctx': ${N} tokens are not whole sequences of ${S} ≤ n_ctx = ${cfg.n_ctx} positions`,
    );
  const B = N / S;
  const G = F / H;
  return tf.tidy(() => {
    const x2 = tf.reshape(x, [N, d]) as tf.Tensor2D;
    const q = projectQk(cfg, params, x2, B, S, 'Q');
    const kT = tf.transpose(projectQk(cfg, params, x2, B, S, 'K'), [0, 1, 3, 2]); // [B, H, dr, S]
    // The registered lower-triangular mask (1 on and below the diagonal) as an additive −1e9 above it.
    const causal = tf.mul(tf.sub(tf.slice(param(params, 'mask'), [0, 0], [S, S]), 1), 1e9); // [S, S]
    const scores = tf.add(tf.div(tf.matMul(q, kT), cfg.attn_scale), causal); // [B, H, S, S]
    const pattern = tf.softmax(scores);
    const v = tf.add(tf.matMul(x2, param(params, 'W_V'), false, true), param(params, 'b_V')); // [N, F]
    const vT = tf.transpose(tf.reshape(v, [B, S, H, G]), [0, 2, 1, 3]); // [B, H, S, G]
    const z = tf.reshape(tf.transpose(tf.matMul(pattern, vT), [0, 2, 1, 3]), [N, F]) as tf.Tensor2D; // hidden_pre
    const norms = cfg.sparsity_include_decoder_norm ? (tf.reshape(gateNorms(cfg, params), [F]) as tf.Tensor1D) : null;
    const k = opts.k ?? cfg.top_k;
    let f: tf.Tensor2D;
    if (cfg.act_fn === 'topk') f = topK(z, k, norms).acts;
    else if (cfg.act_fn === 'batchtopk')
      f = batchTopK(z, k, norms).acts; // lm-saes selects over the batch always
    else {
      const score = norms ? tf.mul(z, norms) : z; // [N, F]
      const act =
        cfg.act_fn === 'jumprelu'
          ? jumpReluLmSaes(
              score as tf.Tensor2D,
              param(params, 'activation_function.log_jumprelu_threshold'),
              cfg.jumprelu_threshold_window,
            )
          : tf.relu(score);
      f = (norms ? tf.div(act, norms) : act) as tf.Tensor2D;
    }
    let recon: tf.Tensor = tf.matMul(f, param(params, 'W_O')); // [N, d]
    if (cfg.use_decoder_bias) recon = tf.add(recon, param(params, 'b_D'));
    return {
      featureActs: tf.reshape(f, [N, 1, F]) as tf.Tensor3D,
      hiddenPre: tf.reshape(z, [N, 1, F]) as tf.Tensor3D,
      recon: tf.reshape(recon, [N, 1, d]) as tf.Tensor3D,
    };
  });
}

export const lorsaTf: KindTf<LorsaConfig> = { forward, gateNorms };

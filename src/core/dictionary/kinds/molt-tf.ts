// The MoLT tensor forward (float32, tfjs ops only), checked against the float64 reference in kinds/molt.ts.
// Gradients follow lm-saes's autograd: the gate norm n = ‖U_iV_i‖_F is differentiable (no detach), TopK and
// BatchTopK pass gradients straight through the kept entries (utils/math.py `topk`), JumpReLU uses lm-saes's
// STEFunction (the threshold learns from scores within half a window of it that are positive).
import * as tf from '@tensorflow/tfjs-core';
import type { MoltConfig } from '../../../protocol/kind-configs/molt';
import { moltRankBlocks } from '../../../protocol/kind-configs/molt';
import { scatterLastAxis } from '../../tensor/gradients';
import type { KindTf, TfForward, TfForwardOptions } from '../kind';

const JUMPRELU_KEY = 'activation_function.log_jumprelu_threshold';

function param(params: Record<string, tf.Tensor>, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`molt forward: missing parameter '${name}'`);
  return t;
}

/** n [1, F]: ‖U_iV_i‖_F² = Σ_ab (U_iᵀU_i)_ab (V_iV_iᵀ)_ab, ranks ascending. */
function gateNorms(cfg: MoltConfig, params: Record<string, tf.Tensor>): tf.Tensor2D {
  return tf.tidy(() => {
    const parts = moltRankBlocks(cfg).map(({ rank }) => {
      const U = param(params, `U_matrices.${rank}`) as tf.Tensor3D; // [c, d, r]
      const V = param(params, `V_matrices.${rank}`) as tf.Tensor3D; // [c, r, d]
      const gu = tf.matMul(U, U, true, false); // [c, r, r]
      const gv = tf.matMul(V, V, false, true); // [c, r, r]
      return tf.sqrt(tf.sum(tf.mul(gu, gv), [1, 2])); // [c]
    });
    return tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts), [1, cfg.d_sae]);
  });
}

/** Keeps the k largest entries of each row of relu(score) (straight-through for the kept ones). */
function keepTopK(score: tf.Tensor2D, k: number): tf.Tensor2D {
  const pos = tf.relu(score);
  const { values, indices } = tf.topk(pos, Math.min(k, score.shape[1]));
  return scatterLastAxis(values, indices, score.shape) as tf.Tensor2D;
}

/**
 * lm-saes STEFunction: value s·[s > θ]; d s = dy·[s > θ]; d θ = Σ_tokens dy·(−θ/w)·[|s − θ| < w/2 and s > 0];
 * d logθ = θ·dθ (θ = exp(logθ)).
 */
function jumpReluSte(score: tf.Tensor2D, logThreshold: tf.Tensor, window: number): tf.Tensor2D {
  const f = tf.customGrad(((s: tf.Tensor, lt: tf.Tensor, save: tf.GradSaveFunc) => {
    const theta = tf.exp(lt); // [F]
    const mask = tf.cast(tf.greater(s, theta), 'float32'); // [N, F]
    save([s, theta, mask]);
    return {
      value: tf.mul(s, mask),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ss, th, m] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const near = tf.logicalAnd(tf.less(tf.abs(tf.sub(ss, th)), window / 2), tf.greater(ss, 0));
        const dTheta = tf.sum(tf.mul(tf.mul(dy, tf.cast(near, 'float32')), tf.div(tf.neg(th), window)), 0); // [F]
        return [tf.mul(dy, m), tf.mul(dTheta, th)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(score, logThreshold) as tf.Tensor2D;
}

function forward(
  cfg: MoltConfig,
  params: Record<string, tf.Tensor>,
  x: tf.Tensor3D,
  opts: TfForwardOptions,
): TfForward {
  return tf.tidy(() => {
    const [N] = x.shape;
    const d = cfg.d_model;
    const F = cfg.d_sae;
    const k = opts.k ?? cfg.top_k;
    const x2 = tf.reshape(x, [N, d]); // [N, d]
    const h = tf.add(tf.matMul(x2, param(params, 'W_E') as tf.Tensor2D), param(params, 'b_E')) as tf.Tensor2D; // [N, F]
    const n = cfg.sparsity_include_decoder_norm ? gateNorms(cfg, params) : null; // [1, F]
    const score = n ? (tf.mul(h, n) as tf.Tensor2D) : h; // [N, F]
    let gated: tf.Tensor2D;
    if (cfg.act_fn === 'relu') gated = tf.relu(score);
    else if (cfg.act_fn === 'jumprelu')
      gated = jumpReluSte(score, param(params, JUMPRELU_KEY), cfg.jumprelu_threshold_window);
    else if (cfg.act_fn === 'topk') gated = keepTopK(score, k);
    else if (cfg.act_fn === 'batchtopk')
      gated = tf.reshape(keepTopK(tf.reshape(score, [1, N * F]), k * N), [N, F]); // k·N over the whole batch
    else throw new Error(`molt forward: act_fn '${cfg.act_fn}' is not a MoLT activation`);
    const f = n ? (tf.div(gated, n) as tf.Tensor2D) : gated; // [N, F]
    let recon: tf.Tensor2D = tf.zeros([N, d]);
    for (const { rank: r, count: c, offset } of moltRankBlocks(cfg)) {
      const V = tf.reshape(param(params, `V_matrices.${r}`), [c * r, d]); // [c·r, d]
      const vx = tf.matMul(x2, V, false, true); // [N, c·r]: "... d, c r d -> ... c r"
      const fBlock = tf.reshape(tf.slice(f, [0, offset], [N, c]), [N, c, 1]); // [N, c, 1]
      const weighted = tf.reshape(tf.mul(tf.reshape(vx, [N, c, r]), fBlock), [N, c * r]); // [N, c·r]
      const Ut = tf.reshape(tf.transpose(param(params, `U_matrices.${r}`), [0, 2, 1]), [c * r, d]); // [c·r, d]
      recon = tf.add(recon, tf.matMul(weighted, Ut)); // "... c r, c d r -> ... d"
    }
    if (cfg.use_decoder_bias) recon = tf.add(recon, param(params, 'b_D'));
    return {
      featureActs: tf.reshape<tf.Rank.R3>(f, [N, 1, F]),
      hiddenPre: tf.reshape<tf.Rank.R3>(h, [N, 1, F]),
      recon: tf.reshape<tf.Rank.R3>(recon, [N, 1, d]),
    };
  });
}

export const moltTf: KindTf<MoltConfig> = { forward, gateNorms };

// The crosscoder's tensor forward pass (float32, tfjs ops only), tested against the float64 reference in
// kinds/crosscoder.ts on every backend. Gradients follow lm-saes's autograd: f = act(h·n)/n has d f/d h = 1 on the
// active set (STE for TopK, BatchTopK and JumpReLU) and no net gradient into n (the product and the division
// cancel), so f = h ⊙ mask with a mask that carries no gradient; JumpReLU's θ gets lm-saes's rectangle-window
// estimator. The sparsity penalty's f ⊙ n reaches W_D through gateNorms, which is differentiable here.
import * as tf from '@tensorflow/tfjs-core';
import type { CrossCoderConfig } from '../../../protocol/kind-configs/crosscoder';
import { scatterLastAxis } from '../../tensor/gradients';
import type { KindTf, TfForward, TfForwardOptions } from '../kind';

/** lm-saes's key of the JumpReLU log-threshold [F]: one θ shared by every head. */
export const CROSSCODER_JUMPRELU_KEY = 'activation_function.log_jumprelu_threshold';

function param(params: Record<string, tf.Tensor>, name: string): tf.Tensor {
  const p = params[name];
  if (!p) throw new Error(`crosscoder: no parameter '${name}' (has ${Object.keys(params).join(', ')})`);
  return p;
}

/** n^h_i = ‖W_D^h[i, :]‖ [H, F]. */
function gateNorms(_cfg: CrossCoderConfig, params: Record<string, tf.Tensor>): tf.Tensor2D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(param(params, 'W_D')), 2)) as tf.Tensor2D);
}

/**
 * lm-saes's JumpReLU STE on the score s = h·n, divided back by n, as one op of (h, n, log θ): value h·1[s > θ];
 * d h = dy·1[s > θ]; d n = 0 (the product and the division cancel); d log θ = θ · Σ_{tokens, heads}
 * (dy/n)·(−θ/ε)·1[|s − θ| < ε/2 and s > 0] (lm-saes's STEFunction, whose incoming gradient is dy/n).
 */
function jumpReluGated(h: tf.Tensor3D, n: tf.Tensor2D, logTheta: tf.Tensor1D, window: number): tf.Tensor3D {
  const op = tf.customGrad(((hh: tf.Tensor, nn: tf.Tensor, lt: tf.Tensor, save: tf.GradSaveFunc) => {
    const theta = tf.exp(lt); // [F]
    const score = tf.mul(hh, nn); // [N, H, F]
    const on = tf.cast(tf.greater(score, theta), 'float32');
    save([score, nn, theta, on]);
    return {
      value: tf.mul(hh, on),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s, ns, th, mask] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const inWindow = tf.logicalAnd(tf.less(tf.abs(tf.sub(s, th)), window / 2), tf.greater(s, 0));
        const perEntry = tf.where(inWindow, tf.div(tf.mul(dy, tf.div(tf.neg(th), window)), ns), tf.zerosLike(s));
        const dTheta = tf.sum(tf.reshape(perEntry, [-1, th.shape[0]!]), 0); // [F]
        return [tf.mul(dy, mask), tf.zerosLike(ns), tf.mul(dTheta, th)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(h, n, logTheta) as tf.Tensor3D;
}

/** 1 at the k largest entries of each row of score [rows, cols], 0 elsewhere. */
function topKMask(score: tf.Tensor2D, k: number): tf.Tensor2D {
  const { indices } = tf.topk(score, k); // [rows, k]
  return scatterLastAxis(tf.onesLike(indices).asType('float32'), indices, score.shape) as tf.Tensor2D;
}

/**
 * f = h ⊙ mask(h·n) as one op of (h, n), so that the comparisons behind the mask (which have no gradient in tfjs)
 * stay off the tape: d h = dy ⊙ mask, d n = 0 (see the file header).
 */
function maskedGate(h: tf.Tensor3D, n: tf.Tensor2D, mask: (score: tf.Tensor3D) => tf.Tensor): tf.Tensor3D {
  const op = tf.customGrad(((hh: tf.Tensor, nn: tf.Tensor, save: tf.GradSaveFunc) => {
    const m = mask(tf.mul(hh, nn) as tf.Tensor3D); // [N, H, F]
    save([m, nn]);
    return {
      value: tf.mul(hh, m),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ms, ns] = saved as [tf.Tensor, tf.Tensor];
        return [tf.mul(dy, ms), tf.zerosLike(ns)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(h, n) as tf.Tensor3D;
}

/** The gate's mask from the score h·n [N, H, F]: ReLU, TopK per (token, head), BatchTopK over tokens and heads. */
function gateMask(act: CrossCoderConfig['act_fn'], k: number): (score: tf.Tensor3D) => tf.Tensor {
  return (score) => {
    const [N, H, F] = score.shape;
    const positive = tf.cast(tf.greater(score, 0), 'float32');
    if (act === 'relu') return positive;
    if (act === 'topk') return tf.mul(positive, tf.reshape(topKMask(tf.reshape(score, [N * H, F]), k), score.shape));
    if (act === 'batchtopk') {
      const kept = topKMask(tf.reshape(score, [1, N * H * F]), Math.min(k * N * H, N * H * F));
      return tf.mul(positive, tf.reshape(kept, score.shape));
    }
    throw new Error(`crosscoder: act_fn '${act}' is not a crosscoder's`);
  };
}

function forward(
  cfg: CrossCoderConfig,
  params: Record<string, tf.Tensor>,
  x: tf.Tensor3D,
  opts: TfForwardOptions,
): TfForward {
  return tf.tidy(() => {
    const H = cfg.hook_points.length;
    const { d_model: d, d_sae: F } = cfg;
    const [N] = x.shape;
    const W_E = param(params, 'W_E'); // [H, d, F]
    const b_E = param(params, 'b_E'); // [H, F]
    const W_D = param(params, 'W_D'); // [H, F, d]
    const b_D = param(params, 'b_D'); // [H, d]
    // Σ_h x_h W_E^h as one [N, H·d] · [H·d, F] product, plus Σ_h b_E^h.
    const h = tf.add(tf.matMul(tf.reshape(x, [N, H * d]), tf.reshape(W_E, [H * d, F])), tf.sum(b_E, 0)); // [N, F]
    // Broadcast, not tile (tfjs's wasm Tile is slow): h + 0 over a [1, H, 1] zero gives [N, H, F].
    const hiddenPre = tf.add(tf.reshape(h, [N, 1, F]), tf.zeros([1, H, 1])) as tf.Tensor3D; // [N, H, F]
    const n = gateNorms(cfg, params); // [H, F]
    const k = opts.k ?? cfg.top_k;
    let featureActs: tf.Tensor3D;
    if (cfg.act_fn === 'jumprelu') {
      featureActs = jumpReluGated(
        hiddenPre,
        n,
        param(params, CROSSCODER_JUMPRELU_KEY) as tf.Tensor1D,
        cfg.jumprelu_threshold_window,
      );
    } else {
      featureActs = maskedGate(hiddenPre, n, gateMask(cfg.act_fn, k));
    }
    // x̂_h = f^h W_D^h + b_D^h as a batched product over heads: [H, N, F] · [H, F, d] → [H, N, d].
    const perHead = tf.matMul(tf.transpose(featureActs, [1, 0, 2]), W_D); // [H, N, d]
    const recon = tf.add(tf.transpose(perHead, [1, 0, 2]), b_D) as tf.Tensor3D; // [N, H, d]
    return { featureActs, hiddenPre, recon };
  });
}

export const crosscoderTf: KindTf<CrossCoderConfig> = { forward, gateNorms };

// The cross-layer transcoder's tensor forward pass (float32, tfjs ops only), tested against cltReference on every
// backend. Gradients follow lm-saes's autograd: the gate norms n are under no-grad; relu/topk pass d f to h on the
// active set (times n/n = 1); JumpReLU uses lm-saes's rectangle straight-through estimator for log θ.
import * as tf from '@tensorflow/tfjs-core';
import type { CltConfig } from '../../../protocol/kind-configs/clt';
import { topK } from '../../sae/activation-functions';
import { stopGradient } from '../../tensor/stop-gradient';
import type { KindTf, TfForward, TfForwardOptions } from '../kind';

const JUMPRELU_KEY = 'activation_function.log_jumprelu_threshold';

function param(params: Record<string, tf.Tensor>, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`cross-layer transcoder: missing parameter '${name}'`);
  return t;
}

/** n [L, F] = sqrt(Σ_{t≥s} ‖W_D.{t}[s, i]‖²), computed under no-grad like lm-saes's decoder_norm_per_feature. */
function gateNorms(cfg: CltConfig, params: Record<string, tf.Tensor>): tf.Tensor2D {
  return tf.tidy(() => {
    const L = cfg.hook_points_in.length;
    let sq = tf.zeros([L, cfg.d_sae]);
    for (let t = 0; t < L; t++) {
      const s2 = tf.sum(tf.square(param(params, `W_D.${t}`)), 2); // [t+1, F]
      sq = tf.add(
        sq,
        t + 1 < L
          ? tf.pad(s2, [
              [0, L - t - 1],
              [0, 0],
            ])
          : s2,
      );
    }
    return stopGradient(tf.sqrt(sq)) as tf.Tensor2D;
  });
}

/**
 * lm-saes's STEFunction on the gate score s [N, L, F] with θ = exp(logθ) [L, F]: value s·[s > θ]; d s = dy·[s > θ];
 * d θ = Σ_N dy·(−θ/ε)·[|s − θ| < ε/2 ∧ s > 0]; d logθ = θ·dθ.
 */
function jumpRelu3d(score: tf.Tensor, logThreshold: tf.Tensor, window: number): tf.Tensor {
  const f = tf.customGrad(((s: tf.Tensor, lt: tf.Tensor, save: tf.GradSaveFunc) => {
    const theta = tf.exp(lt);
    const gate = tf.cast(tf.greater(s, theta), 'float32'); // [N, L, F]
    save([s, theta, gate]);
    return {
      value: tf.mul(s, gate),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ss, th, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const inWindow = tf.mul(
          tf.cast(tf.less(tf.abs(tf.sub(ss, th)), window * 0.5), 'float32'),
          tf.cast(tf.greater(ss, 0), 'float32'),
        );
        const dTheta = tf.sum(tf.mul(tf.mul(dy, inWindow), tf.div(tf.neg(th), window)), 0); // [L, F]
        return [tf.mul(dy, g), tf.mul(dTheta, th)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(score, logThreshold);
}

/** Keeps the k largest of each row of a [rows, cols] view of `score` as relu(score), zeros elsewhere. */
function topKRows(score: tf.Tensor, rows: number, cols: number, k: number): tf.Tensor {
  return topK(tf.reshape(score, [rows, cols]) as tf.Tensor2D, Math.min(k, cols), null).acts;
}

/** act(score) for the configured act_fn on score [N, L, F]. */
function activate(cfg: CltConfig, params: Record<string, tf.Tensor>, score: tf.Tensor, k: number): tf.Tensor {
  const [N, L, F] = score.shape as [number, number, number];
  switch (cfg.act_fn) {
    case 'relu':
      return tf.relu(score);
    case 'jumprelu':
      return jumpRelu3d(score, param(params, JUMPRELU_KEY), cfg.jumprelu_threshold_window);
    case 'topk': // per (token, layer) over F
      return tf.reshape(topKRows(score, N * L, F, k), [N, L, F]);
    case 'layertopk': // per token over its L×F grid, k in total
      return tf.reshape(topKRows(score, N, L * F, k), [N, L, F]);
    case 'batchtopk': {
      // per layer over the batch's N×F, k·N in total
      const perLayer = tf.transpose(score, [1, 0, 2]); // [L, N, F]
      const kept = tf.reshape(topKRows(perLayer, L, N * F, k * N), [L, N, F]);
      return tf.transpose(kept, [1, 0, 2]);
    }
    case 'batchlayertopk': // over the batch's N×L×F, k·N in total
      return tf.reshape(topKRows(score, 1, N * L * F, k * N), [N, L, F]);
  }
}

function forward(cfg: CltConfig, params: Record<string, tf.Tensor>, x: tf.Tensor3D, opts: TfForwardOptions): TfForward {
  return tf.tidy(() => {
    const L = cfg.hook_points_in.length;
    const [N] = x.shape;
    const F = cfg.d_sae;
    const d = cfg.d_model;
    // Per-layer 2-D matmuls stacked on the layer axis (no transposes: tfjs's wasm Transpose and 3-D BatchMatMul
    // cost more than the products themselves here).
    const W_E = param(params, 'W_E');
    const b_E = param(params, 'b_E');
    const hs: tf.Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const xl = tf.reshape(tf.slice(x, [0, l, 0], [N, 1, d]), [N, d]);
      const wl = tf.reshape(tf.slice(W_E, [l, 0, 0], [1, d, F]), [d, F]);
      hs.push(tf.add(tf.matMul(xl, wl), tf.reshape(tf.slice(b_E, [l, 0], [1, F]), [F])));
    }
    const h = tf.stack(hs, 1) as tf.Tensor3D; // [N, L, F]
    const k = opts.k ?? cfg.top_k;
    let f: tf.Tensor;
    if (cfg.sparsity_include_decoder_norm) {
      const n = gateNorms(cfg, params); // [L, F], no gradient
      f = tf.div(activate(cfg, params, tf.mul(h, n), k), n);
    } else f = activate(cfg, params, h, k);
    // y_t = [f_0 … f_t] · W_D.{t} as one product: the first (t+1)·F columns of f [N, L·F] are sources 0…t.
    const flat = tf.reshape(f, [N, L * F]);
    const outs: tf.Tensor[] = [];
    for (let t = 0; t < L; t++) {
      const src = t + 1 === L ? flat : tf.slice(flat, [0, 0], [N, (t + 1) * F]);
      const y = tf.matMul(src as tf.Tensor2D, tf.reshape(param(params, `W_D.${t}`), [(t + 1) * F, d]) as tf.Tensor2D);
      outs.push(tf.add(y, param(params, `b_D.${t}`)));
    }
    return { featureActs: f as tf.Tensor3D, hiddenPre: h, recon: tf.stack(outs, 1) as tf.Tensor3D };
  });
}

export const cltTf: KindTf<CltConfig> = { forward, gateNorms };

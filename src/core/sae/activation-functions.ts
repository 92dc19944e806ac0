// Activation functions of sparse dictionaries: ReLU, JumpReLU (learned threshold, rectangle straight-through
// estimator, Rajamanoharan et al. 2024), TopK (Gao et al. 2024) and BatchTopK (Bussmann et al. 2024).
import * as tf from '@tensorflow/tfjs-core';
import { scatterLastAxis } from '../tensor/gradients';

/**
 * JumpReLU z = pre · H(pre − θ), θ = exp(logThreshold). Gradients: d pre = dy · H(pre − θ);
 * d θ = Σ_batch dy · (−θ / ε) · rect((pre − θ) / ε), with rect(u) = 1 for |u| < ½ (the rectangle kernel of
 * width ε); d logθ = θ · dθ.
 */
export function jumpRelu(pre: tf.Tensor2D, logThreshold: tf.Tensor1D, window: number): tf.Tensor2D {
  const f = tf.customGrad(((p: tf.Tensor, lt: tf.Tensor, save: tf.GradSaveFunc) => {
    const theta = tf.exp(lt);
    const gate = tf.cast(tf.greater(p, theta), 'float32'); // [B, F]
    save([p, theta, gate]);
    return {
      value: tf.mul(p, gate),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ps, th, g] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const inWindow = tf.cast(tf.less(tf.abs(tf.div(tf.sub(ps, th), window)), 0.5), 'float32');
        const dTheta = tf.sum(tf.mul(tf.mul(dy, inWindow), tf.div(tf.neg(th), window)), 0); // [F]
        return [tf.mul(dy, g), tf.mul(dTheta, th)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(pre, logThreshold) as tf.Tensor2D;
}

/** Heaviside step H(pre − θ) with the same estimator, for an L0 penalty on JumpReLU dictionaries. */
export function jumpReluGate(pre: tf.Tensor2D, logThreshold: tf.Tensor1D, window: number): tf.Tensor2D {
  const f = tf.customGrad(((p: tf.Tensor, lt: tf.Tensor, save: tf.GradSaveFunc) => {
    const theta = tf.exp(lt);
    save([p, theta]);
    return {
      value: tf.cast(tf.greater(p, theta), 'float32'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [ps, th] = saved as [tf.Tensor, tf.Tensor];
        const inWindow = tf.cast(tf.less(tf.abs(tf.div(tf.sub(ps, th), window)), 0.5), 'float32');
        const dTheta = tf.sum(tf.mul(tf.mul(dy, inWindow), -1 / window), 0);
        return [tf.zerosLike(ps), tf.mul(dTheta, th)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(pre, logThreshold) as tf.Tensor2D;
}

/**
 * TopK: keeps the k largest entries of `score` per row (score = pre, or pre · ‖W_D,i‖ when the sparsity
 * includes decoder norms), as ReLU(pre) at those positions, zeros elsewhere. Returns the dense activations and
 * the selected indices [B, k].
 */
export function topK(
  pre: tf.Tensor2D,
  k: number,
  decoderNorms: tf.Tensor1D | null,
): { acts: tf.Tensor2D; indices: tf.Tensor2D } {
  const score = decoderNorms ? tf.mul(pre, decoderNorms) : pre;
  const { values, indices } = tf.topk(score, k); // [B, k]
  // Dividing the dense scores by the norms (not gathering norms per index) keeps to ops whose gradients every
  // backend has (tfjs's GatherV2 gradient fails on int indices and needs UnsortedSegmentSum, absent on wasm).
  const dense = scatterLastAxis(tf.relu(values), indices, pre.shape);
  const acts = (decoderNorms ? tf.div(dense, decoderNorms) : dense) as tf.Tensor2D;
  return { acts, indices: indices as tf.Tensor2D };
}

/**
 * BatchTopK: keeps the batch·k largest scores of the whole batch (so each row keeps k on average).
 * Returns the activations and the batch's threshold (the smallest kept score), which training averages into
 * the threshold used at inference.
 */
export function batchTopK(
  pre: tf.Tensor2D,
  k: number,
  decoderNorms: tf.Tensor1D | null,
): { acts: tf.Tensor2D; threshold: tf.Scalar } {
  const score = decoderNorms ? tf.mul(pre, decoderNorms) : pre;
  const [B] = pre.shape;
  const kept = tf.topk(tf.reshape(score, [-1]), Math.min(B * k, score.size)).values;
  const threshold = tf.max(tf.stack([tf.min(kept), tf.scalar(0)])) as tf.Scalar; // never below 0: ReLU follows
  const mask = tf.cast(tf.greaterEqual(score, threshold), 'float32');
  return { acts: tf.mul(tf.relu(pre), mask) as tf.Tensor2D, threshold };
}

/** BatchTopK at inference: a fixed threshold on the score (a JumpReLU with one shared threshold). */
export function thresholdActivation(
  pre: tf.Tensor2D,
  threshold: number,
  decoderNorms: tf.Tensor1D | null,
): tf.Tensor2D {
  const score = decoderNorms ? tf.mul(pre, decoderNorms) : pre;
  return tf.mul(tf.relu(pre), tf.cast(tf.greater(score, threshold), 'float32')) as tf.Tensor2D;
}

// The reconstruction error Σ_j (a − b)² per row as ops: the fused 'SaeRowSqErr' kernels where the active backend
// has them (wasm and cpu with the native addon), elsewhere sub, square and sum.
import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from '../../stop-gradient';
import { SAE_ROW_SQ_ERR, SAE_ROW_SQ_ERR_RESIDUAL, SAE_ROW_SQ_ERR_RESIDUAL_GRAD } from '../kernel-names';

/**
 * Σ_j (target − pred)² for each row, with a gradient for `pred` only: the target is data (a batch, a stopped
 * residual), as in a reconstruction loss. rowSquaredError's registered gradient has tfjs save copies of both
 * inputs, and reads both again (two [batch, d] copies and three passes per training step); here the forward pass
 * writes the residual target − pred while it sums its squares, and the gradient reads only that. The residual is
 * kept past the forward scope and released by the gradient, so inside a gradient scope the gradient must be taken
 * (a training step always does) or the residual stays allocated.
 */
export function rowSquaredErrorToTarget(target: tf.Tensor2D, pred: tf.Tensor2D): tf.Tensor1D {
  const fused =
    tf.getKernel(SAE_ROW_SQ_ERR_RESIDUAL, tf.getBackend()) &&
    target.dtype === 'float32' &&
    pred.dtype === 'float32' &&
    tf.util.arraysEqual(target.shape, pred.shape);
  if (!fused) return tf.tidy(() => tf.sum(tf.square(tf.sub(stopGradient(target), pred)), 1));
  const state = tf.engine().state as unknown as { gradientDepth: number; kernelDepth: number };
  if (!(state.gradientDepth > 0 && state.kernelDepth === 0))
    return tf.engine().runKernel(SAE_ROW_SQ_ERR, { a: target, b: pred }) as tf.Tensor1D;
  const op = tf.customGrad(((p: tf.Tensor) => {
    const [rows, residual] = tf.engine().runKernel(SAE_ROW_SQ_ERR_RESIDUAL, { a: target, b: p }) as [
      tf.Tensor1D,
      tf.Tensor2D,
    ];
    tf.keep(residual);
    return {
      value: rows,
      gradFunc: (dy: tf.Tensor) => {
        try {
          return tf.engine().runKernel(SAE_ROW_SQ_ERR_RESIDUAL_GRAD, { residual, dy }) as tf.Tensor;
        } finally {
          residual.dispose();
        }
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(pred) as tf.Tensor1D;
}

/** Σ_j (a − b)² for each row of two [rows, d] float32 matrices. */
export function rowSquaredError(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  const fused =
    tf.getKernel(SAE_ROW_SQ_ERR, tf.getBackend()) &&
    a.dtype === 'float32' &&
    b.dtype === 'float32' &&
    tf.util.arraysEqual(a.shape, b.shape);
  if (fused) return tf.engine().runKernel(SAE_ROW_SQ_ERR, { a, b }) as tf.Tensor1D;
  return tf.tidy(() => tf.sum(tf.square(tf.sub(a, b)), 1));
}

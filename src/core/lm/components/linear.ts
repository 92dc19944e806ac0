// x @ W + b on [rows, in] inputs with W stored [in, out] (no transposed matmul on the hot path).
import * as tf from '@tensorflow/tfjs-core';

export function linear(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor | null): tf.Tensor2D {
  const y: tf.Tensor2D = tf.matMul(x, W as tf.Tensor2D);
  return b ? (tf.add(y, b) as tf.Tensor2D) : y;
}

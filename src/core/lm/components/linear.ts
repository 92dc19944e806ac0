// x @ W + b on [rows, in] inputs with W stored [in, out] (no transposed matmul on the hot path).
import * as tf from '@tensorflow/tfjs-core';

export function linear(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor | null): tf.Tensor2D {
  // With a bias, tfjs's fused matmul: on wasm/cpu the bias is written into the output and sgemm adds the product
  // to it (no separate pass over the output to add it); elsewhere it is the backend's own fused kernel.
  return b ? (tf.fused.matMul({ a: x, b: W as tf.Tensor2D, bias: b }) as tf.Tensor2D) : tf.matMul(x, W as tf.Tensor2D);
}

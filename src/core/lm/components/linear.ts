// x @ W + b on [rows, in] inputs with W stored [in, out] (no transposed matmul on the hot path), and the two
// products the LM follows with an elementwise step (the residual add, the MLP's GELU) with that step fused in.
import * as tf from '@tensorflow/tfjs-core';
import { forwardKernelUsable } from '../../tensor/kernels/forward-only';
import type { LinearPost } from '../../tensor/kernels/linear-post/host';
import { SAE_GELU_NEW, SAE_LINEAR_POST } from '../../tensor/kernels/kernel-names';

export function linear(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor | null): tf.Tensor2D {
  // With a bias, tfjs's fused matmul: on wasm/cpu the bias is written into the output and sgemm adds the product
  // to it (no separate pass over the output to add it); elsewhere it is the backend's own fused kernel.
  return b ? (tf.fused.matMul({ a: x, b: W as tf.Tensor2D, bias: b }) as tf.Tensor2D) : tf.matMul(x, W as tf.Tensor2D);
}

/** linear then `post` by the native kernel (SaeLinearPost), or null where it cannot run here. */
function linearPost(
  x: tf.Tensor2D,
  W: tf.Tensor,
  b: tf.Tensor | null,
  post: LinearPost,
  r?: tf.Tensor,
): tf.Tensor2D | null {
  const operands = [x, W, ...(b ? [b] : []), ...(r ? [r] : [])];
  if (!forwardKernelUsable(SAE_LINEAR_POST, ...operands)) return null;
  // The GELU post-op is the SaeGeluNew kernel's own code: only where that kernel runs (an AVX-512 CPU).
  if (post === 'gelu_new' && !forwardKernelUsable(SAE_GELU_NEW, x)) return null;
  const inputs: tf.NamedTensorMap = { x, w: W };
  if (b) inputs.bias = b;
  if (r) inputs.r = r;
  return tf.engine().runKernel(SAE_LINEAR_POST, inputs, { post } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/**
 * r + (x @ W + b), r [rows, out]: the residual stream after an output projection. Fused, sgemm adds r to each
 * tile of the product as it finishes it — the same two roundings as the add after the linear.
 */
export function linearAdd(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor | null, r: tf.Tensor2D): tf.Tensor2D {
  return linearPost(x, W, b, 'add', r) ?? (tf.add(r, linear(x, W, b)) as tf.Tensor2D);
}

/** gelu_new(x @ W + b) by the fused kernel, or null where it cannot run (the caller applies the GELU itself). */
export function linearGeluNew(x: tf.Tensor2D, W: tf.Tensor, b: tf.Tensor | null): tf.Tensor2D | null {
  return linearPost(x, W, b, 'gelu_new');
}

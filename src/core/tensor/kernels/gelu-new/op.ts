// The fused tanh GELU as an op: 'SaeGeluNew' where the active backend has it and no gradient is recorded, else null.
import * as tf from '@tensorflow/tfjs-core';
import { forwardKernelUsable } from '../forward-only';
import { SAE_GELU_NEW } from '../kernel-names';

/** HF's gelu_new (the tanh GELU) of x in one pass, or null where the fused kernel cannot run. */
export function fusedGeluNew(x: tf.Tensor): tf.Tensor | null {
  if (!forwardKernelUsable(SAE_GELU_NEW, x)) return null;
  return tf.engine().runKernel(SAE_GELU_NEW, { x }) as tf.Tensor;
}

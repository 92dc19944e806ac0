// The fused row norm as an op: 'SaeRowNorm' where the active backend has it and no gradient is recorded, else null
// (the model then runs its plain-tfjs LayerNorm / RMSNorm).
import * as tf from '@tensorflow/tfjs-core';
import { forwardKernelUsable } from '../forward-only';
import { SAE_ROW_NORM } from '../kernel-names';

/** The row norm of x over its last axis, or null where the fused kernel cannot run. */
export function fusedRowNorm(
  x: tf.Tensor,
  w: tf.Tensor,
  b: tf.Tensor | null,
  eps: number,
  rms: boolean,
): tf.Tensor | null {
  const d = x.shape[x.shape.length - 1];
  if (
    d === undefined ||
    w.size !== d ||
    (b && b.size !== d) ||
    !forwardKernelUsable(SAE_ROW_NORM, x, w, ...(b ? [b] : []))
  )
    return null;
  const inputs: tf.NamedTensorMap = b ? { x, w, b } : { x, w };
  return tf.engine().runKernel(SAE_ROW_NORM, inputs, { eps, rms } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

// The fused Adam update as an op: [p', m', v'] from the 'SaeAdamUpdate' kernel where the active backend has it
// (wasm and cpu with the native addon); elsewhere null, and the optimiser keeps its plain-tfjs formulation.
import * as tf from '@tensorflow/tfjs-core';
import { SAE_ADAM_UPDATE } from '../kernel-names';

export interface AdamAttrs {
  stepSize: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** sqrt(1 − beta2^step): the second-moment bias correction. */
  sqrtC2: number;
  /**
   * p is a matrix of rows this long kept at unit norm: the gradient's component along each row is removed first
   * and the rows are renormalised after, in the same pass (the decoder constraint of TopK SAEs).
   */
  unitRowLength?: number;
}

/** [p', m', v'] from the native kernel on the active backend, or null where it is not registered. */
export function nativeAdamUpdate(
  p: tf.Tensor,
  g: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  attrs: AdamAttrs,
): [tf.Tensor, tf.Tensor, tf.Tensor] | null {
  if (!tf.getKernel(SAE_ADAM_UPDATE, tf.getBackend())) return null;
  if (attrs.unitRowLength !== undefined && (p.rank !== 2 || p.shape[1] !== attrs.unitRowLength)) return null;
  if ([p, g, m, v].some((t) => t.dtype !== 'float32')) return null;
  return tf.engine().runKernel(SAE_ADAM_UPDATE, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as [
    tf.Tensor,
    tf.Tensor,
    tf.Tensor,
  ];
}

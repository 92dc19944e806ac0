// The unit-norm decoder constraint as ops: the fused 'SaeUnitRows' kernel where the active backend has it (wasm
// and cpu with the native addon), elsewhere the plain-tfjs formulation (the same arithmetic, summed in another order).
import * as tf from '@tensorflow/tfjs-core';
import { SAE_UNIT_ROWS } from '../kernel-names';

function fused(w: tf.Tensor2D, g?: tf.Tensor2D): tf.Tensor2D | null {
  if (!tf.getKernel(SAE_UNIT_ROWS, tf.getBackend())) return null;
  if (w.rank !== 2 || w.dtype !== 'float32' || (g && (g.dtype !== 'float32' || !tf.util.arraysEqual(g.shape, w.shape))))
    return null;
  return tf.engine().runKernel(SAE_UNIT_ROWS, g ? { w, g } : { w }) as tf.Tensor2D;
}

/** g − (Σ_j g_ij w_ij) w_i for each row i of the unit-row matrix w: the gradient moves along the sphere. */
export function projectOutRows(g: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return fused(w, g) ?? tf.tidy(() => tf.sub(g, tf.mul(tf.sum(tf.mul(g, w), 1, true), w)));
}

/** Each row of w divided by its L2 norm. */
export function normalizeRows(w: tf.Tensor2D): tf.Tensor2D {
  return fused(w) ?? tf.tidy(() => tf.div(w, tf.sqrt(tf.sum(tf.square(w), 1, true))));
}

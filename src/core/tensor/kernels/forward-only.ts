// Whether one of the LM's fused forward kernels may run now: they have no gradients, so they serve only outside
// gradient computations (the model falls back to its plain-tfjs formulation there).
import * as tf from '@tensorflow/tfjs-core';

/** Registered on the active backend, no gradient being recorded, and every input float32. */
export function forwardKernelUsable(kernel: string, ...ts: tf.Tensor[]): boolean {
  if (!tf.getKernel(kernel, tf.getBackend())) return false;
  if ((tf.engine().state as { gradientDepth?: number }).gradientDepth !== 0) return false;
  return ts.every((t) => t.dtype === 'float32');
}

// The native next-token losses as an op: 'SaeTokenLosses' where the active backend has it and no gradient is
// recorded, else null (lm/cross-entropy.ts then runs tfjs's logSumExp and gather).
import * as tf from '@tensorflow/tfjs-core';
import { forwardKernelUsable } from '../forward-only';
import { SAE_TOKEN_LOSSES, SAE_TOKEN_LSE } from '../kernel-names';

/** logits [B, S, V], targets int32 [B (S − 1)] (the next token of each position) → losses [B, S − 1], or null. */
export function fusedTokenLosses(logits: tf.Tensor3D, targets: tf.Tensor1D): tf.Tensor2D | null {
  const [B, S] = logits.shape;
  if (S < 2 || targets.dtype !== 'int32' || targets.size !== B * (S - 1)) return null;
  if (!forwardKernelUsable(SAE_TOKEN_LOSSES, logits)) return null;
  return tf.engine().runKernel(SAE_TOKEN_LOSSES, { logits, targets }) as tf.Tensor2D;
}

/** Whether fusedTokenLse runs now: the token losses are the native kernel's and its logsumexp is registered. */
export function tokenLseAvailable(): boolean {
  return forwardKernelUsable(SAE_TOKEN_LOSSES) && forwardKernelUsable(SAE_TOKEN_LSE);
}

/**
 * logits [R, V] → the logsumexp of each row [R], by the float operations of the native token losses (whose loss
 * is this minus the target's logit, rounded to float32), or null where those are not the backend's token losses.
 */
export function fusedTokenLse(logits: tf.Tensor2D): tf.Tensor1D | null {
  if (logits.size === 0 || logits.dtype !== 'float32' || !tokenLseAvailable()) return null;
  return tf.engine().runKernel(SAE_TOKEN_LSE, { logits }) as tf.Tensor1D;
}

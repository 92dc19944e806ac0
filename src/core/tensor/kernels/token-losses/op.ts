// The native next-token losses as an op: 'SaeTokenLosses' where the active backend has it and no gradient is
// recorded, else null (lm/cross-entropy.ts then runs tfjs's logSumExp and gather).
import * as tf from '@tensorflow/tfjs-core';
import { forwardKernelUsable } from '../forward-only';
import { SAE_TOKEN_LOSSES } from '../kernel-names';

/** logits [B, S, V], targets int32 [B (S − 1)] (the next token of each position) → losses [B, S − 1], or null. */
export function fusedTokenLosses(logits: tf.Tensor3D, targets: tf.Tensor1D): tf.Tensor2D | null {
  const [B, S] = logits.shape;
  if (S < 2 || targets.dtype !== 'int32' || targets.size !== B * (S - 1)) return null;
  if (!forwardKernelUsable(SAE_TOKEN_LOSSES, logits)) return null;
  return tf.engine().runKernel(SAE_TOKEN_LOSSES, { logits, targets }) as tf.Tensor2D;
}

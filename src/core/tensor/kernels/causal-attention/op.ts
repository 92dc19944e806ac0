// Fused causal attention as an op: 'SaeCausalAttention' where the active backend has it for these heads and no
// gradient is recorded, else null (the model then runs tfjs's transposes, matmuls, mask and softmax).
import * as tf from '@tensorflow/tfjs-core';
import { forwardKernelUsable } from '../forward-only';
import { SAE_CAUSAL_ATTENTION } from '../kernel-names';
import { nativeAttention } from './host';

/** The largest d_head the webgpu attention takes (webgpu.ts: its rows live in registers; Gemma 2's heads are 256 wide). */
export const WEBGPU_ATTENTION_MAX_DHEAD = 256;

function attentionAvailable(dh: number): boolean {
  if (tf.getBackend() === 'webgpu') return dh >= 1 && dh <= WEBGPU_ATTENTION_MAX_DHEAD;
  return nativeAttention()?.causalAttentionAvailable(dh) ?? false;
}

/**
 * Causal attention z [B, S, H, dh] from q [B, S, H, dh] and k, v [B, S, Kh, dh] (grouped-query heads: query head h
 * reads head h / (H / Kh)), keys j ≤ i and, with a window w, j > i − w, scores (scale·q_i)·k_j soft-capped as
 * c·tanh(s / c) where `softcap` is c (Gemma 2); q is multiplied by `scale` in float32 as tf.mul(q, scale) would, so
 * the result is the same, to the bit, as with q scaled beforehand. Null where the fused kernel cannot run (not
 * registered, a gradient being recorded; on the CPU backends no AVX-512, d_head over 128 or a soft cap, on webgpu
 * d_head over 256).
 */
export function fusedCausalAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  window: number | null,
  softcap: number | null = null,
  scale = 1,
): tf.Tensor4D | null {
  const [, , H, dh] = q.shape;
  const Kh = k.shape[2];
  if (softcap !== null && !(softcap > 0 && tf.getBackend() === 'webgpu')) return null;
  if (H % Kh !== 0 || !forwardKernelUsable(SAE_CAUSAL_ATTENTION, q, k, v) || !attentionAvailable(dh)) return null;
  const attrs = softcap === null ? { window: window ?? 0, scale } : { window: window ?? 0, scale, softcap };
  return tf.engine().runKernel(SAE_CAUSAL_ATTENTION, { q, k, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

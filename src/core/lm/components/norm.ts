// LayerNorm and RMSNorm over the last axis, with TransformerLens's hook_scale and hook_normalized.
import * as tf from '@tensorflow/tfjs-core';
import type { NormType } from '../model-config';
import type { NormParams } from '../params';
import { fusedRowNorm } from '../../tensor/kernels/row-norm/op';
import type { HookRunner } from './hook-runner';

export function applyNorm(
  type: NormType,
  x: tf.Tensor,
  p: NormParams<tf.Tensor>,
  eps: number,
  hooks?: HookRunner,
  prefix?: string,
): tf.Tensor {
  // One native pass where nothing observes the scale (and no gradient is recorded); tfjs's ops otherwise.
  const fused =
    hooks && prefix && hooks.watches(`${prefix}.hook_scale`)
      ? null
      : fusedRowNorm(x, p.w, p.b ?? null, eps, type === 'rmsnorm');
  if (fused) return hooks && prefix ? hooks.point(`${prefix}.hook_normalized`, fused) : fused;
  const centred = type === 'layernorm' ? tf.sub(x, tf.mean(x, -1, true)) : x;
  let scale = tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps)); // [..., 1]
  if (hooks && prefix) scale = hooks.point(`${prefix}.hook_scale`, scale);
  let out = tf.mul(tf.div(centred, scale), p.w);
  if (p.b) out = tf.add(out, p.b);
  return hooks && prefix ? hooks.point(`${prefix}.hook_normalized`, out) : out;
}

// Hook functions that steer the model with one feature at the positions asked for, in absolute positions of
// prompt + continuation (HookInfo.positionOffset), so that a KV-cached pass over one new token and a full
// forward over the whole sequence touch the same tokens.
//   add:   x ← x + s · W_D[f] / c                                   (Neuronpedia / SAELens: strength × decoder row)
//   clamp: x ← x + ((v − pre_f(x)) / (W_E[:, f] · W_D[f])) · W_D[f] / c   (pre_f re-encoded at the hook equals v)
// c is the hook's normalisation factor (dataset-wise √d / mean‖x‖, or 1), so that the decoder row is the change of
// the dictionary's reconstruction when the feature's activation changes by one.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { HookFn } from '../lm/hooked-transformer';
import type { SteerMode, SteerPositions } from '../../protocol/steering';
import type { FeatureEncoder, SteeringTarget } from './feature-direction';

export interface SteeringSpec {
  mode: SteerMode;
  /** add: the multiple of the decoder row; clamp: the pre-activation value v. */
  strength: number;
  positions: SteerPositions;
}

/** Which absolute positions are steered, for a prompt of `promptLength` tokens and sequences up to `total`. */
export function positionSelector(
  positions: SteerPositions,
  promptLength: number,
  total: number,
): (p: number) => boolean {
  if (positions === 'all') return () => true;
  if (positions === 'prompt') return (p) => p < promptLength;
  if (positions === 'generated') return (p) => p >= promptLength;
  for (const p of positions)
    if (p >= total)
      throw new InputError(
        `positions: ${p} is past the end of prompt + continuation (${total} tokens, positions 0..${total - 1})`,
      );
  const set = new Set(positions);
  return (p) => set.has(p);
}

/** [1, S, 1] mask of the steered positions among absolute positions offset .. offset + S − 1. */
function maskFor(selected: (p: number) => boolean, offset: number, x: tf.Tensor, hook: string): tf.Tensor3D {
  if (x.rank !== 3)
    throw new InputError(`steering: hook '${hook}' has shape [${x.shape}], expected [batch, seq, width]`);
  const seq = x.shape[1]!;
  const m = new Float32Array(seq);
  for (let i = 0; i < seq; i++) m[i] = selected(offset + i) ? 1 : 0;
  return tf.tensor3d(m, [1, seq, 1]);
}

/** The direction cut to the hook's width (a narrower hook is zero-padded to d_model by the dictionary). */
function directionFor(direction: Float32Array, width: number): tf.Tensor1D {
  return tf.tensor1d(width === direction.length ? direction : direction.subarray(0, width));
}

/** pre_f(x) [B, S, 1] for raw activations x [B, S, d]. */
function preActivation(x: tf.Tensor, enc: FeatureEncoder): tf.Tensor {
  let xin = tf.mul(x, enc.scale);
  if (enc.preBias) xin = tf.sub(xin, tf.tensor1d(enc.preBias));
  return tf.add(tf.sum(tf.mul(xin, tf.tensor1d(enc.w)), -1, true), enc.b);
}

/** Hook functions by hook name that apply `spec` to `target`, for use in forward / generateTokens. */
export function steeringHooks(
  target: SteeringTarget,
  spec: SteeringSpec,
  selected: (p: number) => boolean,
): Record<string, HookFn> {
  if (!Number.isFinite(spec.strength)) throw new InputError(`strength ${spec.strength}: expected a finite number`);
  const hooks: Record<string, HookFn> = {};
  if (spec.mode === 'clamp') {
    const enc = target.encoder;
    if (!enc) throw new InputError(target.clampRefusal ?? 'clamp: not defined for this feature');
    const write = target.writes[0]!;
    hooks[write.hook] = (x, { name, positionOffset }) => {
      const mask = maskFor(selected, positionOffset, x, name);
      const alpha = tf.div(tf.sub(spec.strength, preActivation(x, enc)), enc.dot); // [B, S, 1]
      return tf.add(x, tf.mul(tf.mul(alpha, mask), directionFor(write.direction, x.shape[2]!)));
    };
    return hooks;
  }
  for (const write of target.writes) {
    hooks[write.hook] = (x, { name, positionOffset }) => {
      const mask = maskFor(selected, positionOffset, x, name);
      return tf.add(x, tf.mul(mask, tf.mul(directionFor(write.direction, x.shape[2]!), spec.strength)));
    };
  }
  return hooks;
}

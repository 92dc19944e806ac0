// Ready-made hook functions for interventions at any hook point: replace, add or zero the activation,
// optionally only at some sequence positions.
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';
import type { HookFn } from './components/hook-runner';

export interface InterventionTarget {
  /** Sequence positions to touch (all when omitted). */
  positions?: number[];
}

/** Axis of the sequence position: 1 for [batch, seq, …]; 2 (the query axis) for [batch, head, q, k] patterns. */
function positionAxis(name: string): number {
  return /attn\.hook_(pattern|attn_scores)$/.test(name) ? 2 : 1;
}

/** A {0,1} mask broadcastable against the activation, 1 at the chosen positions. */
function positionMask(x: tf.Tensor, name: string, positions: number[]): tf.Tensor {
  const axis = positionAxis(name);
  const seq = x.shape[axis]!;
  const m = new Float32Array(seq);
  for (const p of positions) {
    if (!Number.isInteger(p) || p < 0 || p >= seq)
      throw new InputError(`hook '${name}': position ${p} is out of range 0..${seq - 1}`);
    m[p] = 1;
  }
  const shape = x.shape.map((_, i) => (i === axis ? seq : 1));
  return tf.tensor(m, shape);
}

function blend(x: tf.Tensor, replacement: tf.Tensor, name: string, positions?: number[]): tf.Tensor {
  if (!positions) return tf.add(tf.zerosLike(x), replacement); // broadcast to x's shape
  const mask = positionMask(x, name, positions);
  return tf.add(tf.mul(x, tf.sub(1, mask)), tf.mul(replacement, mask));
}

/** Replaces the activation by `value` (broadcast against it), or by `value(x)`. */
export function replaceActivation(
  value: tf.Tensor | ((x: tf.Tensor) => tf.Tensor),
  target: InterventionTarget = {},
): HookFn {
  return (x, { name }) => blend(x, typeof value === 'function' ? value(x) : value, name, target.positions);
}

/** Adds `delta` (broadcast, e.g. a [d_model] steering vector) to the activation. */
export function addToActivation(delta: tf.Tensor, target: InterventionTarget = {}): HookFn {
  return (x, { name }) =>
    target.positions ? tf.add(x, tf.mul(delta, positionMask(x, name, target.positions))) : tf.add(x, delta);
}

/** Zero-ablates the activation. */
export function zeroActivation(target: InterventionTarget = {}): HookFn {
  return (x, { name }) => blend(x, tf.zeros([1]), name, target.positions);
}

// A kernel's inputs and shapes read with checks: a missing input or a tensor of the wrong rank is a caller's bug, and
// fails with the kernel's name rather than as an undefined dereference inside a native call or a shader dispatch.
import type * as tf from '@tensorflow/tfjs-core';

/** The named inputs, each present; throws naming the first missing one. */
export function requireInputs<K extends string>(
  kernel: string,
  inputs: tf.NamedTensorInfoMap,
  names: readonly K[],
): Record<K, tf.TensorInfo> {
  const out: Partial<Record<K, tf.TensorInfo>> = {};
  for (const n of names) {
    const t = inputs[n];
    if (!t) throw new Error(`${kernel}: input '${n}' is missing`);
    out[n] = t;
  }
  return out as Record<K, tf.TensorInfo>;
}

/** [rows, cols] of a matrix input. */
export function matrixShape(kernel: string, t: tf.TensorInfo, what: string): [number, number] {
  const [rows, cols] = t.shape;
  if (t.shape.length !== 2 || rows === undefined || cols === undefined)
    throw new Error(`${kernel}: ${what} must be a matrix (shape [${t.shape.join(', ')}])`);
  return [rows, cols];
}

// A training batch as the step's tensors: x, the rows at hook_point_in times the dataset scale s_in, and y, those at
// hook_point_out times s_out (the same tensor for an SAE). On the wasm and cpu backends the rows are copied into
// tensor memory with the scale applied on the way (gatherRows: float32(v · float32(s)), the bits of tf.mul by the
// scalar), one pass instead of an upload, a multiply and a second tensor; the batch's arrays are then free again.
// Elsewhere (webgpu uploads lazily, from the array itself) it is tf.tensor2d and tf.mul as before.
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationBatch } from '../activations';
import { gatherRows } from '../activations/row-gather';
import { tensorMemory } from '../tensor/native/tensor-memory';
import { entryOf } from '../util/lookup';

export interface BatchTensors {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
  /** Whether the tensors hold copies: the batch's arrays may then be reused (ActivationStream.release). */
  copied: boolean;
}

export function batchTensors(
  batch: ActivationBatch,
  hooks: { hookIn: string; hookOut: string },
  d: number,
  sIn: number,
  sOut: number,
): BatchTensors {
  const rows = (hook: string) => entryOf(batch.acts, hook, 'activation batch');
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') {
    const [x, y] = tf.tidy(() => {
      const xs = scaled(tf.tensor2d(rows(hooks.hookIn), [batch.rows, d]), sIn);
      if (hooks.hookOut === hooks.hookIn) return [xs, xs];
      return [xs, scaled(tf.tensor2d(rows(hooks.hookOut), [batch.rows, d]), sOut)];
    });
    return { x, y, copied: false };
  }
  const mem = tensorMemory(backend, tf.backend());
  const upload = (hook: string, scale: number): tf.Tensor2D => {
    const info = mem.allocate([batch.rows, d]);
    // The view after the allocation: on wasm an allocation may grow (and detach) the heap.
    const view = mem.view(info);
    if (!view) {
      mem.dispose(info);
      throw new Error(`batchTensors: tensor memory is not addressable on ${backend}`);
    }
    gatherRows(rows(hook), view, d, null, 0, 0, batch.rows, scale);
    return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor2D;
  };
  const x = upload(hooks.hookIn, sIn);
  const y = hooks.hookOut === hooks.hookIn ? x : upload(hooks.hookOut, sOut);
  return { x, y, copied: true };
}

function scaled(t: tf.Tensor2D, s: number): tf.Tensor2D {
  return s === 1 ? t : tf.mul(t, s);
}

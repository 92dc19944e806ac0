// Gradients tfjs lacks or computes slowly: TopK and ScatterNd (absent from tfjs 4.22) and BatchMatMul with explicit
// transposes (the wasm backend's transposed matmul is ~10x slower than a transpose followed by a plain one); and
// the gradients of our own kernels (each beside its kernel, e.g. kernels/row-sq-err/grad.ts).
import * as tf from '@tensorflow/tfjs-core';
import { rowSqErrGradConfig } from './kernels/row-sq-err/grad';

let registered = false;

/** Idempotent; called by the backend bootstrap so every backend sees the same gradients. */
export function registerCustomGradients(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient(topKGradConfig);
  tf.registerGradient(batchMatMulGradConfig);
  tf.registerGradient(scatterNdGradConfig);
  tf.registerGradient(rowSqErrGradConfig);
}

/** ScatterNd (absent from tfjs's gradients): d updates = gatherND(dy, indices); indices get none. */
export const scatterNdGradConfig: tf.GradConfig = {
  kernelName: tf.ScatterNd,
  inputsToSave: ['indices'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [indices] = saved as [tf.Tensor];
    return { updates: () => tf.gatherND(dy as tf.Tensor, indices), indices: () => tf.zeros(indices.shape, 'float32') };
  },
};

/** d values → scattered back to the positions TopK selected along the last axis; indices get no gradient. */
export const topKGradConfig: tf.GradConfig = {
  kernelName: tf.TopK,
  inputsToSave: ['x'],
  outputsToSave: [false, true],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
    const [x, indices] = saved as [tf.Tensor, tf.Tensor];
    const dValues = Array.isArray(dy) ? dy[0]! : dy;
    return { x: () => scatterLastAxis(dValues, indices, x.shape) };
  },
};

/** out[..., indices[..., j]] = values[..., j], zeros elsewhere; `shape` is the output shape. */
export function scatterLastAxis(values: tf.Tensor, indices: tf.Tensor, shape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const n = shape[shape.length - 1]!;
    const k = indices.shape[indices.shape.length - 1]!;
    const rows = indices.size / k;
    const rowStart = tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(n, 'int32')).reshape([rows, 1]); // [rows, 1]
    const flat = tf.add(indices.reshape([rows, k]), rowStart).reshape([rows * k, 1]); // [rows*k, 1]
    return tf.scatterND(flat, values.reshape([rows * k]), [rows * n]).reshape(shape);
  });
}

const t = (x: tf.Tensor): tf.Tensor => {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
  return tf.transpose(x, perm);
};
const mm = (a: tf.Tensor, b: tf.Tensor): tf.Tensor => tf.matMul(a, b, false, false);

/** Same maths as tfjs's own BatchMatMul gradient, with every transpose made explicit. */
export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
    const g = dy as tf.Tensor;
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const transposeA = Boolean(attrs?.transposeA);
    const transposeB = Boolean(attrs?.transposeB);
    if (!transposeA && !transposeB) return { a: () => mm(g, t(b)), b: () => mm(t(a), g) };
    if (!transposeA && transposeB) return { a: () => mm(g, b), b: () => mm(t(g), a) };
    if (transposeA && !transposeB) return { a: () => mm(b, t(g)), b: () => mm(a, g) };
    return { a: () => mm(t(b), t(g)), b: () => mm(t(g), t(a)) };
  },
};

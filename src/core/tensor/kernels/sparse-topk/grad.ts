// The sparse TopK op's gradient (the op is a tf.customGrad in sae/sparse/sparse-topk.ts: these are its gradFuncs).
// Host backends: one native backward kernel. Webgpu: the latent gradient, then each parameter's gradient summed over
// the latent CSR's segments (no dense [B, d_sae] gradient, no float atomics).
import * as tf from '@tensorflow/tfjs-core';
import { SAE_SPARSE_TOPK_BACKWARD } from '../kernel-names';
import { webgpuLatentGrad, webgpuSegmentOuter, webgpuSegmentReduce } from './webgpu';

/** What the host backward reads: the forward's inputs and its selection, as they are (not saved copies). */
export interface HostSparseTopKGradInputs {
  x: tf.Tensor2D;
  values: tf.Tensor;
  indices: tf.Tensor;
  we: tf.Tensor;
  wd: tf.Tensor;
  bd: tf.Tensor;
  useBias: boolean;
}

/** [dW_E, db_E, dW_D, db_D] on the wasm and cpu backends. */
export function hostSparseTopKGrad(dy: tf.Tensor, s: HostSparseTopKGradInputs): tf.Tensor[] {
  if (s.values.isDisposed || s.indices.isDisposed)
    throw new Error("sparse TopK: the forward's values and indices were disposed before the gradient was taken");
  const inputs = {
    dy,
    x: s.x,
    values: s.values,
    indices: s.indices,
    we: s.we,
    wd: s.wd,
    ...(s.useBias ? { bd: s.bd } : {}),
  };
  return tf
    .engine()
    .runKernel(SAE_SPARSE_TOPK_BACKWARD, inputs, { applyBias: s.useBias } as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

/** What the webgpu backward reads, saved by the forward: the encoder's input, the weights, the selection and its CSR. */
export interface WebGpuSparseTopKSaved {
  xin: tf.Tensor2D;
  we: tf.Tensor2D;
  wd: tf.Tensor2D;
  values: tf.Tensor2D;
  indices: tf.Tensor2D;
  csr: { entries: tf.Tensor1D; offsets: tf.Tensor2D };
}

/** [dx (zeros: x is data), dW_E, db_E, dW_D, db_D] on webgpu; `subtractBias` when b_D was taken from the encoder's input. */
export function webgpuSparseTopKGrad(
  dy: tf.Tensor2D,
  s: WebGpuSparseTopKSaved,
  x: tf.Tensor2D,
  subtractBias: boolean,
): tf.Tensor[] {
  const [F, d] = [s.we.shape[1], s.we.shape[0]];
  const dz = webgpuLatentGrad(dy, s.values, s.indices, s.wd); // [B, k]
  const dW_D = webgpuSegmentOuter(s.values, dy, s.csr); // [F, d]
  const dW_Et = webgpuSegmentOuter(dz, s.xin, s.csr); // [F, d]
  const dW_E = tf.transpose(dW_Et); // [d, F]
  const db_E = webgpuSegmentReduce(dz, s.csr, 'sum'); // [F]
  // b_D reaches the output directly and, when subtracted from the encoder's input, through W_E: −W_E·db_E.
  const db_D = subtractBias
    ? tf.sub(tf.sum(dy, 0), tf.reshape(tf.matMul(s.we, tf.reshape(db_E, [F, 1])), [d]))
    : tf.sum(dy, 0);
  tf.dispose([dz, dW_Et]);
  return [tf.zerosLike(x), dW_E, db_E, dW_D, db_D];
}

// What the fused step's webgpu backward passes share: the kernel's call (inputs, attributes, sizes), the backend and
// the Adam constants as uniforms, and the latent CSR they sum over.
import type * as tf from '@tensorflow/tfjs-core';
import type { BackwardAdamCall } from '../backward-adam-call';
import type { Hyper } from './wgsl';

/** What every pass of the backward reads: the kernel's call, the backend, and the Adam constants as uniforms. */
export interface BackwardPassContext extends BackwardAdamCall {
  backend: unknown;
  adamUniforms: Hyper;
}

/** The latent CSR of the batch's selection (sparse-topk/webgpu/latent-csr.ts). */
export interface Csr {
  entries: tf.TensorInfo;
  offsets: tf.TensorInfo;
}

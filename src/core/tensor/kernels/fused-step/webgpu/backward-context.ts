// What the fused step's webgpu backward passes share: the kernel's inputs and sizes, the parameter sets they update
// and the latent CSR they sum over.
import type * as tf from '@tensorflow/tfjs-core';
import type { Hyper } from './wgsl';

/** What every pass of the backward reads: the kernel's inputs and sizes, and the Adam constants as uniforms. */
export interface BackwardPassContext {
  backend: unknown;
  t: Record<string, tf.TensorInfo>;
  B: number;
  d: number;
  F: number;
  k: number;
  unitRows: boolean;
  applyBias: boolean;
  adamUniforms: Hyper;
}

/** A parameter's value and moments as the update passes write them. */
export interface ParamSet {
  p: tf.TensorInfo;
  m: tf.TensorInfo;
  v: tf.TensorInfo;
}

/** The latent CSR of the batch's selection (sparse-topk/webgpu/latent-csr.ts). */
export interface Csr {
  entries: tf.TensorInfo;
  offsets: tf.TensorInfo;
}

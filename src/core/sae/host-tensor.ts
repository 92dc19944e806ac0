// Plain Float32Array tensors on the host, the currency of initialisation, checkpoints and file formats.
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '../lm/params';

export type { HostTensor } from '../lm/params';
export type HostParams = Record<string, HostTensor>;

export function hostTensor(data: Float32Array, shape: number[]): HostTensor {
  return { data, shape };
}

/** Reads tensors back from the backend (async: webgpu cannot read synchronously). */
export async function toHost(tensors: Record<string, tf.Tensor>): Promise<HostParams> {
  const out: HostParams = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = { data: (await t.data()) as Float32Array, shape: [...t.shape] };
  return out;
}

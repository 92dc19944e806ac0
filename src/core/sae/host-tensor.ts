// Plain Float32Array tensors on the host, the currency of initialisation, checkpoints and file formats.
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '../lm/params';
import { entryOf } from '../util/lookup';

export type { HostTensor } from '../lm/params';
export type HostParams = Record<string, HostTensor>;

export function hostTensor(data: Float32Array, shape: number[]): HostTensor {
  return { data, shape };
}

/** Reads tensors back from the backend (async: webgpu cannot read synchronously). */
export async function toHost(tensors: Record<string, tf.Tensor>): Promise<HostParams> {
  const out: HostParams = {};
  for (const [name, t] of Object.entries(tensors))
    out[name] = { data: (await t.data()) as Float32Array, shape: [...t.shape] };
  return out;
}

/** A scalar tensor's value (the first element of any tensor), read back from the backend. */
export async function scalarValue(t: tf.Tensor): Promise<number> {
  const value = (await t.data())[0];
  if (value === undefined) throw new Error(`expected a value, got an empty tensor of shape [${t.shape}]`);
  return Number(value);
}

/** `params[name]`, which the dictionary's config requires: a missing one is an error that names it. */
export function hostParam(params: HostParams, name: string): HostTensor {
  return entryOf(params, name, 'dictionary parameters');
}

// The fused Adam update ('SaeAdamUpdate') on the wasm and cpu backends, computed by the native addon straight on
// the tensors' memory: one pass instead of ~10 elementwise ops per parameter.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { tensorMemory, type HostBackendName } from '../../native/tensor-memory';
import { SAE_ADAM_UPDATE } from '../kernel-names';
import type { AdamAttrs } from './op';

interface AdamKernels {
  adamUpdate(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    stepSize: number,
    beta1: number,
    oneMinusBeta1: number,
    beta2: number,
    oneMinusBeta2: number,
    eps: number,
    sqrtC2: number,
    pOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    unitRowLength?: number,
  ): void;
}

/** Registers the kernel for `backendName` when the addon has it (idempotent); returns whether it is available. */
export function registerHostAdamUpdate(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_ADAM_UPDATE, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<AdamKernels> | null;
  if (!k || typeof k.adamUpdate !== 'function') return false;
  const native = k as AdamKernels;
  tf.registerKernel({
    kernelName: SAE_ADAM_UPDATE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
      const a = attrs as unknown as AdamAttrs;
      const mem = tensorMemory(backendName, backend);
      const [pOut, mOut, vOut] = [mem.allocate(p.shape), mem.allocate(p.shape), mem.allocate(p.shape)];
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const view = (t: tf.TensorInfo) => {
        const arr = mem.view(t);
        if (!arr) throw new Error(`${SAE_ADAM_UPDATE}: tensor memory is not addressable on ${backendName}`);
        return arr;
      };
      native.adamUpdate(
        view(p),
        view(g),
        view(m),
        view(v),
        a.stepSize,
        a.beta1,
        1 - a.beta1,
        a.beta2,
        1 - a.beta2,
        a.eps,
        a.sqrtC2,
        view(pOut),
        view(mOut),
        view(vOut),
        a.unitRowLength,
      );
      return [pOut, mOut, vOut];
    },
  });
  return true;
}

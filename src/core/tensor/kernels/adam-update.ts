// The fused Adam update as a tfjs kernel ('SaeAdamUpdate') on the wasm and cpu backends, computed by the native
// addon straight on the tensors' memory (one pass instead of ~10 elementwise ops per parameter). Where it is
// not registered (webgpu, or no addon) the optimiser keeps its plain-tfjs formulation.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../native/native-blas';
import { tensorMemory, type HostBackendName } from '../native/tensor-memory';

export const SAE_ADAM_UPDATE = 'SaeAdamUpdate';

interface AdamKernels {
  adamUpdate(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, stepSize: number, beta1: number, oneMinusBeta1: number, beta2: number,
    oneMinusBeta2: number, eps: number, sqrtC2: number, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, unitRowLength?: number): void;
}

export interface AdamAttrs {
  stepSize: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** sqrt(1 − beta2^step): the second-moment bias correction. */
  sqrtC2: number;
  /**
   * p is a matrix of rows this long kept at unit norm: the gradient's component along each row is removed first
   * and the rows are renormalised after, in the same pass (the decoder constraint of TopK SAEs).
   */
  unitRowLength?: number;
}

/** Registers the kernel for `backendName` when the addon has it; returns whether it is available. */
export function registerNativeAdam(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_ADAM_UPDATE, backendName)) return true;
  const load = loadNativeBlas();
  const k = load.blas as unknown as Partial<AdamKernels> | null;
  if (!k || typeof k.adamUpdate !== 'function') return false;
  const native = k as AdamKernels;
  tf.registerKernel({
    kernelName: SAE_ADAM_UPDATE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
      const a = attrs as unknown as AdamAttrs;
      const mem = tensorMemory(backendName, backend);
      const outs = [mem.allocate(p.shape), mem.allocate(p.shape), mem.allocate(p.shape)];
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const view = (t: tf.TensorInfo) => {
        const arr = mem.view(t);
        if (!arr) throw new Error(`${SAE_ADAM_UPDATE}: tensor memory is not addressable on ${backendName}`);
        return arr;
      };
      native.adamUpdate(view(p), view(g), view(m), view(v), a.stepSize, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.eps, a.sqrtC2, view(outs[0]!), view(outs[1]!), view(outs[2]!), a.unitRowLength);
      return outs;
    },
  });
  return true;
}

/** [p', m', v'] from the native kernel on the active backend, or null where it is not registered. */
export function nativeAdamUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamAttrs): tf.Tensor[] | null {
  if (!tf.getKernel(SAE_ADAM_UPDATE, tf.getBackend())) return null;
  if (attrs.unitRowLength !== undefined && (p.rank !== 2 || p.shape[1] !== attrs.unitRowLength)) return null;
  if ([p, g, m, v].some((t) => t.dtype !== 'float32')) return null;
  return tf.engine().runKernel(SAE_ADAM_UPDATE, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

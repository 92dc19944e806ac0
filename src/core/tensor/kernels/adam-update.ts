// The fused Adam update as a tfjs kernel ('SaeAdamUpdate') on the wasm and cpu backends, computed by the native
// addon straight on the tensors' memory (one pass instead of ~10 elementwise ops per parameter). Where it is
// not registered (webgpu, or no addon) the optimiser keeps its plain-tfjs formulation.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../native/native-blas';
import { tensorMemory, type HostBackendName } from '../native/tensor-memory';

export const SAE_ADAM_UPDATE = 'SaeAdamUpdate';
/** The same step written over p, m and v themselves (the optimiser's own variables): see nativeAdamUpdateInPlace. */
export const SAE_ADAM_UPDATE_IN_PLACE = 'SaeAdamUpdateInPlace';

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
  if (tf.getKernel(SAE_ADAM_UPDATE, backendName) && tf.getKernel(SAE_ADAM_UPDATE_IN_PLACE, backendName)) return true;
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
  tf.registerKernel({
    kernelName: SAE_ADAM_UPDATE_IN_PLACE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
      const a = attrs as unknown as AdamAttrs;
      const mem = tensorMemory(backendName, backend);
      const done = mem.allocate([0]); // a kernel returns a tensor; this one's result is in its inputs
      const view = (t: tf.TensorInfo) => {
        const arr = mem.view(t);
        if (!arr) throw new Error(`${SAE_ADAM_UPDATE_IN_PLACE}: tensor memory is not addressable on ${backendName}`);
        return arr;
      };
      const [vp, vm, vv] = [view(p), view(m), view(v)];
      native.adamUpdate(vp, view(g), vm, vv, a.stepSize, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.eps, a.sqrtC2, vp, vm, vv, a.unitRowLength);
      return done;
    },
  });
  return true;
}

/**
 * The Adam step written over the memory of p, m and v (returns false, doing nothing, where the kernel is not
 * registered). The outputs then reuse the cache lines the step has just read instead of pulling fresh memory in
 * (the moments of a large dictionary outgrow L3). For the optimiser's parameters and moments, which nothing reads
 * afterwards expecting the old values.
 */
export function nativeAdamUpdateInPlace(p: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, attrs: AdamAttrs): boolean {
  if (!tf.getKernel(SAE_ADAM_UPDATE_IN_PLACE, tf.getBackend())) return false;
  if ([p, g, m, v].some((t) => t.dtype !== 'float32')) return false;
  // Only buffers no other tensor shares (a clone on the cpu backend, the tensor a variable was made from): those
  // take the out-of-place kernel, after which the variable owns a buffer of its own.
  const backend = tf.engine().backend as unknown as { refCount?(dataId: object): number };
  if (![p, m, v].every((t) => backend.refCount?.(t.dataId) === 1)) return false;
  if (attrs.unitRowLength !== undefined && (p.rank !== 2 || p.shape[1] !== attrs.unitRowLength)) return false;
  (tf.engine().runKernel(SAE_ADAM_UPDATE_IN_PLACE, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor).dispose();
  return true;
}

/** [p', m', v'] from the native kernel on the active backend, or null where it is not registered. */
export function nativeAdamUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamAttrs): tf.Tensor[] | null {
  if (!tf.getKernel(SAE_ADAM_UPDATE, tf.getBackend())) return null;
  if (attrs.unitRowLength !== undefined && (p.rank !== 2 || p.shape[1] !== attrs.unitRowLength)) return null;
  if ([p, g, m, v].some((t) => t.dtype !== 'float32')) return null;
  return tf.engine().runKernel(SAE_ADAM_UPDATE, { p, g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
}

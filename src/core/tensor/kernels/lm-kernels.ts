// A fused language-model kernel on the wasm and cpu backends, computed by the native addon on the tensors'
// memory: a row norm (LayerNorm / RMSNorm with its weight and bias) in one pass instead of ~8 tfjs kernels
// (3.2 vs 5.5 ms on [4096, 256], `npm run bench:kernels`). Forward only: the model uses it outside gradient computations and where no
// hook watches the norm's scale; elsewhere it keeps its plain-tfjs formulation. (A fused GELU was tried and
// dropped: one scalar-expf pass was no faster than tfjs-wasm's vectorised sigmoid formulation.)
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../native/native-blas';
import { tensorMemory, type HostBackendName } from '../native/tensor-memory';

export const SAE_ROW_NORM = 'SaeRowNorm';

interface LmKernels {
  rowNorm(x: Float32Array, w: Float32Array, b: Float32Array | null, rows: number, d: number, eps: number, rms: boolean, out: Float32Array): void;
}

/** Registers the kernel for `backendName` when the addon has it; returns whether it is available. */
export function registerNativeLmKernels(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_ROW_NORM, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<LmKernels> | null;
  if (!k || typeof k.rowNorm !== 'function') return false;
  const native = k as LmKernels;
  const viewer = (backend: unknown) => {
    const mem = tensorMemory(backendName, backend);
    const view = (t: tf.TensorInfo) => {
      const arr = mem.view(t);
      if (!arr) throw new Error(`lm kernels: tensor memory is not addressable on ${backendName}`);
      return arr;
    };
    return { mem, view };
  };
  tf.registerKernel({
    kernelName: SAE_ROW_NORM,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, b } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
      const { eps, rms } = attrs as unknown as { eps: number; rms: boolean };
      const d = x.shape[x.shape.length - 1]!;
      const { mem, view } = viewer(backend);
      const out = mem.allocate([...x.shape]);
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      native.rowNorm(view(x), view(w), b ? view(b) : null, tf.util.sizeFromShape(x.shape) / d, d, eps, rms, view(out));
      return out;
    },
  });
  return true;
}

/** Whether a fused kernel may run now: registered on the active backend, and no gradient is being recorded. */
function usable(kernel: string, ...ts: tf.Tensor[]): boolean {
  if (!tf.getKernel(kernel, tf.getBackend())) return false;
  if ((tf.engine().state as { gradientDepth?: number }).gradientDepth !== 0) return false;
  return ts.every((t) => t.dtype === 'float32');
}

/** The row norm of x over its last axis, or null where the fused kernel cannot run. */
export function fusedRowNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, eps: number, rms: boolean): tf.Tensor | null {
  const d = x.shape[x.shape.length - 1]!;
  if (w.size !== d || (b && b.size !== d) || !usable(SAE_ROW_NORM, x, w, ...(b ? [b] : []))) return null;
  const inputs: tf.NamedTensorMap = b ? { x, w, b } : { x, w };
  return tf.engine().runKernel(SAE_ROW_NORM, inputs, { eps, rms } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

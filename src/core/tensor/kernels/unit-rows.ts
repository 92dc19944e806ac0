// The unit-norm decoder constraint as fused kernels on the wasm and cpu backends, computed by the native addon on
// the tensors' memory: the gradient's component along each (unit) decoder row removed, and the rows renormalised,
// each in one pass instead of 4–5 tfjs kernels over [d_sae, d_model]. Elsewhere the training step keeps its
// plain-tfjs formulation (the same arithmetic, summed in another order).
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../native/native-blas';
import { tensorMemory, type HostBackendName } from '../native/tensor-memory';

export const SAE_UNIT_ROWS = 'SaeUnitRows';

interface UnitRowKernels {
  unitRows(g: Float32Array | null, w: Float32Array, rows: number, d: number, out: Float32Array): void;
}

/** Registers the kernel for `backendName` when the addon has it; returns whether it is available. */
export function registerNativeUnitRows(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_UNIT_ROWS, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<UnitRowKernels> | null;
  if (!k || typeof k.unitRows !== 'function') return false;
  const native = k as UnitRowKernels;
  tf.registerKernel({
    kernelName: SAE_UNIT_ROWS,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { w, g } = inputs as { w: tf.TensorInfo; g?: tf.TensorInfo };
      const [rows, d] = w.shape as [number, number];
      const mem = tensorMemory(backendName, backend);
      const out = mem.allocate([rows, d]);
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const view = (t: tf.TensorInfo) => {
        const arr = mem.view(t);
        if (!arr) throw new Error(`${SAE_UNIT_ROWS}: tensor memory is not addressable on ${backendName}`);
        return arr;
      };
      native.unitRows(g ? view(g) : null, view(w), rows, d, view(out));
      return out;
    },
  });
  return true;
}

function fused(w: tf.Tensor2D, g?: tf.Tensor2D): tf.Tensor2D | null {
  if (!tf.getKernel(SAE_UNIT_ROWS, tf.getBackend())) return null;
  if (w.rank !== 2 || w.dtype !== 'float32' || (g && (g.dtype !== 'float32' || !tf.util.arraysEqual(g.shape, w.shape)))) return null;
  return tf.engine().runKernel(SAE_UNIT_ROWS, g ? { w, g } : { w }) as tf.Tensor2D;
}

/** g − (Σ_j g_ij w_ij) w_i for each row i of the unit-row matrix w: the gradient moves along the sphere. */
export function projectOutRows(g: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return fused(w, g) ?? tf.tidy(() => tf.sub(g, tf.mul(tf.sum(tf.mul(g, w), 1, true), w)));
}

/** Each row of w divided by its L2 norm. */
export function normalizeRows(w: tf.Tensor2D): tf.Tensor2D {
  return fused(w) ?? tf.tidy(() => tf.div(w, tf.sqrt(tf.sum(tf.square(w), 1, true))));
}

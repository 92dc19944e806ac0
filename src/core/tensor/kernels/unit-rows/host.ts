// The unit-norm decoder constraint ('SaeUnitRows') on the wasm and cpu backends, computed by the native addon on
// the tensors' memory: the gradient's component along each (unit) decoder row removed, or the rows renormalised,
// each in one pass instead of 4–5 tfjs kernels over [d_sae, d_model].
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { tensorMemory, type HostBackendName } from '../../native/tensor-memory';
import { SAE_UNIT_ROWS } from '../kernel-names';

interface UnitRowKernels {
  unitRows(g: Float32Array | null, w: Float32Array, rows: number, d: number, out: Float32Array): void;
}

/** Registers the kernel for `backendName` when the addon has it (idempotent); returns whether it is available. */
export function registerHostUnitRows(backendName: HostBackendName): boolean {
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

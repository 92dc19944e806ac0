// HF's gelu_new (the tanh GELU, 'SaeGeluNew') on the wasm and cpu backends, by the native addon in one
// multi-threaded pass with AVX-512 exp (tfjs runs six elementwise kernels on one thread). A first fused GELU with
// scalar expf was no faster than tfjs-wasm's vectorised sigmoid formulation; vectorised and on both cores it is.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import type { HostBackendName } from '../../native/tensor-memory';
import { SAE_GELU_NEW } from '../kernel-names';
import { nativeViewer } from '../native-view';

interface GeluKernels {
  geluNew(x: Float32Array, n: number, out: Float32Array): boolean;
}

/**
 * Registers the kernel for `backendName` where the addon has it and the CPU runs it (AVX-512: the addon says so
 * when asked once, on one element); idempotent; returns whether it is available.
 */
export function registerHostGeluNew(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_GELU_NEW, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<GeluKernels> | null;
  if (!k || typeof k.geluNew !== 'function' || !k.geluNew(new Float32Array(1), 1, new Float32Array(1))) return false;
  const native = k as GeluKernels;
  tf.registerKernel({
    kernelName: SAE_GELU_NEW,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      const { mem, view } = nativeViewer(backendName, backend, SAE_GELU_NEW);
      const out = mem.allocate([...x.shape]);
      const n = tf.util.sizeFromShape(x.shape);
      if (!native.geluNew(view(x), n, view(out))) {
        mem.dispose(out);
        throw new Error(`${SAE_GELU_NEW}: not available on this CPU`);
      }
      return out;
    },
  });
  return true;
}

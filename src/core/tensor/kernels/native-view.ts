// The host backends' tensor memory as the native kernels read it: allocation, and a float view that throws where
// the backend's memory is not addressable (shared by the LM kernels' host implementations).
import type * as tf from '@tensorflow/tfjs-core';
import { tensorMemory, type HostBackendName } from '../native/tensor-memory';

export function nativeViewer(backendName: HostBackendName, backend: unknown, kernel: string) {
  const mem = tensorMemory(backendName, backend);
  const view = (t: tf.TensorInfo) => {
    const arr = mem.view(t);
    if (!arr) throw new Error(`${kernel}: tensor memory is not addressable on ${backendName}`);
    return arr;
  };
  return { mem, view };
}

// GatherV2 along axis 0 (a row lookup: token embeddings, decoder rows) on the wasm and cpu backends, as plain row
// copies on the tensors' memory: 4.4 ms against tfjs-wasm's 32.9 ms for 4096 rows of 256 floats, result read back
// (`npm run bench:kernels`). Every other case (another axis, batch dimensions, dtypes, an index out of range) goes to tfjs's kernel.
import * as tf from '@tensorflow/tfjs-core';
import { tensorMemory, type HostBackendName } from '../../native/tensor-memory';

const replaced = new Map<HostBackendName, tf.KernelConfig>();

/** Puts the row gather in front of `backendName`'s GatherV2 (idempotent); returns a function restoring tfjs's. */
export function registerRowGather(backendName: HostBackendName): () => void {
  const restore = () => {
    const original = replaced.get(backendName);
    if (!original) return;
    tf.unregisterKernel(tf.GatherV2, backendName);
    tf.registerKernel(original);
    replaced.delete(backendName);
  };
  if (replaced.has(backendName)) return restore;
  const original = tf.getKernel(tf.GatherV2, backendName);
  if (!original) return restore;
  replaced.set(backendName, original);
  tf.unregisterKernel(tf.GatherV2, backendName);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
      const rank = x.shape.length;
      const ax = axis < 0 ? axis + rank : axis;
      if (ax !== 0 || (batchDims ?? 0) !== 0 || rank < 1 || x.dtype !== 'float32' || indices.dtype !== 'int32')
        return original.kernelFunc(args);
      const mem = tensorMemory(backendName, backend);
      const ids = mem.viewInt32(indices);
      const rows = x.shape[0]!;
      if (!ids || ids.some((i) => i < 0 || i >= rows)) return original.kernelFunc(args);
      const width = x.shape.slice(1).reduce((a, b) => a * b, 1);
      const out = mem.allocate([...indices.shape, ...x.shape.slice(1)]);
      // Views only after the allocation: on wasm an allocation may grow (and detach) the heap.
      const src = mem.view(x);
      const dst = mem.view(out);
      const idx = mem.viewInt32(indices);
      if (!src || !dst || !idx) {
        mem.dispose(out);
        return original.kernelFunc(args);
      }
      for (let r = 0; r < idx.length; r++) {
        const from = idx[r]! * width;
        dst.set(src.subarray(from, from + width), r * width);
      }
      return out;
    },
  });
  return restore;
}

// TopK along the last axis on the wasm backend by the native addon (native/src/row_topk.c): one scan per row
// keeping the best k, the rows in parallel, where tfjs-wasm sorts each whole row on one thread (the dense TopK
// dictionary's [rows, 4096], k 32, in the evaluation). The same values and indices as tfjs-wasm's kernel with
// `sorted` (tfjs-backend-wasm/src/cc/kernels/TopK.cc: a Floyd–Rivest select of the k first, then std::sort, both by
// values descending, equal values by ascending index: without NaNs a total order, so one exact answer). Unsorted
// (the select's own order), a row with a NaN, an int32 input, k = 0 or k > 256 go to tfjs's kernel, kept behind it.
// wasm only: the cpu backend's TopK is tfjs-core's own (a partial select, `sorted` honoured), with its own order.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { tensorMemory } from '../../native/tensor-memory';

/** The largest k the native kernel takes (ROW_TOPK_MAX_K in row_topk.h). */
export const ROW_TOPK_MAX_K = 256;

interface RowTopKKernel {
  rowTopK(x: Float32Array, rows: number, n: number, k: number, values: Float32Array, indices: Int32Array): boolean;
}

let replaced: tf.KernelConfig | null = null;

/**
 * Puts the native TopK in front of wasm's TopK when the addon has it (idempotent); returns a function restoring
 * tfjs's kernel, or null where the addon lacks it.
 */
export function registerRowTopK(): (() => void) | null {
  const restore = () => {
    if (!replaced) return;
    tf.unregisterKernel(tf.TopK, 'wasm');
    tf.registerKernel(replaced);
    replaced = null;
  };
  if (replaced) return restore;
  const addon = loadNativeBlas().blas as unknown as Partial<RowTopKKernel> | null;
  if (!addon || typeof addon.rowTopK !== 'function') return null;
  const native = addon as RowTopKKernel;
  const original = tf.getKernel(tf.TopK, 'wasm');
  if (!original) return null;
  replaced = original;
  tf.unregisterKernel(tf.TopK, 'wasm');
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { inputs, backend, attrs } = args;
      const { x } = inputs as { x: tf.TensorInfo };
      const { k, sorted } = attrs as unknown as { k: number; sorted: boolean };
      const n = x.shape[x.shape.length - 1] ?? 0;
      const size = x.shape.reduce((a, b) => a * b, 1);
      if (
        !sorted ||
        x.dtype !== 'float32' ||
        !Number.isInteger(k) ||
        k < 1 ||
        k > n ||
        k > ROW_TOPK_MAX_K ||
        size === 0
      ) {
        return original.kernelFunc(args);
      }
      const mem = tensorMemory('wasm', backend);
      const shape = [...x.shape.slice(0, -1), k];
      const values = mem.allocate(shape);
      const indices = mem.allocateInt32(shape);
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const xv = mem.view(x);
      const vv = mem.view(values);
      const iv = mem.viewInt32(indices);
      if (xv && vv && iv && native.rowTopK(xv, size / n, n, k, vv, iv)) return [values, indices];
      mem.dispose(values);
      mem.dispose(indices);
      return original.kernelFunc(args);
    },
  });
  return restore;
}

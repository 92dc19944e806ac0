// The fused step's encode on webgpu ('SaeSparseTopKEncode'): the tiled encoder, the TopK selection of the sparse
// path, then the values after ReLU with the firing counts (integer atomics) — [values, indices, fired]; the batch in
// row chunks whose pre-activations fit one storage binding.
import * as tf from '@tensorflow/tfjs-core';
import { matrixShape, requireInputs } from '../../kernel-inputs';
import { SAE_FUSED_ENCODE } from '../../kernel-names';
import { topKSelectInfo } from '../../sparse-topk/webgpu/select';
import { allocate } from '../../webgpu-dispatch';
import { DEFAULT_ENCODER_TILING, encoderKernel } from './tiled-encoder';
import { dispatchFlat, read, write } from './wgsl';

/**
 * Rows of the batch one encoder pass takes: the pre-activations [rows, F] must fit one storage binding
 * (2 GiB on an H200, 128 MiB on lavapipe); `cap` lowers it (tests).
 */
function encodeChunkRows(backend: unknown, B: number, F: number, cap?: number): number {
  const limit = (backend as { device: GPUDevice }).device.limits.maxStorageBufferBindingSize;
  const rows = Math.max(1, Math.floor(limit / (4 * F)));
  return Math.min(B, rows, cap ?? Infinity);
}

export function registerWebGpuFusedEncode(): void {
  tf.registerKernel({
    kernelName: SAE_FUSED_ENCODE,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be } = requireInputs(SAE_FUSED_ENCODE, inputs, ['x', 'we', 'be']);
      const bd = inputs.bd;
      const { k, chunkRows } = attrs as unknown as { k: number; chunkRows?: number };
      const B = matrixShape(SAE_FUSED_ENCODE, x, 'x')[0];
      const F = matrixShape(SAE_FUSED_ENCODE, we, 'W_E')[1];
      const kb = backend as tf.KernelBackend;
      const indices = allocate(backend, [B, k], 'int32');
      const values = allocate(backend, [B, k]);
      const counts = allocate(backend, [F], 'int32');
      const fired = allocate(backend, [F]);
      dispatchFlat(backend, 'SaeFusedZeroCounts', F, [write('counts', counts, 'i32')], 'counts[i] = 0;');
      // The batch in row chunks whose pre-activations fit one binding (one chunk at the usual sizes).
      const step = encodeChunkRows(backend, B, F, chunkRows);
      for (let r0 = 0; r0 < B; r0 += step) {
        const rows = Math.min(step, B - r0);
        const pre = allocate(backend, [rows, F]);
        encoderKernel(backend, x, we, be, bd ?? null, pre, DEFAULT_ENCODER_TILING, r0);
        const chosen = topKSelectInfo(backend, pre, k);
        dispatchFlat(
          backend,
          'SaeFusedGatherCount',
          rows * k,
          [
            read('pre', pre),
            read('chosen', chosen, 'i32'),
            write('values', values),
            write('indices', indices, 'i32'),
            write('counts', counts, 'atomic<i32>'),
          ],
          `
            let f = chosen[i];
            let v = max(pre[(i / u.k) * u.F + f], 0.0);
            values[u.at + i] = v;
            indices[u.at + i] = f;
            if (v > 0.0) { atomicAdd(&counts[f], 1); }`,
          [
            ['k', 'i32', k],
            ['F', 'i32', F],
            ['at', 'i32', r0 * k],
          ],
        );
        kb.disposeData(pre.dataId);
        kb.disposeData(chosen.dataId);
      }
      dispatchFlat(
        backend,
        'SaeFusedCountsToFloat',
        F,
        [read('counts', counts, 'i32'), write('fired', fired)],
        'fired[i] = f32(counts[i]);',
      );
      kb.disposeData(counts.dataId);
      return [values, indices, fired];
    },
  });
}

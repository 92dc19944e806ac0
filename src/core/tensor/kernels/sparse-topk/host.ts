// The sparse TopK op's forward (TopK, BatchTopK) and backward passes as kernels of the wasm and cpu backends, on the
// native addon (native/src/sparse_topk.c and its sgemm), so it reads and writes the tensors' own memory: no copies of
// W_E, W_D or the batch in and out of JavaScript arrays each step.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { checkedMemory, type HostBackendName } from '../../native/tensor-memory';
import { SAE_SPARSE_BATCH_TOPK_FORWARD, SAE_SPARSE_TOPK_BACKWARD, SAE_SPARSE_TOPK_FORWARD } from '../kernel-names';
import { matrixShape, requireInputs } from '../kernel-inputs';
import { hostBatchEncode, preScratch, type SparseTopKKernels } from './host-batch-encode';

/** The addon's sparse TopK entry points, or null where it lacks them (an old build, or no addon). */
export function nativeSparseTopK(): SparseTopKKernels | null {
  const k = loadNativeBlas().blas as unknown as Partial<SparseTopKKernels> | null;
  return k &&
    typeof k.topkEncode === 'function' &&
    typeof k.topkDecode === 'function' &&
    typeof k.topkBackward === 'function'
    ? (k as SparseTopKKernels)
    : null;
}

/** The forward kernels' inputs (bd is b_D, or zeros without one), attributes and sizes. */
function forwardArgs(kernel: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined) {
  const { x, we, be, wd, bd } = requireInputs(kernel, inputs, ['x', 'we', 'be', 'wd', 'bd']);
  const { k, applyBias, hasBias } = attrs as unknown as { k: number; applyBias: boolean; hasBias: boolean };
  const [B, d] = matrixShape(kernel, x, 'x');
  return { x, we, be, wd, bd, k, applyBias, hasBias, B, d, F: matrixShape(kernel, we, 'W_E')[1] };
}

/** recon, values, indices, fired: the TopK encode then the decode from each token's k rows of W_D. */
function registerForward(backendName: HostBackendName, K: SparseTopKKernels): void {
  tf.registerKernel({
    kernelName: SAE_SPARSE_TOPK_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, wd, bd, k, applyBias, hasBias, B, d, F } = forwardArgs(SAE_SPARSE_TOPK_FORWARD, inputs, attrs);
      const mem = checkedMemory(backendName, backend, SAE_SPARSE_TOPK_FORWARD);
      const [recon, values, indices, fired] = [
        mem.allocate([B, d]),
        mem.allocate([B, k]),
        mem.allocateInt32([B, k]),
        mem.allocate([F]),
      ];
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const view = mem.f32;
      const bias = hasBias ? view(bd) : null;
      const idx = mem.i32(indices);
      const scratchFor = K.topkScreening?.() ? null : preScratch(B * F);
      K.topkEncode(
        view(x),
        applyBias ? bias : null,
        view(we),
        view(be),
        B,
        d,
        F,
        k,
        scratchFor,
        view(values),
        idx,
        view(fired),
      );
      K.topkDecode(view(values), idx, view(wd), bias, B, k, d, F, view(recon));
      return [recon, values, indices, fired];
    },
  });
}

/** BatchTopK's forward: the batch's selection and codes (host-batch-encode.ts), then the decode; the threshold comes last. */
function registerBatchForward(backendName: HostBackendName, K: SparseTopKKernels): void {
  tf.registerKernel({
    kernelName: SAE_SPARSE_BATCH_TOPK_FORWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, wd, bd, k, applyBias, hasBias, B, d, F } = forwardArgs(
        SAE_SPARSE_BATCH_TOPK_FORWARD,
        inputs,
        attrs,
      );
      const mem = checkedMemory(backendName, backend, SAE_SPARSE_BATCH_TOPK_FORWARD);
      const [values, indices, fired, t] = hostBatchEncode(
        backendName,
        backend,
        K,
        x,
        applyBias && hasBias ? bd : null,
        we,
        be,
        k,
      );
      const recon = mem.allocate([B, d]);
      const view = mem.f32; // after the last allocation (a wasm heap may grow)
      const W = matrixShape(SAE_SPARSE_BATCH_TOPK_FORWARD, values, 'values')[1];
      K.topkDecode(view(values), mem.i32(indices), view(wd), hasBias ? view(bd) : null, B, W, d, F, view(recon));
      return [recon, values, indices, fired, t];
    },
  });
}

/** dW_E, db_E, dW_D, db_D from the loss gradient and the forward's selection, each summed over only the selected latents. */
function registerBackward(backendName: HostBackendName, K: SparseTopKKernels): void {
  tf.registerKernel({
    kernelName: SAE_SPARSE_TOPK_BACKWARD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, x, values, indices, we, wd } = requireInputs(SAE_SPARSE_TOPK_BACKWARD, inputs, [
        'dy',
        'x',
        'values',
        'indices',
        'we',
        'wd',
      ]);
      const { applyBias } = attrs as unknown as { applyBias: boolean };
      const bd = applyBias ? requireInputs(SAE_SPARSE_TOPK_BACKWARD, inputs, ['bd']).bd : null;
      const [B, d] = matrixShape(SAE_SPARSE_TOPK_BACKWARD, x, 'x');
      const F = matrixShape(SAE_SPARSE_TOPK_BACKWARD, we, 'W_E')[1];
      const k = matrixShape(SAE_SPARSE_TOPK_BACKWARD, values, 'values')[1];
      const mem = checkedMemory(backendName, backend, SAE_SPARSE_TOPK_BACKWARD);
      const outs = [mem.allocate([d, F]), mem.allocate([F]), mem.allocate([F, d]), mem.allocate([d])];
      const view = mem.f32;
      const idx = mem.i32(indices);
      const [dW_E, db_E, dW_D, db_D] = outs.map(view) as [Float32Array, Float32Array, Float32Array, Float32Array];
      K.topkBackward(
        view(dy),
        view(x),
        bd ? view(bd) : null,
        view(values),
        idx,
        view(we),
        view(wd),
        B,
        d,
        F,
        k,
        dW_E,
        db_E,
        dW_D,
        db_D,
      );
      return outs;
    },
  });
}

/** Registers the three kernels for `backendName` when the addon has them (idempotent); returns whether they are available. */
export function registerHostSparseTopK(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_SPARSE_TOPK_FORWARD, backendName)) return true;
  const K = nativeSparseTopK();
  if (!K) return false;
  registerForward(backendName, K);
  registerBatchForward(backendName, K);
  registerBackward(backendName, K);
  return true;
}

// BatchTopK's encode on the host backends: the selection's passes (batch-selection.ts) over the addon's TopK encoder,
// then the batch's codes in fresh tensors. The body of the sparse op's and the fused step's BatchTopK kernels.
import type * as tf from '@tensorflow/tfjs-core';
import { checkedMemory, type HostBackendName } from '../../native/tensor-memory';
import { matrixShape } from '../kernel-inputs';
import { batchCodes, selectBatch } from './batch-selection';

/** The addon's sparse TopK entry points (native/src/sparse_topk_napi.c). */
export interface SparseTopKKernels {
  /** preScratch (B·F floats) serves the sgemm path; null lets the addon allocate it when it needs one. */
  topkEncode(
    x: Float32Array,
    bDecIn: Float32Array | null,
    W_E: Float32Array,
    b_E: Float32Array,
    B: number,
    d: number,
    F: number,
    k: number,
    preScratch: Float32Array | null,
    values: Float32Array,
    indices: Int32Array,
    fired: Float32Array | null,
  ): void;
  /**
   * Whether the encoder screens with 8-bit integer dot products (AVX-512 VNNI) and recomputes only the candidates in fp32
   * (native/src/topk_screen.c) instead of the full sgemm; with an argument, switches screening on or off first.
   * The selected latents are the same either way. Older builds of the addon lack it.
   */
  topkScreening?(on?: boolean): boolean;
  topkDecode(
    values: Float32Array,
    indices: Int32Array,
    W_D: Float32Array,
    b_D: Float32Array | null,
    B: number,
    k: number,
    d: number,
    F: number,
    out: Float32Array,
  ): void;
  topkBackward(
    g: Float32Array,
    x: Float32Array,
    bDecIn: Float32Array | null,
    values: Float32Array,
    indices: Int32Array,
    W_E: Float32Array,
    W_D: Float32Array,
    B: number,
    d: number,
    F: number,
    k: number,
    dW_E: Float32Array | null,
    db_E: Float32Array | null,
    dW_D: Float32Array | null,
    db_D: Float32Array | null,
  ): void;
}

let scratch = new Float32Array(0);
/** The sgemm path's [B, F] pre-activations, one buffer kept and grown for every call (screened encodes need none). */
export function preScratch(size: number): Float32Array {
  if (scratch.length < size) scratch = new Float32Array(size);
  return scratch.subarray(0, size);
}

/**
 * BatchTopK's encode on the host backends (a kernel's body): the selection's passes on the addon (x − shift, when
 * shift is given, through W_E and b_E), then the codes in fresh outputs — values and indices [B, W], the firings
 * [F] and the threshold [].
 */
export function hostBatchEncode(
  backendName: HostBackendName,
  backend: unknown,
  K: SparseTopKKernels,
  x: tf.TensorInfo,
  shift: tf.TensorInfo | null,
  we: tf.TensorInfo,
  be: tf.TensorInfo,
  k: number,
): [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] {
  const [B, d] = x.shape as [number, number];
  const F = matrixShape('BatchTopK encode', we, 'W_E')[1];
  const mem = checkedMemory(backendName, backend, 'BatchTopK encode');
  // The selection's passes write to plain arrays (no tensor is allocated until it is done, so views stay valid).
  const sel = selectBatch(
    B,
    F,
    k,
    (rows, width) => {
      const n = rows ? rows.length : B;
      let xs = mem.f32(x);
      if (rows) {
        const sub = new Float32Array(n * d);
        rows.forEach((r, i) => sub.set(xs.subarray(r * d, (r + 1) * d), i * d));
        xs = sub;
      }
      const out = { values: new Float32Array(n * width), indices: new Int32Array(n * width) };
      const scratchFor = K.topkScreening?.() ? null : preScratch(n * F);
      K.topkEncode(
        xs,
        shift ? mem.f32(shift) : null,
        mem.f32(we),
        mem.f32(be),
        n,
        d,
        F,
        width,
        scratchFor,
        out.values,
        out.indices,
        null,
      );
      return out;
    },
    `${backendName}:${B}:${F}:${k}`,
  );
  const W = Math.max(...sel.values.map((v) => v.length));
  const outs: [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo] = [
    mem.allocate([B, W]),
    mem.allocateInt32([B, W]),
    mem.allocate([F]),
    mem.allocate([]),
  ];
  batchCodes(sel, W, mem.f32(outs[0]), mem.i32(outs[1]), mem.f32(outs[2]));
  mem.f32(outs[3])[0] = sel.threshold;
  return outs;
}

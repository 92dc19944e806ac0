// The sparse TopK path: the encoder matmul, a per-row top-k selection, and a decoder and backward pass that touch
// only the k selected latents per token. On the CPU backends (cpu, wasm) the work is done by the native addon
// (tensor/kernels/sparse-topk/host.ts); on webgpu by WGSL programs (tensor/kernels/sparse-topk/webgpu.ts), all
// registered when the backend starts. It is a tfjs op with its own gradient (tensor/kernels/sparse-topk/grad.ts),
// so the trainer uses it like the dense path it is tested against. BatchTopK (the batch's B·k largest activations,
// per-token counts free) runs on the same kernels: see tensor/kernels/sparse-topk/batch-selection.ts.
import * as tf from '@tensorflow/tfjs-core';
import {
  SAE_SPARSE_BATCH_TOPK_FORWARD,
  SAE_SPARSE_TOPK_FORWARD,
  SAE_TOPK_SELECT,
  SAE_TILED_ENCODER,
} from '../../tensor/kernels/kernel-names';
import { batchCodes, selectBatchAsync } from '../../tensor/kernels/sparse-topk/batch-selection';
import { webgpuTiledEncoder } from '../../tensor/kernels/fused-step/webgpu';
import { hostSparseTopKGrad, webgpuSparseTopKGrad } from '../../tensor/kernels/sparse-topk/grad';
import { nativeSparseTopK } from '../../tensor/kernels/sparse-topk/host';
import {
  webgpuLatentCsr,
  webgpuSegmentReduce,
  webgpuTopKDecode,
  webgpuTopKSelect,
} from '../../tensor/kernels/sparse-topk/webgpu';
import { WEBGPU_SPARSE_MAX_K } from '../../tensor/kernels/sparse-topk/webgpu/select';
import { loadNativeBlas } from '../../tensor/native/native-blas';
import { webgpuBindingLimit } from '../../tensor/webgpu-guard';

export interface SparseTopKResult {
  recon: tf.Tensor2D; // [B, d]
  values: tf.Tensor2D; // [B, k], ReLU applied
  indices: tf.Tensor2D; // [B, k] int32
  /** [d_sae] tokens each latent fired on. */
  fired: tf.Tensor1D;
  /** BatchTopK: the batch's threshold (its B·k-th largest activation, at least 0). */
  threshold?: tf.Scalar;
}

/** Why the sparse path cannot run here (for this k, when given), or null when it can. */
export function sparseTopKUnavailable(k?: number): string | null {
  const backend = tf.getBackend();
  if (backend === 'webgpu') {
    if (k !== undefined && k > WEBGPU_SPARSE_MAX_K)
      return `the webgpu sparse TopK kernels keep at most k = ${WEBGPU_SPARSE_MAX_K} latents per token (k = ${k})`;
    // Registered when the backend started (tensor/kernels/register-custom-kernels.ts); the tiled encoder is the fused step's.
    if (!tf.getKernel(SAE_TOPK_SELECT, backend) || !tf.getKernel(SAE_TILED_ENCODER, backend))
      return 'the webgpu sparse TopK kernels are not registered (backend not started through initBackend)';
    return null;
  }
  if (backend !== 'cpu' && backend !== 'wasm')
    return `the sparse TopK kernels run on the webgpu, cpu and wasm backends (active: ${backend})`;
  const load = loadNativeBlas();
  if (!load.blas) return load.reason;
  if (!nativeSparseTopK()) return 'the native addon lacks the sparse TopK kernels (rebuild it: npm run build:native)';
  if (!tf.getKernel(SAE_SPARSE_TOPK_FORWARD, backend))
    return 'the sparse TopK kernels are not registered (backend not started through initBackend)';
  return null;
}

export interface SparseTopKOptions {
  /** On webgpu, caps the rows encoded at once (tests; the binding limit sets it otherwise). */
  chunkRows?: number;
  /** BatchTopK: the batch's B·k largest activations instead of k per token (see selectBatch). */
  batch?: boolean;
  /** BatchTopK on webgpu: the batch's codes, selected beforehand (preselectBatchTopK). */
  selection?: PreselectedBatch;
}

/** A batch's BatchTopK codes on the GPU ([B, W], see batchCodes) and its threshold; the caller disposes them. */
export interface PreselectedBatch {
  values: tf.Tensor2D;
  indices: tf.Tensor2D;
  threshold: tf.Scalar;
}

/**
 * BatchTopK's selection on webgpu, before the step. Whether a token needs more slots is decided on the host, and
 * tfjs's webgpu backend reads back only asynchronously in Node (no OffscreenCanvas), so it cannot happen inside
 * the op: the trainer awaits this, then runs the step with `selection`. The same passes as on the CPU (selectBatch)
 * over the WGSL encoder and selection, reading back each pass's values and latents (B × ~1.7k of each per batch).
 */
export async function preselectBatchTopK(
  x: tf.Tensor2D,
  W_E: tf.Tensor2D,
  b_E: tf.Tensor1D,
  b_D: tf.Tensor1D | null,
  k: number,
  applyBias: boolean,
): Promise<PreselectedBatch> {
  const reason = sparseTopKUnavailable(k);
  if (reason) throw new Error(reason);
  const [B] = x.shape;
  const F = W_E.shape[1];
  const xin = tf.tidy(() => (applyBias && b_D ? tf.sub(x, b_D) : tf.clone(x)) as tf.Tensor2D);
  try {
    const sel = await selectBatchAsync(
      B,
      F,
      k,
      async (rows, width) => {
        if (width > WEBGPU_SPARSE_MAX_K) {
          throw new Error(
            `batchtopk on webgpu: a token of this batch may hold more of its ${B * k} largest activations than the webgpu selection lists per token (${WEBGPU_SPARSE_MAX_K}); set sparse_path to off`,
          );
        }
        const part = rows ? tf.tidy(() => tf.gather(xin, tf.tensor1d(rows, 'int32'))) : xin;
        const out = encodeSelectWebGpu(part, W_E, b_E, width);
        try {
          const [values, indices] = await Promise.all([out.values.data(), out.indices.data()]);
          return { values: values as Float32Array, indices: indices as Int32Array };
        } finally {
          tf.dispose([out.values, out.indices, ...(rows ? [part] : [])]);
        }
      },
      `webgpu:${B}:${F}:${k}`,
    );
    const W = Math.max(...sel.values.map((v) => v.length));
    const v = new Float32Array(B * W),
      idx = new Int32Array(B * W);
    batchCodes(sel, W, v, idx, new Float32Array(F));
    return {
      values: tf.tensor2d(v, [B, W]),
      indices: tf.tensor2d(idx, [B, W], 'int32'),
      threshold: tf.scalar(sel.threshold),
    };
  } finally {
    xin.dispose();
  }
}

/**
 * recon = Σ_j ReLU(topk(pre))_j W_D[idx_j] + b_D with pre = (x − b_D·[applyBias]) W_E + b_E; gradients flow to
 * W_E, b_E, W_D and b_D (x is data and gets none). With `batch`, BatchTopK's selection: values and indices then
 * have a row's slots (unselected ones 0), and the threshold comes back.
 */
export function sparseTopK(
  x: tf.Tensor2D,
  W_E: tf.Tensor2D,
  b_E: tf.Tensor1D,
  W_D: tf.Tensor2D,
  b_D: tf.Tensor1D | null,
  k: number,
  applyBias: boolean,
  opts: SparseTopKOptions = {},
): SparseTopKResult {
  if (tf.getBackend() === 'webgpu') return sparseTopKWebGpu(x, W_E, b_E, W_D, b_D, k, applyBias, opts);
  const reason = sparseTopKUnavailable();
  if (reason) throw new Error(reason);
  const [, d] = x.shape;
  const bias = b_D ?? tf.zeros([d]);
  const useBias = applyBias && b_D !== null;
  let side: Omit<SparseTopKResult, 'recon'> | undefined;
  // The gradient reads x, W_E, W_D, b_D and the forward's values and indices as they are, not saved copies:
  // tfjs's save() clones what it keeps, which on wasm copies the batch and both weight matrices every step. The
  // batch and the variables outlive the backward pass (they are only replaced after it), and the values and
  // indices are the ones handed to the caller, who must keep them until the gradient is taken (trainStep
  // disposes them after). x is data, so it is not an input of the op and gets no gradient.
  const op = tf.customGrad(((we: tf.Tensor, be: tf.Tensor, wd: tf.Tensor, bd: tf.Tensor) => {
    const kernel = opts.batch ? SAE_SPARSE_BATCH_TOPK_FORWARD : SAE_SPARSE_TOPK_FORWARD;
    const attrs = { k, applyBias: useBias, hasBias: b_D !== null } as unknown as tf.NamedAttrMap;
    const [recon, values, indices, fired, threshold] = tf.engine().runKernel(kernel, { x, we, be, wd, bd }, attrs) as [
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor2D,
      tf.Tensor1D,
      tf.Scalar?,
    ];
    side = {
      values: tf.keep(values),
      indices: tf.keep(indices),
      fired: tf.keep(fired),
      ...(threshold ? { threshold: tf.keep(threshold) } : {}),
    };
    return {
      value: recon,
      gradFunc: (dy: tf.Tensor) => hostSparseTopKGrad(dy, { x, values, indices, we, wd, bd, useBias }),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const recon = op(W_E, b_E, W_D, bias) as tf.Tensor2D;
  if (!b_D) bias.dispose();
  if (!side) throw new Error('sparse TopK: the forward did not run');
  return { recon, ...side };
}

/**
 * The top k of x·W_E + b_E per row on webgpu. The [B, d_sae] pre-activations are one storage binding, so a batch
 * whose pre-activations pass the device's binding limit (128 MiB on lavapipe: 4096 × 24576 floats are 384 MiB)
 * is encoded and selected in chunks of rows that fit, each chunk's pre-activations released before the next.
 */
function encodeSelectWebGpu(
  xin: tf.Tensor2D,
  we: tf.Tensor2D,
  be: tf.Tensor1D,
  k: number,
  chunkRows?: number,
): { values: tf.Tensor2D; indices: tf.Tensor2D } {
  const [B, d] = xin.shape;
  const F = we.shape[1];
  const rows = Math.max(
    1,
    Math.min(B, chunkRows ?? Infinity, Math.floor((webgpuBindingLimit() ?? Infinity) / (4 * F))),
  );
  if (rows >= B) {
    const pre = webgpuTiledEncoder(xin, we, be);
    const out = webgpuTopKSelect(pre, k);
    pre.dispose();
    return out;
  }
  const values: tf.Tensor2D[] = [],
    indices: tf.Tensor2D[] = [];
  for (let r0 = 0; r0 < B; r0 += rows) {
    const part = tf.slice(xin, [r0, 0], [Math.min(rows, B - r0), d]);
    const pre = webgpuTiledEncoder(part, we, be);
    const out = webgpuTopKSelect(pre, k);
    tf.dispose([part, pre]);
    values.push(out.values);
    indices.push(out.indices);
  }
  const out = { values: tf.concat(values, 0), indices: tf.concat(indices, 0) };
  tf.dispose([...values, ...indices]);
  return out;
}

/** The same op on webgpu: every step stays on the GPU (no read-back; BatchTopK's selection, which reads back, is
 * made before it). `chunkRows` caps the rows encoded at once (tests; the binding limit sets it otherwise). */
function sparseTopKWebGpu(
  x: tf.Tensor2D,
  W_E: tf.Tensor2D,
  b_E: tf.Tensor1D,
  W_D: tf.Tensor2D,
  b_D: tf.Tensor1D | null,
  k: number,
  applyBias: boolean,
  opts: SparseTopKOptions,
): SparseTopKResult {
  const reason = sparseTopKUnavailable(opts.batch ? undefined : k);
  if (opts.batch && !opts.selection)
    throw new Error('BatchTopK on webgpu takes its selection from preselectBatchTopK, made before the step');
  if (reason) throw new Error(reason);
  const [, d] = x.shape;
  const F = W_E.shape[1];
  const bias = b_D ?? tf.zeros([d]);
  const subtractBias = applyBias && b_D !== null;
  let side: Omit<SparseTopKResult, 'recon'> | undefined;
  const op = tf.customGrad(((
    xs: tf.Tensor2D,
    we: tf.Tensor2D,
    be: tf.Tensor1D,
    wd: tf.Tensor2D,
    bd: tf.Tensor1D,
    save: tf.GradSaveFunc,
  ) => {
    const xin: tf.Tensor2D = subtractBias ? tf.sub(xs, bd) : xs;
    const { indices, values } = opts.selection ?? encodeSelectWebGpu(xin, we, be, k, opts.chunkRows);
    const recon = webgpuTopKDecode(values, indices, wd, bd);
    // The latent CSR serves the backward pass; a forward-only call (analysis, evaluation) counts firings without it.
    const recording = (tf.engine().state as { gradientDepth?: number }).gradientDepth !== 0;
    const csr = recording ? webgpuLatentCsr(indices, F) : null;
    const fired = csr
      ? webgpuSegmentReduce(values, csr, 'count')
      : tf.tidy(
          () =>
            tf.unsortedSegmentSum(
              tf.cast(tf.greater(values, 0), 'float32').flatten(),
              indices.flatten(),
              F,
            ) as tf.Tensor1D,
        );
    save(csr ? [xin, we, wd, values, indices, csr.entries, csr.offsets] : [xin, we, wd, values, indices]);
    side = {
      values: tf.keep(values.clone()),
      indices: tf.keep(indices.clone()),
      fired: tf.keep(fired),
      ...(opts.selection ? { threshold: tf.keep(opts.selection.threshold.clone()) } : {}),
    };
    return {
      value: recon,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sxin, swe, swd, sv, si, entries, offsets] = saved as [
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor2D,
          tf.Tensor1D,
          tf.Tensor2D,
        ];
        return webgpuSparseTopKGrad(
          dy as tf.Tensor2D,
          { xin: sxin, we: swe, wd: swd, values: sv, indices: si, csr: { entries, offsets } },
          xs,
          subtractBias,
        );
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const recon = op(x, W_E, b_E, W_D, bias) as tf.Tensor2D;
  if (!b_D) bias.dispose();
  if (!side) throw new Error('sparse TopK: the forward did not run');
  return { recon, ...side };
}

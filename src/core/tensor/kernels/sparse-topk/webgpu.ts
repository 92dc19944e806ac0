// The sparse TopK path's kernels on webgpu: WGSL programs run through tfjs-backend-webgpu's program runner, so
// every buffer stays on the GPU and tfjs manages it like any other tensor. One file per pass under webgpu/:
//
//   select      per token, the k largest pre-activations (webgpu/select.ts), latents sorted ascending
//   gather      their values after ReLU (webgpu/decode.ts)
//   decode      x̂[b] = b_D + Σ_j v[b,j] W_D[idx[b,j]]            (only k rows of W_D per token; webgpu/decode.ts)
//   latent CSR  the (token, slot) pairs grouped by latent, in token order, without atomics (webgpu/latent-csr.ts)
//   backward    dz[b,j] = [v>0] g[b]·W_D[idx] (webgpu/latent-grad.ts); dW_D[f] = Σ v g[b]; dW_Eᵀ[f] = Σ dz x[b];
//               db_E[f] = Σ dz — each a loop over latent f's segment of the CSR (webgpu/segment.ts), so no float
//               atomics and no dense [B, d_sae] gradient
//
// The encoder matmul is the fused step's (128×128 tiles, fused-step/webgpu/tiled-encoder.ts). The kernels have names
// of their own (kernel-names.ts); nothing of tfjs's is replaced.
import * as tf from '@tensorflow/tfjs-core';
import {
  SAE_TOPK_DECODE,
  SAE_TOPK_GATHER,
  SAE_TOPK_LATENT_CSR,
  SAE_TOPK_LATENT_GRAD,
  SAE_TOPK_SEGMENT_OUTER,
  SAE_TOPK_SEGMENT_REDUCE,
  SAE_TOPK_SELECT,
} from '../kernel-names';
import { matrixShape } from '../kernel-inputs';
import { runner } from '../webgpu-program';
import { decodeProgram, gatherProgram } from './webgpu/decode';
import { latentCsrInfo } from './webgpu/latent-csr';
import { latentGradProgram } from './webgpu/latent-grad';
import { segmentOuterProgram, segmentReduceProgram } from './webgpu/segment';
import { topKSelectInfo } from './webgpu/select';

/** The [rows, cols] of a matrix input, checked. */
const dims2 = (t: tf.TensorInfo, what: string) => matrixShape('sparse TopK (webgpu)', t, what);

/** Registers the sparse TopK kernels for the webgpu backend (idempotent). */
export function registerWebGpuSparseTopK(): void {
  if (tf.getKernel(SAE_TOPK_SELECT, 'webgpu')) return;
  const reg = (kernelName: string, kernelFunc: tf.KernelFunc) =>
    tf.registerKernel({ kernelName, backendName: 'webgpu', kernelFunc });
  reg(SAE_TOPK_SELECT, ({ inputs, backend, attrs }) => {
    const { pre } = inputs as { pre: tf.TensorInfo };
    const { k, radix } = attrs as unknown as { k: number; radix?: boolean };
    return topKSelectInfo(backend, pre, k, radix === true);
  });
  reg(SAE_TOPK_GATHER, ({ inputs, backend }) => {
    const { pre, idx } = inputs as Record<'pre' | 'idx', tf.TensorInfo>;
    const [B, k] = dims2(idx, 'idx');
    return runner(backend).run(gatherProgram(B, k), [pre, idx], 'float32');
  });
  reg(SAE_TOPK_DECODE, ({ inputs, backend }) => {
    const { vals, idx, wd, bd } = inputs as Record<'vals' | 'idx' | 'wd' | 'bd', tf.TensorInfo>;
    return runner(backend).run(
      decodeProgram(dims2(idx, 'idx')[0], dims2(wd, 'W_D')[1]),
      [vals, idx, wd, bd],
      'float32',
    );
  });
  reg(SAE_TOPK_LATENT_CSR, ({ inputs, backend, attrs }) => {
    const { idx } = inputs as { idx: tf.TensorInfo };
    const { F } = attrs as unknown as { F: number };
    const { entries, offsets } = latentCsrInfo(backend, idx, F);
    return [entries, offsets];
  });
  reg(SAE_TOPK_SEGMENT_REDUCE, ({ inputs, backend, attrs }) => {
    const { coef, entries, offs } = inputs as Record<'coef' | 'entries' | 'offs', tf.TensorInfo>;
    const { mode } = attrs as unknown as { mode: 'sum' | 'count' };
    return runner(backend).run(
      segmentReduceProgram(dims2(offs, 'offsets')[1] - 1, mode),
      [coef, entries, offs],
      'float32',
    );
  });
  reg(SAE_TOPK_SEGMENT_OUTER, ({ inputs, backend, attrs }) => {
    const { coef, rows, entries, offs } = inputs as Record<'coef' | 'rows' | 'entries' | 'offs', tf.TensorInfo>;
    const { k } = attrs as unknown as { k: number };
    return runner(backend).run(
      segmentOuterProgram(dims2(offs, 'offsets')[1] - 1, dims2(rows, 'rows')[1], k),
      [coef, rows, entries, offs],
      'float32',
    );
  });
  reg(SAE_TOPK_LATENT_GRAD, ({ inputs, backend }) => {
    const { g, vals, idx, wd } = inputs as Record<'g' | 'vals' | 'idx' | 'wd', tf.TensorInfo>;
    const [B, k] = dims2(idx, 'idx');
    return runner(backend).run(latentGradProgram(B, k), [g, vals, idx, wd], 'float32');
  });
}

const run = <T extends tf.Tensor | tf.Tensor[]>(
  name: string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown> = {},
) => tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as unknown as T;

/** The k largest entries of each row of pre [B, F]: latents ascending [B, k] int32 and their ReLU'd values. */
export function webgpuTopKSelect(
  pre: tf.Tensor2D,
  k: number,
  opts: { radixOnly?: boolean } = {},
): { indices: tf.Tensor2D; values: tf.Tensor2D } {
  const indices = run<tf.Tensor2D>(SAE_TOPK_SELECT, { pre }, { k, radix: opts.radixOnly === true });
  const values = run<tf.Tensor2D>(SAE_TOPK_GATHER, { pre, idx: indices });
  return { indices, values };
}

export function webgpuTopKDecode(
  values: tf.Tensor2D,
  indices: tf.Tensor2D,
  W_D: tf.Tensor2D,
  b_D: tf.Tensor1D,
): tf.Tensor2D {
  return run<tf.Tensor2D>(SAE_TOPK_DECODE, { vals: values, idx: indices, wd: W_D, bd: b_D });
}

/** The (token, slot) pairs grouped by latent: entries [B·k] and offsets [1, F + 1] (latent f owns entries[offs[f]…offs[f+1])). */
export function webgpuLatentCsr(indices: tf.Tensor2D, F: number): { entries: tf.Tensor1D; offsets: tf.Tensor2D } {
  const [entries, offsets] = run<tf.Tensor[]>(SAE_TOPK_LATENT_CSR, { idx: indices }, { F });
  return { entries: entries as tf.Tensor1D, offsets: offsets as tf.Tensor2D };
}

export function webgpuSegmentReduce(
  coef: tf.Tensor2D,
  csr: { entries: tf.Tensor1D; offsets: tf.Tensor2D },
  mode: 'sum' | 'count',
): tf.Tensor1D {
  return run<tf.Tensor1D>(SAE_TOPK_SEGMENT_REDUCE, { coef, entries: csr.entries, offs: csr.offsets }, { mode });
}

/** [F, d]: Σ over latent f's pairs (b, j) of coef[b, j] · rows[b]. */
export function webgpuSegmentOuter(
  coef: tf.Tensor2D,
  rows: tf.Tensor2D,
  csr: { entries: tf.Tensor1D; offsets: tf.Tensor2D },
): tf.Tensor2D {
  return run<tf.Tensor2D>(
    SAE_TOPK_SEGMENT_OUTER,
    { coef, rows, entries: csr.entries, offs: csr.offsets },
    { k: coef.shape[1] },
  );
}

export function webgpuLatentGrad(
  g: tf.Tensor2D,
  values: tf.Tensor2D,
  indices: tf.Tensor2D,
  W_D: tf.Tensor2D,
): tf.Tensor2D {
  return run<tf.Tensor2D>(SAE_TOPK_LATENT_GRAD, { g, vals: values, idx: indices, wd: W_D });
}

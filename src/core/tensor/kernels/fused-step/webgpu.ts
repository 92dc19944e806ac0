// The fused TopK training step's kernels (sae/sparse/fused-step.ts) on the webgpu backend, as WGSL compute shaders
// recorded straight into tfjs-backend-webgpu's command stream (webgpu-dispatch.ts), one file per kernel under webgpu/:
//   encode      the tiled encoder, the TopK selection and the values with the firing counts (webgpu/encode.ts);
//   decode      per token the reconstruction's residual, its Σ² and the loss gradient (webgpu/decode-residual.ts);
//   backward    dz, the latent CSR and each parameter's Adam step where its gradient is summed
//               (webgpu/backward-adam.ts), with the unit-norm projection and renormalisation of W_D's rows.
// Every host-side call is one dispatch with its constants in a uniform buffer: no scalar tensors are uploaded and
// no tfjs op runs, which on a GPU is what bounds the general step (≈120 programs and ≈35 uploads per step).
// The arithmetic is the general step's (same formulas), summed in other orders: results agree to float rounding
// (tests/core/sae/fused-step.test.ts holds them to the general webgpu step).
import * as tf from '@tensorflow/tfjs-core';
import { SAE_FUSED_BACKWARD_ADAM, SAE_TILED_ENCODER } from '../kernel-names';
import { WEBGPU_SPARSE_MAX_K } from '../sparse-topk/webgpu/select';
import { allocate } from '../webgpu-dispatch';
import { registerWebGpuFusedBackward } from './webgpu/backward-adam';
import { registerWebGpuFusedDecode } from './webgpu/decode-residual';
import { registerWebGpuFusedEncode } from './webgpu/encode';
import { DEFAULT_ENCODER_TILING, encoderKernel, type EncoderTiling } from './webgpu/tiled-encoder';

/** The largest d_model the W_D row pass keeps in registers (32 values per thread of 256). */
export const WEBGPU_FUSED_MAX_D = 8192;

/** pre = x·W + bias by the fused step's 128×128-tile encoder (registered with the step's kernels; the sparse op, benchmarks and tests). */
export function webgpuTiledEncoder(
  x: tf.Tensor2D,
  W: tf.Tensor2D,
  bias: tf.Tensor1D,
  tiling: EncoderTiling = DEFAULT_ENCODER_TILING,
): tf.Tensor2D {
  return tf
    .engine()
    .runKernel(SAE_TILED_ENCODER, { x, w: W, bias }, { ...tiling } as unknown as tf.NamedAttrMap) as tf.Tensor2D;
}

/** Why the webgpu kernels cannot take this step's shapes (null when they can). */
export function webgpuFusedUnavailable(k: number, d: number): string | null {
  if (k > WEBGPU_SPARSE_MAX_K)
    return `the webgpu fused step keeps at most k = ${WEBGPU_SPARSE_MAX_K} latents per token (k = ${k})`;
  if (d > WEBGPU_FUSED_MAX_D) return `the webgpu fused step takes d_model ≤ ${WEBGPU_FUSED_MAX_D} (d_model = ${d})`;
  return null;
}

function registerTiledEncoder(): void {
  tf.registerKernel({
    kernelName: SAE_TILED_ENCODER,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, bias } = inputs as Record<'x' | 'w' | 'bias', tf.TensorInfo>;
      const [M] = x.shape;
      const N = w.shape[1];
      if (M === undefined || N === undefined) throw new Error(`${SAE_TILED_ENCODER}: x and w must be matrices`);
      const pre = allocate(backend, [M, N]);
      encoderKernel(backend, x, w, bias, null, pre, attrs as unknown as EncoderTiling);
      return pre;
    },
  });
}

/** Registers the fused step's kernels and the tiled encoder for the webgpu backend (idempotent). */
export function registerWebGpuFusedStep(): void {
  if (tf.getKernel(SAE_FUSED_BACKWARD_ADAM, 'webgpu')) return;
  registerWebGpuFusedEncode();
  registerWebGpuFusedDecode();
  registerTiledEncoder();
  registerWebGpuFusedBackward();
}

// The fused step's backward with Adam on webgpu ('SaeTopKBackwardAdam'): dz per token, the latent CSR, then each
// parameter's gradient summed where its Adam step runs (one pass per parameter, in backward-adam-weights.ts and
// backward-adam-biases.ts), so no dense gradient is ever written. Every pass is one dispatch with its constants
// in a uniform buffer: no scalar tensors are uploaded and no tfjs op runs.
import * as tf from '@tensorflow/tfjs-core';
import { SAE_FUSED_BACKWARD_ADAM } from '../../kernel-names';
import { latentCsrInfo } from '../../sparse-topk/webgpu/latent-csr';
import { segmentSumInfo } from '../../sparse-topk/webgpu/segment';
import { allocate } from '../../webgpu-dispatch';
import { backwardAdamCall, FUSED_PARAMS, type FusedParam, type ParamSet } from '../backward-adam-call';
import { adamDecoderBiasPass, adamEncoderBiasPass } from './backward-adam-biases';
import { adamDecoderWeightsPass, adamEncoderWeightsPass } from './backward-adam-weights';
import type { BackwardPassContext } from './backward-context';
import { encoderInputBiasPass, latentGradPass } from './backward-latent';
import { dispatchFlat, read, write, type Hyper } from './wgsl';

/**
 * Each parameter's value and moments as the passes update them: its own where it is updated in place, else fresh
 * outputs holding copies (another tensor shares its data), which are also the kernel's outputs, in order.
 */
function paramSets(
  backend: unknown,
  params: Partial<Record<FusedParam, ParamSet>>,
  inPlace: boolean[],
): { sets: Partial<Record<FusedParam, ParamSet>>; outs: tf.TensorInfo[] } {
  const outs: tf.TensorInfo[] = [];
  const sets: Partial<Record<FusedParam, ParamSet>> = {};
  FUSED_PARAMS.forEach((n, i) => {
    const own = params[n];
    if (!own) return;
    if (inPlace[i]) {
      sets[n] = own;
      return;
    }
    const shape = own.p.shape;
    const fresh = { p: allocate(backend, shape), m: allocate(backend, shape), v: allocate(backend, shape) };
    const size = shape.reduce((a, b) => a * b, 1);
    for (const part of ['p', 'm', 'v'] as const) {
      dispatchFlat(
        backend,
        'SaeFusedCopy',
        size,
        [read('src', own[part]), write('dst', fresh[part])],
        'dst[i] = src[i];',
      );
    }
    outs.push(fresh.p, fresh.m, fresh.v);
    sets[n] = fresh;
  });
  return { sets, outs };
}

/** Registers the kernel for webgpu (called by registerWebGpuFusedStep). */
export function registerWebGpuFusedBackward(): void {
  tf.registerKernel({
    kernelName: SAE_FUSED_BACKWARD_ADAM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const call = backwardAdamCall(inputs, attrs);
      const [beta1, omb1, beta2, omb2, eps, sqrtC2] = call.hyper as [number, number, number, number, number, number];
      const adamUniforms: Hyper = [
        ['beta1', 'f32', beta1],
        ['omb1', 'f32', omb1],
        ['beta2', 'f32', beta2],
        ['omb2', 'f32', omb2],
        ['eps', 'f32', eps],
        ['sqrtC2', 'f32', sqrtC2],
      ];
      const ctx: BackwardPassContext = { ...call, backend, adamUniforms };
      const { sets, outs } = paramSets(backend, call.params, call.inPlace);
      const [sWE, sWD, sBE, sBD] = call.stepSizes as [number, number, number, number];
      const { W_E: WE, W_D: WD, b_E: BE, b_D: bD } = sets;
      if (!WE || !WD || !BE) throw new Error(`${SAE_FUSED_BACKWARD_ADAM}: W_E, W_D and b_E are required`);

      const dz = latentGradPass(ctx); // [B, k]
      const csr = latentCsrInfo(backend, call.indices, call.F);
      const dbE = segmentSumInfo(backend, dz, csr.entries, csr.offsets); // [F]
      // b_D's gradient through the encoder input, W_E·db_E, from W_E before its update.
      const corr = call.applyBias && bD ? encoderInputBiasPass(ctx, dbE) : null; // [d]
      adamEncoderWeightsPass(ctx, csr, dz, WE, sWE);
      adamEncoderBiasPass(ctx, dbE, BE, sBE);
      adamDecoderWeightsPass(ctx, csr, WD, sWD);
      if (bD) adamDecoderBiasPass(ctx, bD, corr, sBD);
      const kb = backend as tf.KernelBackend;
      for (const info of [dz, csr.entries, csr.offsets, dbE, ...(corr ? [corr] : [])]) kb.disposeData(info.dataId);
      return outs;
    },
  });
}

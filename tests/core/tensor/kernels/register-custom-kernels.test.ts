// Our kernels are registered when a backend starts, and not before: importing every kernel module registers nothing;
// after initBackend each backend has every kernel it implements (on cpu and wasm, those the native addon provides).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, type TestContext } from 'vitest';
import { BACKEND_NAMES } from '../../../../src/core/tensor/backend';
import * as names from '../../../../src/core/tensor/kernels/kernel-names';
import { registerCustomKernels } from '../../../../src/core/tensor/kernels/register-custom-kernels';
import { loadNativeBlas } from '../../../../src/core/tensor/native/native-blas';
import { describeEachBackend } from '../../../helpers/backends';

const ALL = Object.values(names);
/** The kernels with no webgpu implementation: BatchTopK selects its batch before the step there, the optimiser
 * and losses keep their tfjs formulations, the linear's post-ops are sgemm's (webgpu adds after its matmul), and the embedding's add stays tfjs's there. */
const HOST_ONLY: string[] = [
  names.SAE_ADAM_UPDATE,
  names.SAE_UNIT_ROWS,
  names.SAE_ROW_SQ_ERR,
  names.SAE_ROW_SQ_ERR_GRAD,
  names.SAE_ROW_SQ_ERR_RESIDUAL,
  names.SAE_ROW_SQ_ERR_RESIDUAL_GRAD,
  names.SAE_SPARSE_TOPK_FORWARD,
  names.SAE_SPARSE_BATCH_TOPK_FORWARD,
  names.SAE_SPARSE_TOPK_BACKWARD,
  names.SAE_FUSED_BATCH_ENCODE,
  names.SAE_TOKEN_LOSSES,
  names.SAE_LINEAR_POST,
  names.SAE_EMBED,
  names.SAE_TOKEN_LSE,
];
/** Host kernels on wasm only: the cpu backend's own formulation runs in float64 (token-losses/host.ts). */
const WASM_ONLY: string[] = [names.SAE_TOKEN_LOSSES, names.SAE_TOKEN_LSE];
/** The kernels only webgpu has: the building blocks of its sparse op (the host backends run each pass natively). */
const WEBGPU_ONLY: string[] = [
  names.SAE_TOPK_SELECT,
  names.SAE_TOPK_GATHER,
  names.SAE_TOPK_DECODE,
  names.SAE_TOPK_LATENT_CSR,
  names.SAE_TOPK_SEGMENT_REDUCE,
  names.SAE_TOPK_SEGMENT_OUTER,
  names.SAE_TOPK_LATENT_GRAD,
  names.SAE_TILED_ENCODER,
];
/** The host kernels a CPU may lack even with the addon (its GELU needs AVX-512). */
const CPU_DEPENDENT: string[] = [names.SAE_GELU_NEW, names.SAE_CAUSAL_ATTENTION];

describe('custom kernel registration', () => {
  // Runs first in this file's fresh module graph, which has imported every kernel module (through
  // register-custom-kernels.ts and backend.ts) and started no backend yet.
  it('registers nothing on import', () => {
    for (const backend of BACKEND_NAMES) {
      for (const name of ALL) expect(tf.getKernel(name, backend), `${name} on ${backend}`).toBeUndefined();
    }
  });
});

describeEachBackend('custom kernels after initBackend', (backend) => {
  it('has every kernel this backend implements registered, and nothing left to register', (ctx: TestContext) => {
    if (backend !== 'webgpu' && !loadNativeBlas().blas)
      ctx.skip('no native addon: the host kernels stay unregistered and the ops use tfjs');
    const expected = ALL.filter((n) => !(backend === 'webgpu' ? HOST_ONLY : WEBGPU_ONLY).includes(n));
    for (const name of expected) {
      if (CPU_DEPENDENT.includes(name) && backend !== 'webgpu') continue;
      if (WASM_ONLY.includes(name) && backend === 'cpu') {
        expect(tf.getKernel(name, backend), `${name} on cpu`).toBeUndefined();
        continue;
      }
      expect(tf.getKernel(name, backend), `${name} on ${backend}`).toBeDefined();
    }
    const missing = registerCustomKernels(backend); // again: idempotent, and only CPU-dependent kernels may be missing
    expect(missing.filter((m) => m !== 'gelu_new' && m !== 'causal attention')).toEqual([]);
  });
});

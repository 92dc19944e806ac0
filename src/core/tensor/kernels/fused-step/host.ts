// The fused TopK training step's kernels on the wasm and cpu backends (sae/sparse/fused-step.ts runs them): native
// passes of the addon (the screened encoder; native/src) doing every float operation of the general step in the
// same order, so both give the same parameters and moments to the bit. BatchTopK's encode selects the batch here
// (host-batch-encode.ts); on webgpu it is selected before the step.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { checkedMemory, type HostBackendName } from '../../native/tensor-memory';
import { SAE_FUSED_BACKWARD_ADAM, SAE_FUSED_BATCH_ENCODE, SAE_FUSED_DECODE_RESIDUAL, SAE_FUSED_ENCODE } from '../kernel-names';
import { hostBatchEncode, preScratch, type SparseTopKKernels } from '../sparse-topk/host-batch-encode';
import { backwardAdamCall, FUSED_PARAMS, type FusedParam } from './backward-adam-call';

interface FusedKernels extends SparseTopKKernels {
  topkDecodeResidual(values: Float32Array, indices: Int32Array, W_D: Float32Array, b_D: Float32Array | null, y: Float32Array, dy: Float32Array,
    B: number, k: number, d: number, F: number, g: Float32Array, rowErr: Float32Array): void;
  topkBackwardAdam(g: Float32Array, x: Float32Array, bDecIn: Float32Array | null, values: Float32Array, indices: Int32Array, B: number, d: number, F: number, k: number,
    W_E: Float32Array[], W_D: Float32Array[], b_E: Float32Array[], b_D: Float32Array[] | null, stepSizes: number[], hyper: number[], unitRows: boolean): void;
}

/** The addon's fused step entry points, or null where it lacks them. */
function nativeFusedStep(): FusedKernels | null {
  const k = loadNativeBlas().blas as unknown as Partial<FusedKernels> | null;
  return k && typeof k.topkBackwardAdam === 'function' && typeof k.topkDecodeResidual === 'function' && typeof k.topkEncode === 'function' ? (k as FusedKernels) : null;
}

/**
 * Registers the four kernels for `backendName` when the addon has them (idempotent); returns whether they are
 * available. The backward runs the addon's own Adam (native/src), the same arithmetic as 'SaeAdamUpdate'.
 */
export function registerHostFusedStep(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_FUSED_BACKWARD_ADAM, backendName)) return true;
  const K = nativeFusedStep();
  if (!K) return false;
  tf.registerKernel({
    kernelName: SAE_FUSED_ENCODE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, bd } = inputs as Record<string, tf.TensorInfo>;
      const { k } = attrs as unknown as { k: number };
      const [B, d] = x!.shape as [number, number];
      const F = we!.shape[1]!;
      const mem = checkedMemory(backendName, backend, SAE_FUSED_ENCODE);
      const outs = [mem.allocate([B, k]), mem.allocateInt32([B, k]), mem.allocate([F])];
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const scratch = K.topkScreening?.() ? null : preScratch(B * F);
      K.topkEncode(mem.f32(x!), bd ? mem.f32(bd) : null, mem.f32(we!), mem.f32(be!), B, d, F, k, scratch, mem.f32(outs[0]!), mem.i32(outs[1]!), mem.f32(outs[2]!));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: SAE_FUSED_BATCH_ENCODE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be, bd } = inputs as Record<string, tf.TensorInfo>;
      return hostBatchEncode(backendName, backend, K, x!, bd ?? null, we!, be!, (attrs as unknown as { k: number }).k);
    },
  });
  tf.registerKernel({
    kernelName: SAE_FUSED_DECODE_RESIDUAL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { values, indices, wd, bd, y } = inputs as Record<string, tf.TensorInfo>;
      const { dyRow } = attrs as unknown as { dyRow: number };
      const [B, d] = y!.shape as [number, number];
      const [F] = wd!.shape as [number, number];
      const k = values!.shape[1]!;
      const mem = checkedMemory(backendName, backend, SAE_FUSED_DECODE_RESIDUAL);
      const outs = [mem.allocate([B, d]), mem.allocate([B])];
      K.topkDecodeResidual(mem.f32(values!), mem.i32(indices!), mem.f32(wd!), bd ? mem.f32(bd) : null, mem.f32(y!), new Float32Array(B).fill(dyRow), B, k, d, F,
        mem.f32(outs[0]!), mem.f32(outs[1]!));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: SAE_FUSED_BACKWARD_ADAM,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { t, B, d, F, k, stepSizes, hyper, unitRows, applyBias, inPlace } = backwardAdamCall(inputs, attrs);
      // Fresh outputs for the parameters not updated in place, in PARAMS order.
      const fresh = FUSED_PARAMS.filter((n, i) => t[n] && !inPlace[i]);
      const mem = checkedMemory(backendName, backend, SAE_FUSED_BACKWARD_ADAM);
      const outs = fresh.flatMap((n) => [mem.allocate(t[n]!.shape), mem.allocate(t[n]!.shape), mem.allocate(t[n]!.shape)]);
      const view = mem.f32;
      const param = (n: FusedParam) => {
        if (!t[n]) return null;
        const own = [view(t[n]!), view(t[`m_${n}`]!), view(t[`v_${n}`]!)];
        const i = fresh.indexOf(n);
        return i < 0 ? [...own, ...own] : [...own, view(outs[3 * i]!), view(outs[3 * i + 1]!), view(outs[3 * i + 2]!)];
      };
      K.topkBackwardAdam(view(t.g!), view(t.x!), applyBias ? view(t.b_D!) : null, view(t.values!), mem.i32(t.indices!), B, d, F, k,
        param('W_E')!, param('W_D')!, param('b_E')!, param('b_D'), stepSizes, hyper, unitRows);
      return outs;
    },
  });
  return true;
}

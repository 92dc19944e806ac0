// The fused TopK training step's kernels on the wasm and cpu backends (sae/sparse/fused-step.ts runs them): native
// passes of the addon (the screened encoder; native/src) doing every float operation of the general step in the
// same order, so both give the same parameters and moments to the bit. BatchTopK's encode selects the batch here
// (host-batch-encode.ts); on webgpu it is selected before the step.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { checkedMemory, type HostBackendName } from '../../native/tensor-memory';
import {
  SAE_FUSED_BACKWARD_ADAM,
  SAE_FUSED_BATCH_ENCODE,
  SAE_FUSED_DECODE_RESIDUAL,
  SAE_FUSED_ENCODE,
} from '../kernel-names';
import { hostBatchEncode, preScratch, type SparseTopKKernels } from '../sparse-topk/host-batch-encode';
import { matrixShape, requireInputs } from '../kernel-inputs';
import { backwardAdamCall, FUSED_PARAMS, type FusedParam } from './backward-adam-call';

interface FusedKernels extends SparseTopKKernels {
  topkDecodeResidual(
    values: Float32Array,
    indices: Int32Array,
    W_D: Float32Array,
    b_D: Float32Array | null,
    y: Float32Array,
    dy: Float32Array,
    B: number,
    k: number,
    d: number,
    F: number,
    g: Float32Array,
    rowErr: Float32Array,
  ): void;
  topkBackwardAdam(
    g: Float32Array,
    x: Float32Array,
    bDecIn: Float32Array | null,
    values: Float32Array,
    indices: Int32Array,
    B: number,
    d: number,
    F: number,
    k: number,
    W_E: Float32Array[],
    W_D: Float32Array[],
    b_E: Float32Array[],
    b_D: Float32Array[] | null,
    stepSizes: number[],
    hyper: number[],
    unitRows: boolean,
  ): void;
}

/** The addon's fused step entry points, or null where it lacks them. */
function nativeFusedStep(): FusedKernels | null {
  const k = loadNativeBlas().blas as unknown as Partial<FusedKernels> | null;
  return k &&
    typeof k.topkBackwardAdam === 'function' &&
    typeof k.topkDecodeResidual === 'function' &&
    typeof k.topkEncode === 'function'
    ? (k as FusedKernels)
    : null;
}

/** pre = (x − b_D) W_E + b_E, then each token's top k: [values, indices, fired] (the screened encoder where the CPU has VNNI). */
function registerEncode(backendName: HostBackendName, K: FusedKernels): void {
  tf.registerKernel({
    kernelName: SAE_FUSED_ENCODE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be } = requireInputs(SAE_FUSED_ENCODE, inputs, ['x', 'we', 'be']);
      const bd = inputs.bd;
      const { k } = attrs as unknown as { k: number };
      const [B, d] = matrixShape(SAE_FUSED_ENCODE, x, 'x');
      const F = matrixShape(SAE_FUSED_ENCODE, we, 'W_E')[1];
      const mem = checkedMemory(backendName, backend, SAE_FUSED_ENCODE);
      const [values, indices, fired] = [mem.allocate([B, k]), mem.allocateInt32([B, k]), mem.allocate([F])];
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      const scratch = K.topkScreening?.() ? null : preScratch(B * F);
      K.topkEncode(
        mem.f32(x),
        bd ? mem.f32(bd) : null,
        mem.f32(we),
        mem.f32(be),
        B,
        d,
        F,
        k,
        scratch,
        mem.f32(values),
        mem.i32(indices),
        mem.f32(fired),
      );
      return [values, indices, fired];
    },
  });
}

/** BatchTopK's encode: the batch's selection and codes, [values, indices, fired, threshold] (host-batch-encode.ts). */
function registerBatchEncode(backendName: HostBackendName, K: FusedKernels): void {
  tf.registerKernel({
    kernelName: SAE_FUSED_BATCH_ENCODE,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, we, be } = requireInputs(SAE_FUSED_BATCH_ENCODE, inputs, ['x', 'we', 'be']);
      return hostBatchEncode(
        backendName,
        backend,
        K,
        x,
        inputs.bd ?? null,
        we,
        be,
        (attrs as unknown as { k: number }).k,
      );
    },
  });
}

/** Per token the reconstruction's residual y − x̂ as the loss gradient (scaled by −2·dyRow) and Σ residual²: [g, rowErr]. */
function registerDecodeResidual(backendName: HostBackendName, K: FusedKernels): void {
  tf.registerKernel({
    kernelName: SAE_FUSED_DECODE_RESIDUAL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { values, indices, wd, y } = requireInputs(SAE_FUSED_DECODE_RESIDUAL, inputs, [
        'values',
        'indices',
        'wd',
        'y',
      ]);
      const bd = inputs.bd;
      const { dyRow } = attrs as unknown as { dyRow: number };
      const [B, d] = matrixShape(SAE_FUSED_DECODE_RESIDUAL, y, 'y');
      const F = matrixShape(SAE_FUSED_DECODE_RESIDUAL, wd, 'W_D')[0];
      const k = matrixShape(SAE_FUSED_DECODE_RESIDUAL, values, 'values')[1];
      const mem = checkedMemory(backendName, backend, SAE_FUSED_DECODE_RESIDUAL);
      const [g, rowErr] = [mem.allocate([B, d]), mem.allocate([B])];
      K.topkDecodeResidual(
        mem.f32(values),
        mem.i32(indices),
        mem.f32(wd),
        bd ? mem.f32(bd) : null,
        mem.f32(y),
        new Float32Array(B).fill(dyRow),
        B,
        k,
        d,
        F,
        mem.f32(g),
        mem.f32(rowErr),
      );
      return [g, rowErr];
    },
  });
}

/** The backward with each parameter's Adam step, in place or into fresh outputs (backward-adam-call.ts). */
function registerBackwardAdam(backendName: HostBackendName, K: FusedKernels): void {
  tf.registerKernel({
    kernelName: SAE_FUSED_BACKWARD_ADAM,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { g, x, values, indices, params, B, d, F, k, stepSizes, hyper, unitRows, applyBias, inPlace } =
        backwardAdamCall(inputs, attrs);
      // Fresh outputs for the parameters not updated in place, in FUSED_PARAMS order.
      const fresh = FUSED_PARAMS.filter((n, i) => params[n] && !inPlace[i]);
      const mem = checkedMemory(backendName, backend, SAE_FUSED_BACKWARD_ADAM);
      const outs = fresh.flatMap((n) => {
        const shape = params[n]?.p.shape ?? [];
        return [mem.allocate(shape), mem.allocate(shape), mem.allocate(shape)];
      });
      const view = mem.f32;
      // [p, m, v, p', m', v'] of a parameter: its own memory twice where it is updated in place.
      const param = (n: FusedParam) => {
        const own = params[n];
        if (!own) return null;
        const views = [view(own.p), view(own.m), view(own.v)];
        const i = fresh.indexOf(n);
        return i < 0 ? [...views, ...views] : [...views, ...outs.slice(3 * i, 3 * i + 3).map(view)];
      };
      const [pWE, pWD, pBE] = [param('W_E'), param('W_D'), param('b_E')];
      if (!pWE || !pWD || !pBE) throw new Error(`${SAE_FUSED_BACKWARD_ADAM}: W_E, W_D and b_E are required`);
      const bDecIn = applyBias && params.b_D ? view(params.b_D.p) : null;
      K.topkBackwardAdam(
        view(g),
        view(x),
        bDecIn,
        view(values),
        mem.i32(indices),
        B,
        d,
        F,
        k,
        pWE,
        pWD,
        pBE,
        param('b_D'),
        stepSizes,
        hyper,
        unitRows,
      );
      return outs;
    },
  });
}

/**
 * Registers the four kernels for `backendName` when the addon has them (idempotent); returns whether they are
 * available. The backward runs the addon's own Adam (native/src), the same arithmetic as 'SaeAdamUpdate'.
 */
export function registerHostFusedStep(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_FUSED_BACKWARD_ADAM, backendName)) return true;
  const K = nativeFusedStep();
  if (!K) return false;
  registerEncode(backendName, K);
  registerBatchEncode(backendName, K);
  registerDecodeResidual(backendName, K);
  registerBackwardAdam(backendName, K);
  return true;
}

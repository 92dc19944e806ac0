// Causal attention ('SaeCausalAttention') on the wasm and cpu backends, by the native addon: from the q, k, v
// projections to the heads' outputs z, with no [B, H, S, S] scores or pattern in memory and no transposes.
// Forward only: the model uses it outside gradient computations and where no hook watches the scores or pattern.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import type { HostBackendName } from '../../native/tensor-memory';
import { SAE_CAUSAL_ATTENTION } from '../kernel-names';
import { nativeViewer } from '../native-view';

export interface AttentionKernels {
  causalAttention(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    B: number,
    S: number,
    H: number,
    Kh: number,
    dh: number,
    window: number,
    scale: number,
    z: Float32Array,
  ): boolean;
  causalAttentionAvailable(dh: number): boolean;
}

/** The addon's attention entry points, or null where it lacks them. */
export function nativeAttention(): AttentionKernels | null {
  const k = loadNativeBlas().blas as unknown as Partial<AttentionKernels> | null;
  return k && typeof k.causalAttention === 'function' && typeof k.causalAttentionAvailable === 'function'
    ? (k as AttentionKernels)
    : null;
}

/** Registers the kernel for `backendName` when the addon has it (idempotent); returns whether it is available. */
export function registerHostCausalAttention(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_CAUSAL_ATTENTION, backendName)) return true;
  const native = nativeAttention();
  if (!native) return false;
  tf.registerKernel({
    kernelName: SAE_CAUSAL_ATTENTION,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { q, k, v } = inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
      const { window, scale } = attrs as unknown as { window: number; scale: number };
      const [B, S, H, dh] = q.shape as [number, number, number, number];
      const Kh = k.shape[2] ?? 0;
      const { mem, view } = nativeViewer(backendName, backend, SAE_CAUSAL_ATTENTION);
      const z = mem.allocate([B, S, H, dh]);
      if (!native.causalAttention(view(q), view(k), view(v), B, S, H, Kh, dh, window, scale, view(z))) {
        mem.dispose(z);
        throw new Error(
          `${SAE_CAUSAL_ATTENTION}: not available for these shapes (check fusedCausalAttention's conditions)`,
        );
      }
      return z;
    },
  });
  return true;
}

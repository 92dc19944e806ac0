// Next-token losses (logsumexp of each logits row minus the target's logit, 'SaeTokenLosses') on the wasm backend,
// by the native addon: rows in parallel, one pass per row, where tfjs runs a slice, max, sub, exp, sum,
// log, add and a gather over the whole [B, S, V] logits, single-threaded. The same float operations in the same
// order, with the wasm backend's expf and logf (native/src/lm_kernels.h), so the same bits as tfjs's. Not on
// the cpu backend, whose exp and sum run in float64 (Math.exp, a double accumulator): its numbers stay its own.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { checkedMemory, type HostBackendName } from '../../native/tensor-memory';
import { SAE_TOKEN_LOSSES, SAE_TOKEN_LSE } from '../kernel-names';

interface TokenLossKernels {
  tokenLosses(logits: Float32Array, targets: Int32Array, B: number, S: number, V: number, out: Float32Array): void;
  tokenLse(logits: Float32Array, rows: number, V: number, lse: Float32Array): void;
}

/**
 * Registers the kernel, and 'SaeTokenLse' (the logsumexp of each row by the same float operations, so that a loss
 * is lse − the target's logit to the bit), for wasm when the addon has them (idempotent); returns whether they are.
 */
export function registerHostTokenLosses(backendName: HostBackendName): boolean {
  if (backendName !== 'wasm') return false; // see above
  if (tf.getKernel(SAE_TOKEN_LOSSES, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<TokenLossKernels> | null;
  if (!k || typeof k.tokenLosses !== 'function' || typeof k.tokenLse !== 'function') return false;
  const native = k as TokenLossKernels;
  tf.registerKernel({
    kernelName: SAE_TOKEN_LOSSES,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { logits, targets } = inputs as { logits: tf.TensorInfo; targets: tf.TensorInfo };
      const [B, S, V] = logits.shape as [number, number, number];
      const mem = checkedMemory(backendName, backend, SAE_TOKEN_LOSSES);
      const out = mem.allocate([B, S - 1]);
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      native.tokenLosses(mem.f32(logits), mem.i32(targets), B, S, V, mem.f32(out));
      return out;
    },
  });
  tf.registerKernel({
    kernelName: SAE_TOKEN_LSE,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { logits } = inputs as { logits: tf.TensorInfo };
      const [R, V] = logits.shape as [number, number];
      const mem = checkedMemory(backendName, backend, SAE_TOKEN_LSE);
      const out = mem.allocate([R]);
      native.tokenLse(mem.f32(logits), R, V, mem.f32(out));
      return out;
    },
  });
  return true;
}

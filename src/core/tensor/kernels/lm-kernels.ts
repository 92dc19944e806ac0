// Fused language-model kernels on the wasm and cpu backends, computed by the native addon on the tensors'
// memory: a row norm (LayerNorm / RMSNorm with its weight and bias) in one pass instead of ~8 tfjs kernels
// (3.2 vs 5.5 ms on [4096, 256], `npm run bench:kernels`), and causal attention from the q, k, v projections to
// the heads' outputs z (no [B, H, S, S] scores or pattern in memory, no transposes), and the tanh GELU in one pass
// (AVX-512 exp; tfjs runs six elementwise kernels on one thread). Forward only: the model uses
// them outside gradient computations and where no hook watches what they skip (the norm's scale; the attention
// scores and pattern); elsewhere it keeps its plain-tfjs formulations. (A first fused GELU with scalar expf was no
// faster than tfjs-wasm's vectorised sigmoid formulation; vectorised and on both cores it is.)
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../native/native-blas';
import { tensorMemory, type HostBackendName } from '../native/tensor-memory';

export const SAE_ROW_NORM = 'SaeRowNorm';
export const SAE_CAUSAL_ATTENTION = 'SaeCausalAttention';
export const SAE_GELU_NEW = 'SaeGeluNew';

interface LmKernels {
  rowNorm(x: Float32Array, w: Float32Array, b: Float32Array | null, rows: number, d: number, eps: number, rms: boolean, out: Float32Array): void;
  causalAttention(q: Float32Array, k: Float32Array, v: Float32Array, B: number, S: number, H: number, Kh: number, dh: number, window: number, z: Float32Array): boolean;
  causalAttentionAvailable(dh: number): boolean;
  geluNew(x: Float32Array, n: number, out: Float32Array): boolean;
}

/** The largest d_head the webgpu attention takes (lm-kernels-webgpu.ts: its rows live in registers; Gemma 2's heads
 * are 256 wide). */
export const WEBGPU_ATTENTION_MAX_DHEAD = 256;

function attentionAvailable(dh: number): boolean {
  if (tf.getBackend() === 'webgpu') return dh >= 1 && dh <= WEBGPU_ATTENTION_MAX_DHEAD;
  const k = loadNativeBlas().blas as unknown as Partial<LmKernels> | null;
  return typeof k?.causalAttentionAvailable === 'function' && k.causalAttentionAvailable(dh);
}

/** Registers the kernel for `backendName` when the addon has it; returns whether it is available. */
export function registerNativeLmKernels(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_ROW_NORM, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<LmKernels> | null;
  if (!k || typeof k.rowNorm !== 'function') return false;
  const native = k as LmKernels;
  const viewer = (backend: unknown) => {
    const mem = tensorMemory(backendName, backend);
    const view = (t: tf.TensorInfo) => {
      const arr = mem.view(t);
      if (!arr) throw new Error(`lm kernels: tensor memory is not addressable on ${backendName}`);
      return arr;
    };
    return { mem, view };
  };
  tf.registerKernel({
    kernelName: SAE_ROW_NORM,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, b } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
      const { eps, rms } = attrs as unknown as { eps: number; rms: boolean };
      const d = x.shape[x.shape.length - 1]!;
      const { mem, view } = viewer(backend);
      const out = mem.allocate([...x.shape]);
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      native.rowNorm(view(x), view(w), b ? view(b) : null, tf.util.sizeFromShape(x.shape) / d, d, eps, rms, view(out));
      return out;
    },
  });
  // geluNew runs only where the CPU has AVX-512 and says so: asked once, on one element.
  if (typeof native.geluNew === 'function' && native.geluNew(new Float32Array(1), 1, new Float32Array(1))) {
    tf.registerKernel({
      kernelName: SAE_GELU_NEW,
      backendName,
      kernelFunc: ({ inputs, backend }) => {
        const { x } = inputs as { x: tf.TensorInfo };
        const { mem, view } = viewer(backend);
        const out = mem.allocate([...x.shape]);
        const n = tf.util.sizeFromShape(x.shape);
        if (!native.geluNew(view(x), n, view(out))) {
          mem.dispose(out);
          throw new Error(`${SAE_GELU_NEW}: not available on this CPU`);
        }
        return out;
      },
    });
  }
  if (typeof native.causalAttention === 'function' && typeof native.causalAttentionAvailable === 'function') {
    tf.registerKernel({
      kernelName: SAE_CAUSAL_ATTENTION,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { q, k, v } = inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
        const { window } = attrs as unknown as { window: number };
        const [B, S, H, dh] = q.shape as [number, number, number, number];
        const Kh = k.shape[2]!;
        const { mem, view } = viewer(backend);
        const z = mem.allocate([B, S, H, dh]);
        if (!native.causalAttention(view(q), view(k), view(v), B, S, H, Kh, dh, window, view(z))) {
          mem.dispose(z);
          throw new Error(`${SAE_CAUSAL_ATTENTION}: not available for these shapes (check fusedCausalAttention's conditions)`);
        }
        return z;
      },
    });
  }
  return true;
}

/** Whether a fused kernel may run now: registered on the active backend, and no gradient is being recorded. */
function usable(kernel: string, ...ts: tf.Tensor[]): boolean {
  if (!tf.getKernel(kernel, tf.getBackend())) return false;
  if ((tf.engine().state as { gradientDepth?: number }).gradientDepth !== 0) return false;
  return ts.every((t) => t.dtype === 'float32');
}

/** The row norm of x over its last axis, or null where the fused kernel cannot run. */
export function fusedRowNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, eps: number, rms: boolean): tf.Tensor | null {
  const d = x.shape[x.shape.length - 1]!;
  if (w.size !== d || (b && b.size !== d) || !usable(SAE_ROW_NORM, x, w, ...(b ? [b] : []))) return null;
  const inputs: tf.NamedTensorMap = b ? { x, w, b } : { x, w };
  return tf.engine().runKernel(SAE_ROW_NORM, inputs, { eps, rms } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * Causal attention z [B, S, H, dh] from q [B, S, H, dh] (already scaled) and k, v [B, S, Kh, dh] (grouped-query
 * heads: query head h reads head h / (H / Kh)), keys j ≤ i and, with a window w, j > i − w, scores soft-capped as
 * c·tanh(s / c) where `softcap` is c (Gemma 2); or null where the fused kernel cannot run (not registered, a
 * gradient being recorded; on the CPU backends no AVX-512, d_head over 128 or a soft cap, on webgpu d_head over 256).
 */
export function fusedCausalAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, window: number | null, softcap: number | null = null): tf.Tensor4D | null {
  const [, , H, dh] = q.shape;
  const Kh = k.shape[2];
  if (softcap !== null && !(softcap > 0 && tf.getBackend() === 'webgpu')) return null;
  if (H % Kh !== 0 || !usable(SAE_CAUSAL_ATTENTION, q, k, v) || !attentionAvailable(dh)) return null;
  const attrs = softcap === null ? { window: window ?? 0 } : { window: window ?? 0, softcap };
  return tf.engine().runKernel(SAE_CAUSAL_ATTENTION, { q, k, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** HF's gelu_new (the tanh GELU) of x in one multi-threaded pass, or null where the fused kernel cannot run. */
export function fusedGeluNew(x: tf.Tensor): tf.Tensor | null {
  if (!usable(SAE_GELU_NEW, x)) return null;
  return tf.engine().runKernel(SAE_GELU_NEW, { x }) as tf.Tensor;
}

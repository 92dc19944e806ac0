// The reconstruction error Σ_j (a − b)² per row as a fused kernel with its gradient on the wasm and cpu backends,
// computed by the native addon on the tensors' memory: one pass forward and one backward where tfjs runs sub,
// square, sum and, for the gradient, four more elementwise kernels over [batch, d_model].
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../native/native-blas';
import { tensorMemory, type HostBackendName } from '../native/tensor-memory';
import { stopGradient } from '../stop-gradient';

export const SAE_ROW_SQ_ERR = 'SaeRowSqErr';
const GRAD = 'SaeRowSqErrGrad';
const WITH_RESIDUAL = 'SaeRowSqErrResidual';
const RESIDUAL_GRAD = 'SaeRowSqErrResidualGrad';

let gradientRegistered = false;

interface SqErrKernels {
  rowSqErr(a: Float32Array, b: Float32Array, rows: number, d: number, out: Float32Array, residual?: Float32Array | null): void;
  rowSqErrGradFromResidual(residual: Float32Array, dy: Float32Array, rows: number, d: number, da: Float32Array | null, db: Float32Array | null): void;
  rowSqErrGrad(a: Float32Array, b: Float32Array, dy: Float32Array, rows: number, d: number, da: Float32Array | null, db: Float32Array | null): void;
}

/** Registers the kernels for `backendName` when the addon has them; returns whether they are available. */
export function registerNativeRowSqErr(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_ROW_SQ_ERR, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<SqErrKernels> | null;
  if (!k || typeof k.rowSqErr !== 'function' || typeof k.rowSqErrGrad !== 'function' || typeof k.rowSqErrGradFromResidual !== 'function') return false;
  const native = k as SqErrKernels;
  const viewer = (backend: unknown) => {
    const mem = tensorMemory(backendName, backend);
    return {
      mem,
      view: (t: tf.TensorInfo) => {
        const arr = mem.view(t);
        if (!arr) throw new Error(`${SAE_ROW_SQ_ERR}: tensor memory is not addressable on ${backendName}`);
        return arr;
      },
    };
  };
  tf.registerKernel({
    kernelName: SAE_ROW_SQ_ERR,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const [rows, d] = a.shape as [number, number];
      const { mem, view } = viewer(backend);
      const out = mem.allocate([rows]);
      // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
      native.rowSqErr(view(a), view(b), rows, d, view(out));
      return out;
    },
  });
  tf.registerKernel({
    kernelName: GRAD,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b, dy } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; dy: tf.TensorInfo };
      const { wrt } = attrs as unknown as { wrt: 'a' | 'b' };
      const [rows, d] = a.shape as [number, number];
      const { mem, view } = viewer(backend);
      const out = mem.allocate([rows, d]);
      native.rowSqErrGrad(view(a), view(b), view(dy), rows, d, wrt === 'a' ? view(out) : null, wrt === 'b' ? view(out) : null);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: WITH_RESIDUAL,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const [rows, d] = a.shape as [number, number];
      const { mem, view } = viewer(backend);
      const outs = [mem.allocate([rows]), mem.allocate([rows, d])];
      native.rowSqErr(view(a), view(b), rows, d, view(outs[0]!), view(outs[1]!));
      return outs;
    },
  });
  tf.registerKernel({
    kernelName: RESIDUAL_GRAD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { residual, dy } = inputs as { residual: tf.TensorInfo; dy: tf.TensorInfo };
      const [rows, d] = residual.shape as [number, number];
      const { mem, view } = viewer(backend);
      const out = mem.allocate([rows, d]);
      native.rowSqErrGradFromResidual(view(residual), view(dy), rows, d, null, view(out));
      return out;
    },
  });
  if (!gradientRegistered) {
    tf.registerGradient({
      kernelName: SAE_ROW_SQ_ERR,
      inputsToSave: ['a', 'b'],
      // One pass per input asked for (tfjs runs each input's gradient in its own tidy, so two cannot share one
      // kernel's outputs); in training only the reconstruction's is asked for.
      gradFunc: (dy, saved) => {
        const [a, b] = saved as [tf.Tensor, tf.Tensor];
        const grad = (wrt: 'a' | 'b') => () => tf.engine().runKernel(GRAD, { a, b, dy: dy as tf.Tensor }, { wrt } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return { a: grad('a'), b: grad('b') };
      },
    });
    gradientRegistered = true;
  }
  return true;
}

/**
 * Σ_j (target − pred)² for each row, with a gradient for `pred` only: the target is data (a batch, a stopped
 * residual), as in a reconstruction loss. rowSquaredError's registered gradient has tfjs save copies of both
 * inputs, and reads both again (two [batch, d] copies and three passes per training step); here the forward pass
 * writes the residual target − pred while it sums its squares, and the gradient reads only that. The residual is
 * kept past the forward scope and released by the gradient, so inside a gradient scope the gradient must be taken
 * (a training step always does) or the residual stays allocated.
 */
export function rowSquaredErrorToTarget(target: tf.Tensor2D, pred: tf.Tensor2D): tf.Tensor1D {
  const fused = tf.getKernel(WITH_RESIDUAL, tf.getBackend()) && target.dtype === 'float32' && pred.dtype === 'float32' && tf.util.arraysEqual(target.shape, pred.shape);
  if (!fused) return tf.tidy(() => tf.sum(tf.square(tf.sub(stopGradient(target), pred)), 1));
  const state = tf.engine().state as unknown as { gradientDepth: number; kernelDepth: number };
  if (!(state.gradientDepth > 0 && state.kernelDepth === 0)) return tf.engine().runKernel(SAE_ROW_SQ_ERR, { a: target, b: pred }) as tf.Tensor1D;
  const op = tf.customGrad(((p: tf.Tensor) => {
    const [rows, residual] = tf.engine().runKernel(WITH_RESIDUAL, { a: target, b: p }) as tf.Tensor[];
    tf.keep(residual!);
    return {
      value: rows!,
      gradFunc: (dy: tf.Tensor) => {
        try {
          return tf.engine().runKernel(RESIDUAL_GRAD, { residual: residual!, dy }) as tf.Tensor;
        } finally {
          residual!.dispose();
        }
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(pred) as tf.Tensor1D;
}

/** Σ_j (a − b)² for each row of two [rows, d] float32 matrices. */
export function rowSquaredError(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  const fused = tf.getKernel(SAE_ROW_SQ_ERR, tf.getBackend()) && a.dtype === 'float32' && b.dtype === 'float32' && tf.util.arraysEqual(a.shape, b.shape);
  if (fused) return tf.engine().runKernel(SAE_ROW_SQ_ERR, { a, b }) as tf.Tensor1D;
  return tf.tidy(() => tf.sum(tf.square(tf.sub(a, b)), 1));
}

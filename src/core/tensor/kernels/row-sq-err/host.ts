// The reconstruction error Σ_j (a − b)² per row on the wasm and cpu backends, computed by the native addon on the
// tensors' memory: one pass forward and one backward where tfjs runs sub, square, sum and, for the gradient, four
// more elementwise kernels over [batch, d_model]. The gradient's registration is in grad.ts.
import * as tf from '@tensorflow/tfjs-core';
import { loadNativeBlas } from '../../native/native-blas';
import { tensorMemory, type HostBackendName } from '../../native/tensor-memory';
import {
  SAE_ROW_SQ_ERR,
  SAE_ROW_SQ_ERR_GRAD,
  SAE_ROW_SQ_ERR_RESIDUAL,
  SAE_ROW_SQ_ERR_RESIDUAL_GRAD,
} from '../kernel-names';

interface SqErrKernels {
  rowSqErr(
    a: Float32Array,
    b: Float32Array,
    rows: number,
    d: number,
    out: Float32Array,
    residual?: Float32Array | null,
  ): void;
  rowSqErrGradFromResidual(
    residual: Float32Array,
    dy: Float32Array,
    rows: number,
    d: number,
    da: Float32Array | null,
    db: Float32Array | null,
  ): void;
  rowSqErrGrad(
    a: Float32Array,
    b: Float32Array,
    dy: Float32Array,
    rows: number,
    d: number,
    da: Float32Array | null,
    db: Float32Array | null,
  ): void;
}

/** The backend's tensor memory and a float view of a tensor that throws where memory is not addressable. */
function viewer(backendName: HostBackendName, backend: unknown) {
  const mem = tensorMemory(backendName, backend);
  const view = (t: tf.TensorInfo) => {
    const arr = mem.view(t);
    if (!arr) throw new Error(`${SAE_ROW_SQ_ERR}: tensor memory is not addressable on ${backendName}`);
    return arr;
  };
  return { mem, view };
}

/** Registers the four kernels for `backendName` when the addon has them (idempotent); returns whether they are available. */
export function registerHostRowSqErr(backendName: HostBackendName): boolean {
  if (tf.getKernel(SAE_ROW_SQ_ERR, backendName)) return true;
  const k = loadNativeBlas().blas as unknown as Partial<SqErrKernels> | null;
  if (
    !k ||
    typeof k.rowSqErr !== 'function' ||
    typeof k.rowSqErrGrad !== 'function' ||
    typeof k.rowSqErrGradFromResidual !== 'function'
  )
    return false;
  const native = k as SqErrKernels;
  const reg = (kernelName: string, kernelFunc: tf.KernelFunc) =>
    tf.registerKernel({ kernelName, backendName, kernelFunc });
  reg(SAE_ROW_SQ_ERR, ({ inputs, backend }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const [rows, d] = a.shape as [number, number];
    const { mem, view } = viewer(backendName, backend);
    const out = mem.allocate([rows]);
    // Views only after the last allocation: on wasm an allocation may grow (and detach) the heap.
    native.rowSqErr(view(a), view(b), rows, d, view(out));
    return out;
  });
  reg(SAE_ROW_SQ_ERR_GRAD, ({ inputs, backend, attrs }) => {
    const { a, b, dy } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo; dy: tf.TensorInfo };
    const { wrt } = attrs as unknown as { wrt: 'a' | 'b' };
    const [rows, d] = a.shape as [number, number];
    const { mem, view } = viewer(backendName, backend);
    const out = mem.allocate([rows, d]);
    native.rowSqErrGrad(
      view(a),
      view(b),
      view(dy),
      rows,
      d,
      wrt === 'a' ? view(out) : null,
      wrt === 'b' ? view(out) : null,
    );
    return out;
  });
  reg(SAE_ROW_SQ_ERR_RESIDUAL, ({ inputs, backend }) => {
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const [rows, d] = a.shape as [number, number];
    const { mem, view } = viewer(backendName, backend);
    const [sums, residual] = [mem.allocate([rows]), mem.allocate([rows, d])];
    native.rowSqErr(view(a), view(b), rows, d, view(sums), view(residual));
    return [sums, residual];
  });
  reg(SAE_ROW_SQ_ERR_RESIDUAL_GRAD, ({ inputs, backend }) => {
    const { residual, dy } = inputs as { residual: tf.TensorInfo; dy: tf.TensorInfo };
    const [rows, d] = residual.shape as [number, number];
    const { mem, view } = viewer(backendName, backend);
    const out = mem.allocate([rows, d]);
    native.rowSqErrGradFromResidual(view(residual), view(dy), rows, d, null, view(out));
    return out;
  });
  return true;
}

// tfjs's BatchMatMul on the wasm and cpu backends through OpenBLAS sgemm, reading and writing the tensors' own
// memory; what it cannot take (non-float32, rank < 2) goes to the kernel it replaced.
import type { KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { planBatchMatMul, type MatMulPlan } from './matmul-plan';
import type { NativeBlas } from './native-blas';
import { tensorMemory, type HostBackendName } from './tensor-memory';

/**
 * Runs every call of `plan`: c = op(a) · op(b) + beta · c (beta 1 adds to what c holds, e.g. a bias), or, given a
 * `bias` row (N values; the addon must have sgemmBatchedBias), c = op(a) · op(b) + bias under every row of c.
 */
export function runSgemmPlan(
  blas: NativeBlas,
  plan: MatMulPlan,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  beta = 0,
  bias?: Float32Array,
): void {
  const { transA, transB, m, n, k, lda, ldb, ldc } = plan;
  for (const call of plan.calls) {
    const [ca, cb, cc] = [
      call.offsetA === 0 ? a : a.subarray(call.offsetA),
      call.offsetB === 0 ? b : b.subarray(call.offsetB),
      call.offsetC === 0 ? c : c.subarray(call.offsetC),
    ];
    if (bias) {
      const { strideA, strideB, strideC, batch } = call;
      blas.sgemmBatchedBias!(
        transA,
        transB,
        m,
        n,
        k,
        1,
        ca,
        lda,
        strideA,
        cb,
        ldb,
        strideB,
        bias,
        cc,
        ldc,
        strideC,
        batch,
      );
      continue;
    }
    blas.sgemmBatched(
      transA,
      transB,
      m,
      n,
      k,
      1,
      ca,
      lda,
      call.strideA,
      cb,
      ldb,
      call.strideB,
      beta,
      cc,
      ldc,
      call.strideC,
      call.batch,
    );
  }
}

export interface MatMulOperands {
  a: TensorInfo;
  b: TensorInfo;
  transposeA: boolean;
  transposeB: boolean;
}

/** The operands of a BatchMatMul/_FusedMatMul call when sgemm can take them, else null. */
export function nativeOperands(
  inputs: Record<string, TensorInfo | undefined>,
  attrs?: NamedAttrMap,
): MatMulOperands | null {
  const { a, b } = inputs;
  if (!a || !b || a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2) {
    return null;
  }
  return { a, b, transposeA: Boolean(attrs?.transposeA), transposeB: Boolean(attrs?.transposeB) };
}

export function nativeBatchMatMul(blas: NativeBlas, backendName: HostBackendName, original: KernelFunc): KernelFunc {
  return (args) => {
    const operands = nativeOperands(args.inputs, args.attrs);
    if (!operands) return original(args);
    const { a, b, transposeA, transposeB } = operands;
    const plan = planBatchMatMul(a.shape, b.shape, transposeA, transposeB);
    const memory = tensorMemory(backendName, args.backend);
    const out = memory.allocate(plan.outShape); // [...batch, M, N]
    // Views only after the allocation: on wasm it may grow the heap and detach older ones.
    const [va, vb, vc] = [memory.view(a), memory.view(b), memory.view(out)];
    if (!va || !vb || !vc) {
      memory.dispose(out);
      return original(args);
    }
    try {
      runSgemmPlan(blas, plan, va, vb, vc);
    } catch (err) {
      memory.dispose(out);
      throw err;
    }
    return out;
  };
}

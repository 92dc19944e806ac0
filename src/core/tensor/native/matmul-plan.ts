// Turns a tfjs BatchMatMul (two shapes of rank >= 2 and the transpose flags) into row-major sgemm calls: the
// leading dimensions, the broadcast output shape, and batch loops whose stride is 0 where an operand is broadcast.
import { broadcast_util } from '@tensorflow/tfjs-core';

/** One sgemmBatched call; offsets and strides count float32 elements. */
export interface SgemmCall {
  offsetA: number;
  strideA: number;
  offsetB: number;
  strideB: number;
  offsetC: number;
  strideC: number;
  batch: number;
}

export interface MatMulPlan {
  /** [...broadcast(batch dims of a, batch dims of b), M, N] */
  outShape: number[];
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  lda: number;
  ldb: number;
  ldc: number;
  /** Empty when the output has no elements. */
  calls: SgemmCall[];
}

interface BatchDim {
  size: number;
  /** Strides in whole matrices of a, b and the output; 0 where the operand is broadcast along this dim. */
  a: number;
  b: number;
  c: number;
}

/**
 * Batch dims broadcast like NumPy (a [2,1] batch times a [1,3] batch gives [2,3]). tfjs's own kernels index the
 * flattened batch modulo its size, which agrees wherever one operand's batch is 1, the batch shapes are equal, or
 * one is a trailing part of the other; other broadcasts have no correct tfjs result to agree with.
 */
export function planBatchMatMul(aShape: number[], bShape: number[], transA: boolean, transB: boolean): MatMulPlan {
  const aRank = aShape.length;
  const bRank = bShape.length;
  if (aRank < 2 || bRank < 2) throw new Error(`matMul needs rank >= 2 operands, got [${aShape}] and [${bShape}]`);
  const innerA = transA ? aShape[aRank - 2]! : aShape[aRank - 1]!;
  const innerB = transB ? bShape[bRank - 1]! : bShape[bRank - 2]!;
  const m = transA ? aShape[aRank - 1]! : aShape[aRank - 2]!;
  const n = transB ? bShape[bRank - 2]! : bShape[bRank - 1]!;
  if (innerA !== innerB) {
    throw new Error(
      `Error in matMul: inner shapes (${innerA}) and (${innerB}) of Tensors with shapes ${aShape} and ${bShape} ` +
        `and transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const k = innerA;
  const batchShape = broadcast_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
  const outShape = [...batchShape, m, n];
  const plan: MatMulPlan = {
    outShape,
    transA,
    transB,
    m,
    n,
    k,
    lda: Math.max(1, transA ? m : k),
    ldb: Math.max(1, transB ? k : n),
    ldc: Math.max(1, n),
    calls: [],
  };
  if (outShape.some((d) => d === 0)) return plan;

  const dims = coalesce(batchDims(aShape.slice(0, -2), bShape.slice(0, -2), batchShape));
  const inner = dims.pop() ?? { size: 1, a: 0, b: 0, c: 0 };
  const [matA, matB, matC] = [m * k, k * n, m * n];
  for (const outer of outerOffsets(dims)) {
    plan.calls.push({
      offsetA: outer.a * matA,
      strideA: inner.a * matA,
      offsetB: outer.b * matB,
      strideB: inner.b * matB,
      offsetC: outer.c * matC,
      strideC: inner.c * matC,
      batch: inner.size,
    });
  }
  return plan;
}

/** Output batch dims of size > 1, outermost first, with each operand's stride (0 where it broadcasts). */
function batchDims(aBatch: number[], bBatch: number[], outBatch: number[]): BatchDim[] {
  const dims: BatchDim[] = [];
  let [accA, accB, accC] = [1, 1, 1];
  for (let i = 1; i <= outBatch.length; i++) {
    const size = outBatch[outBatch.length - i]!;
    const sizeA = aBatch[aBatch.length - i] ?? 1;
    const sizeB = bBatch[bBatch.length - i] ?? 1;
    if (size !== 1) dims.unshift({ size, a: sizeA === 1 ? 0 : accA, b: sizeB === 1 ? 0 : accB, c: accC });
    [accA, accB, accC] = [accA * sizeA, accB * sizeB, accC * size];
  }
  return dims;
}

/** Merges neighbouring dims that every operand walks with one stride (e.g. [B, H] into B·H). */
function coalesce(dims: BatchDim[]): BatchDim[] {
  const out: BatchDim[] = [];
  for (const d of dims) {
    const prev = out[out.length - 1];
    if (prev && prev.a === d.a * d.size && prev.b === d.b * d.size && prev.c === d.c * d.size) {
      out[out.length - 1] = { ...d, size: prev.size * d.size };
    } else {
      out.push({ ...d });
    }
  }
  return out;
}

/** Matrix offsets of a, b and the output for every index of `dims` (one zero offset when there are none). */
function outerOffsets(dims: BatchDim[]): Array<{ a: number; b: number; c: number }> {
  let offsets = [{ a: 0, b: 0, c: 0 }];
  for (const d of dims) {
    const next: typeof offsets = [];
    for (const o of offsets) {
      for (let i = 0; i < d.size; i++) next.push({ a: o.a + i * d.a, b: o.b + i * d.b, c: o.c + i * d.c });
    }
    offsets = next;
  }
  return offsets;
}

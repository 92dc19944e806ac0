import { describe, expect, it } from 'vitest';
import { planBatchMatMul } from '../../../../src/core/tensor/native/matmul-plan';

describe('planBatchMatMul', () => {
  it('plans a 2-D product as one call with row-major leading dims', () => {
    const plan = planBatchMatMul([7, 33], [33, 5], false, false);
    expect(plan).toMatchObject({ outShape: [7, 5], m: 7, n: 5, k: 33, lda: 33, ldb: 5, ldc: 5 });
    expect(plan.calls).toEqual([{ offsetA: 0, strideA: 0, offsetB: 0, strideB: 0, offsetC: 0, strideC: 0, batch: 1 }]);
  });

  it('reads M, N, K and leading dims through the transposes', () => {
    const plan = planBatchMatMul([33, 7], [5, 33], true, true); // op(a) [7, 33], op(b) [33, 5]
    expect(plan).toMatchObject({ outShape: [7, 5], m: 7, n: 5, k: 33, lda: 7, ldb: 33, ldc: 5 });
  });

  it('merges equal batch dims into one call', () => {
    const plan = planBatchMatMul([4, 2, 3, 5], [4, 2, 5, 6], false, false);
    expect(plan.outShape).toEqual([4, 2, 3, 6]);
    expect(plan.calls).toEqual([
      { offsetA: 0, strideA: 15, offsetB: 0, strideB: 30, offsetC: 0, strideC: 18, batch: 8 },
    ]);
  });

  it('broadcasts a matrix over the batch with stride 0', () => {
    expect(planBatchMatMul([5, 3, 4], [4, 2], false, false).calls).toEqual([
      { offsetA: 0, strideA: 12, offsetB: 0, strideB: 0, offsetC: 0, strideC: 6, batch: 5 },
    ]);
    expect(planBatchMatMul([1, 3, 4], [2, 5, 4, 2], false, false).calls).toEqual([
      { offsetA: 0, strideA: 0, offsetB: 0, strideB: 8, offsetC: 0, strideC: 6, batch: 10 },
    ]);
  });

  it('loops over outer dims where the operands broadcast along different dims', () => {
    const plan = planBatchMatMul([2, 1, 3, 4], [1, 3, 4, 5], false, false);
    expect(plan.outShape).toEqual([2, 3, 3, 5]);
    expect(plan.calls).toEqual([
      { offsetA: 0, strideA: 0, offsetB: 0, strideB: 20, offsetC: 0, strideC: 15, batch: 3 },
      { offsetA: 12, strideA: 0, offsetB: 0, strideB: 20, offsetC: 45, strideC: 15, batch: 3 },
    ]);
  });

  it('has no calls for an empty output, and keeps leading dims >= 1', () => {
    expect(planBatchMatMul([0, 4], [4, 3], false, false).calls).toEqual([]);
    expect(planBatchMatMul([0, 2, 3], [0, 3, 4], false, false).outShape).toEqual([0, 2, 4]);
    const emptyK = planBatchMatMul([3, 0], [0, 4], false, false);
    expect(emptyK).toMatchObject({ k: 0, lda: 1, ldb: 4 });
    expect(emptyK.calls).toHaveLength(1);
  });

  it('rejects what tfjs rejects', () => {
    expect(() => planBatchMatMul([2, 3], [4, 5], false, false)).toThrow(/inner shapes \(3\) and \(4\)/);
    expect(() => planBatchMatMul([2, 2, 3], [3, 3, 4], false, false)).toThrow(/broadcast/i);
    expect(() => planBatchMatMul([3], [3, 4], false, false)).toThrow(/rank >= 2/);
  });
});

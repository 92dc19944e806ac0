import { describe, expect, it } from 'vitest';
import { referenceMatMul } from '../../../../src/core/tensor/native/reference-matmul';

describe('referenceMatMul', () => {
  const a = { values: [1, 2, 3, 4], shape: [2, 2] };
  const b = { values: [5, 6, 7, 8], shape: [2, 2] };

  it('multiplies 2x2 matrices under every transpose', () => {
    expect(Array.from(referenceMatMul(a, b).values)).toEqual([19, 22, 43, 50]);
    expect(Array.from(referenceMatMul(a, b, true, false).values)).toEqual([26, 30, 38, 44]);
    expect(Array.from(referenceMatMul(a, b, false, true).values)).toEqual([17, 23, 39, 53]);
    expect(Array.from(referenceMatMul(a, b, true, true).values)).toEqual([23, 31, 34, 46]);
  });

  it('broadcasts batch dims like NumPy', () => {
    const a2 = { values: [1, 2], shape: [2, 1, 1, 1] }; // batch [2, 1]
    const b2 = { values: [10, 20, 30], shape: [3, 1, 1] }; // batch [3]
    const out = referenceMatMul(a2, b2);
    expect(out.shape).toEqual([2, 3, 1, 1]);
    expect(Array.from(out.values)).toEqual([10, 20, 30, 20, 40, 60]);
  });

  it('rejects mismatched inner dims', () => {
    expect(() => referenceMatMul({ values: [1, 2, 3], shape: [1, 3] }, b)).toThrow(/inner dims 3 and 2/);
  });
});

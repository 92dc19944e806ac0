// The addon on its own: sgemm / sgemmBatched against the Float64 reference (padded leading dims, views with a
// byteOffset, alpha/beta, stride-0 broadcast), its argument checks, and the loader's reasons.
import { describe, expect, it } from 'vitest';
import { nativeBlasName, openNativeBlas, type NativeBlas } from '../../../../src/core/tensor/native/native-blas';
import { registerNativeMatMul } from '../../../../src/core/tensor/native/register-native-matmul';
import { referenceMatMul } from '../../../../src/core/tensor/native/reference-matmul';
import { expectClose } from '../../../helpers/expect-close';
import { nativeLoad, randomArray, skipReason, TRANSPOSES } from './helpers';

/** Copies a rows x cols matrix into a buffer whose rows are `ld` apart, starting `offset` elements in. */
function padded(values: Float32Array, rows: number, cols: number, ld: number, offset: number): Float32Array {
  const out = new Float32Array(offset + rows * ld).fill(Number.NaN);
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * cols, (r + 1) * cols), offset + r * ld);
  return out;
}

describe('openNativeBlas', () => {
  it('explains a missing, disabled or broken addon in one line', () => {
    const missing = openNativeBlas('/nonexistent/sae_blas.node');
    expect(missing.blas).toBeNull();
    expect(!missing.blas && missing.reason).toMatch(/not built .*missing; run npm run build:native/);
    expect(openNativeBlas('off')).toEqual({ blas: null, reason: 'native BLAS disabled by SAE_STUDIO_NATIVE=off' });
    const broken = openNativeBlas(new URL('../../../../package.json', import.meta.url).pathname);
    expect(!broken.blas && broken.reason).toMatch(/failed to load/);
    expect(!broken.blas && broken.reason).not.toContain('\n');
  });

  it('leaves tfjs kernels alone when there is no addon', () => {
    expect(registerNativeMatMul('cpu', { blas: null, reason: 'absent' })).toEqual({
      registered: false,
      reason: 'absent',
    });
  });
});

const blas = nativeLoad.blas as NativeBlas;

describe.skipIf(!nativeLoad.blas)(`native BLAS addon: loading and products${skipReason}`, () => {
  it('loads again from the same file', () => {
    const again = openNativeBlas(nativeLoad.blas ? nativeLoad.path : '');
    expect(typeof again.blas?.sgemm).toBe('function');
  });

  for (const [transA, transB] of TRANSPOSES) {
    it(`sgemm with padded leading dims and offset views (transA=${transA}, transB=${transB})`, () => {
      const [m, n, k] = [7, 33, 5];
      const [ra, ca] = transA ? [k, m] : [m, k];
      const [rb, cb] = transB ? [n, k] : [k, n];
      const a = randomArray(m * k, 1);
      const b = randomArray(k * n, 2);
      const c0 = randomArray(m * n, 3);
      const [lda, ldb, ldc] = [ca + 3, cb + 1, n + 2];
      const aBuf = padded(a, ra, ca, lda, 5);
      const bBuf = padded(b, rb, cb, ldb, 1);
      const cBuf = padded(c0, m, n, ldc, 2);
      blas.sgemm(transA, transB, m, n, k, 0.5, aBuf.subarray(5), lda, bBuf.subarray(1), ldb, 2, cBuf.subarray(2), ldc);
      const ab = referenceMatMul({ values: a, shape: [ra, ca] }, { values: b, shape: [rb, cb] }, transA, transB);
      const expected = ab.values.map((v, i) => 0.5 * v + 2 * c0[i]!);
      const actual = new Float32Array(m * n);
      for (let r = 0; r < m; r++) actual.set(cBuf.subarray(2 + r * ldc, 2 + r * ldc + n), r * n);
      expectClose(actual, expected, { rtol: 1e-5, label: 'sgemm' });
      expect(Number.isNaN(cBuf[2 + n])).toBe(true); // the padding between rows of C is untouched
    });
  }

  it('sgemmBatched broadcasts a stride-0 operand on either side', () => {
    const [batch, m, n, k] = [4, 3, 5, 6];
    const a = randomArray(batch * m * k, 4);
    const b = randomArray(k * n, 5);
    const c = new Float32Array(batch * m * n);
    blas.sgemmBatched(false, false, m, n, k, 1, a, k, m * k, b, n, 0, 0, c, n, m * n, batch);
    const ref = referenceMatMul({ values: a, shape: [batch, m, k] }, { values: b, shape: [k, n] });
    expectClose(c, ref.values, { rtol: 1e-5, label: 'B broadcast (one stacked GEMM)' });

    const bT = randomArray(batch * n * k, 6);
    const aOne = randomArray(k * m, 7);
    blas.sgemmBatched(true, true, m, n, k, 1, aOne, m, 0, bT, k, n * k, 0, c, n, m * n, batch);
    const refT = referenceMatMul({ values: aOne, shape: [k, m] }, { values: bT, shape: [batch, n, k] }, true, true);
    expectClose(c, refT.values, { rtol: 1e-5, label: 'A broadcast, both transposed' });
  });

  it('clears C when beta = 0, even from NaN, and scales it when K = 0', () => {
    const c = new Float32Array(4).fill(Number.NaN);
    blas.sgemm(false, false, 2, 2, 1, 1, new Float32Array([1, 2]), 1, new Float32Array([3, 4]), 2, 0, c, 2);
    expect(Array.from(c)).toEqual([3, 4, 6, 8]);
    blas.sgemm(false, false, 2, 2, 0, 1, new Float32Array(0), 1, new Float32Array(0), 2, 0.5, c, 2);
    expect(Array.from(c)).toEqual([1.5, 2, 3, 4]);
    c.fill(Number.NaN);
    blas.sgemmBatched(false, false, 1, 2, 0, 1, new Float32Array(0), 1, 0, new Float32Array(0), 2, 0, 0, c, 2, 2, 2);
    expect(Array.from(c)).toEqual([0, 0, 0, 0]);
  });
});

describe.skipIf(!nativeLoad.blas)(`native BLAS addon: argument checks${skipReason}`, () => {
  it('throws TypeError for wrong kinds of argument', () => {
    const f = new Float32Array(4);
    const call =
      (...args: unknown[]) =>
      () =>
        (blas.sgemm as (...a: unknown[]) => void)(...args);
    expect(call(false, false, 2, 2, 2, 1, f, 2, f.slice(), 2, 0, f.slice(), 2)).not.toThrow();
    expect(call(0, false, 2, 2, 2, 1, f, 2, f, 2, 0, f.slice(), 2)).toThrow(TypeError);
    expect(call(false, false, '2', 2, 2, 1, f, 2, f, 2, 0, f.slice(), 2)).toThrow(/M must be a number/);
    expect(call(false, false, 2, 2, 2, 1, new Float64Array(4), 2, f, 2, 0, f.slice(), 2)).toThrow(
      /A must be a Float32Array/,
    );
    expect(call(false, false, 2, 2, 2, 1, f, 2, f, 2, 0, f.slice())).toThrow(/expected 13 arguments, got 12/);
    expect(() => (blas.setThreads as (n: unknown) => void)('2')).toThrow(TypeError);
  });

  it('throws RangeError for sizes, strides and overlaps that would leave the arrays', () => {
    const f = () => new Float32Array(4);
    const a = f();
    expect(() => blas.sgemm(false, false, 2, 2, 2, 1, f(), 2, f(), 2, 0, new Float32Array(3), 2)).toThrow(RangeError);
    expect(() => blas.sgemm(false, false, 2, 2, 2, 1, f(), 1, f(), 2, 0, f(), 2)).toThrow(/lda = 1 is below/);
    expect(() => blas.sgemm(false, false, 2.5, 2, 2, 1, f(), 2, f(), 2, 0, f(), 2)).toThrow(/M must be an integer/);
    expect(() => blas.sgemm(false, false, 2, 2, 2, 1, a, 2, f(), 2, 0, a, 2)).toThrow(/must not share memory/);
    const big = new Float32Array(8);
    expect(() => blas.sgemm(false, false, 1, 2, 2, 1, big.subarray(0, 2), 2, f(), 2, 0, big.subarray(1, 3), 2)).toThrow(
      /must not share memory/,
    );
    const batched = (strideA: number, strideC: number, batch: number) => () =>
      blas.sgemmBatched(
        false,
        false,
        2,
        2,
        2,
        1,
        new Float32Array(8),
        2,
        strideA,
        f(),
        2,
        0,
        0,
        new Float32Array(8),
        2,
        strideC,
        batch,
      );
    expect(batched(4, 4, 2)).not.toThrow();
    expect(batched(-4, 4, 2)).toThrow(/strideA must be an integer/);
    expect(batched(4, 2, 2)).toThrow(/outputs of the batch would overlap/);
    expect(batched(4, 4, 3)).toThrow(/A has 8 elements .* need 12/);
    expect(() => blas.setThreads(0)).toThrow(RangeError);
  });

  it('refuses a view whose buffer was detached', () => {
    const buffer = new ArrayBuffer(16);
    const a = new Float32Array(buffer);
    structuredClone(buffer, { transfer: [buffer] });
    expect(() => blas.sgemm(false, false, 2, 2, 2, 1, a, 2, new Float32Array(4), 2, 0, new Float32Array(4), 2)).toThrow(
      /A has 0 elements/,
    );
  });
});

describe.skipIf(!nativeLoad.blas)(`native BLAS addon: threads and info${skipReason}`, () => {
  it('reads and sets the sgemm thread count, and names the BLAS in use', () => {
    const before = blas.threads();
    expect(before).toBeGreaterThanOrEqual(1);
    blas.setThreads(1);
    expect(blas.threads()).toBe(1);
    blas.setThreads(before);
    expect(blas.threads()).toBe(before);
    const info = blas.info();
    expect(info.config).toMatch(info.backend === 'own' ? /^own sgemm$/ : /^(OpenBLAS |Apple Accelerate)/);
    expect(nativeBlasName()).toBe(info.blas);
  });
});

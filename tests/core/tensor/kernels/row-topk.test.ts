// The native TopK that replaces wasm's (row-topk/host.ts) gives exactly tfjs-wasm's values and indices (values
// descending, equal values by ascending index), on random rows of the dictionary's width and on crafted ties,
// ±0, −Infinity, k = 1 and k = n; unsorted TopK (the select's own order), rows with a NaN and other dtypes go to
// tfjs's kernel; the replaced kernel can be put back.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { normalGenerator } from '../../../../src/core/lm/random-params';
import { loadNativeBlas } from '../../../../src/core/tensor/native/native-blas';
import { registerRowTopK } from '../../../../src/core/tensor/kernels/row-topk/host';
import { describeEachBackend } from '../../../helpers/backends';

interface Result {
  values: number[];
  indices: number[];
  shape: number[];
}

async function run(x: tf.Tensor, k: number, sorted = true): Promise<Result> {
  const { values, indices } = tf.topk(x, k, sorted);
  const r = { values: Array.from(await values.data()), indices: Array.from(await indices.data()), shape: values.shape };
  tf.dispose([values, indices]);
  return r;
}

/** tfjs-wasm's TopK (the replaced kernel), then the native one; both results. */
async function both(x: tf.Tensor, k: number, sorted = true): Promise<[Result, Result]> {
  const restore = registerRowTopK(); // registered by the backend bootstrap already: this gets its restore
  if (!restore) throw new Error('the addon of this checkout has no rowTopK');
  restore();
  const original = await run(x, k, sorted);
  registerRowTopK();
  return [original, await run(x, k, sorted)];
}

/** The plain reference: each row sorted by (value descending, index ascending), its first k. */
function reference(data: Float32Array, n: number, k: number): { values: number[]; indices: number[] } {
  const values: number[] = [];
  const indices: number[] = [];
  for (let r = 0; r < data.length / n; r++) {
    const row = Array.from(data.subarray(r * n, (r + 1) * n), (v, i) => ({ v, i }));
    row.sort((a, b) => (a.v === b.v ? a.i - b.i : b.v - a.v));
    for (const { v, i } of row.slice(0, k)) {
      values.push(v);
      indices.push(i);
    }
  }
  return { values, indices };
}

/** The addon's kernel called directly: whether it took the rows, and what it wrote. */
function nativeTopK(data: Float32Array, n: number, k: number) {
  const addon = loadNativeBlas().blas as unknown as {
    rowTopK(x: Float32Array, rows: number, n: number, k: number, v: Float32Array, i: Int32Array): boolean;
  };
  const rows = data.length / n;
  const values = new Float32Array(rows * k);
  const indices = new Int32Array(rows * k);
  const ok = addon.rowTopK(data, rows, n, k, values, indices);
  return { ok, values: Array.from(values), indices: Array.from(indices) };
}

describeEachBackend(
  'row TopK',
  () => {
    it('the dictionary layout: random [300, 4096], k 32, as tfjs-wasm and the reference', async () => {
      const n = normalGenerator(3);
      const data = new Float32Array(300 * 4096).map(() => n());
      const x = tf.tensor2d(data, [300, 4096]);
      const [original, native] = await both(x, 32);
      expect(native).toEqual(original);
      expect(native.shape).toEqual([300, 32]);
      const direct = nativeTopK(data, 4096, 32);
      expect(direct.ok).toBe(true);
      expect(direct.values).toEqual(reference(data, 4096, 32).values);
      expect(direct.indices).toEqual(reference(data, 4096, 32).indices);
      x.dispose();
    });

    it('ties (a few distinct values), ±0 and −Infinity: equal values by ascending index', async () => {
      const n = normalGenerator(5);
      const levels = [-Infinity, -1, -0, 0, 0.5, 2];
      // Rows of 1000 (not a multiple of 16) from 6 values; one row all −Infinity, one all zeros of both signs.
      const data = new Float32Array(50 * 1000).map(() => levels[Math.floor(Math.abs(n()) * 2.5) % levels.length]!);
      data.fill(-Infinity, 0, 1000);
      for (let j = 0; j < 1000; j++) data[1000 + j] = j % 3 === 0 ? -0 : 0;
      const x = tf.tensor2d(data, [50, 1000]);
      for (const k of [1, 7, 32, 256]) {
        const [original, native] = await both(x, k);
        expect(native.indices).toEqual(original.indices);
        // toEqual tells −0 from +0: each value keeps its own sign, as in tfjs's sort.
        expect(native.values).toEqual(original.values);
        const direct = nativeTopK(data, 1000, k);
        expect(direct.ok).toBe(true);
        expect(direct.indices).toEqual(original.indices);
      }
      x.dispose();
    });

    it('k = n, k = 1, rank 1 and rank 3; sorted false (left to tfjs)', async () => {
      const n = normalGenerator(7);
      const data = new Float32Array(6 * 40).map(() => Math.round(n() * 3) / 2);
      const x3 = tf.tensor3d(data, [2, 3, 40]);
      for (const [k, sorted] of [
        [40, true],
        [1, true],
        [13, false],
      ] as const) {
        const [original, native] = await both(x3, k, sorted);
        expect(native).toEqual(original);
      }
      const x1 = tf.tensor1d(data.subarray(0, 40));
      const [o1, n1] = await both(x1, 40);
      expect(n1).toEqual(o1);
      expect(nativeTopK(data, 40, 40).ok).toBe(true);
      tf.dispose([x3, x1]);
    });

    it('a row with a NaN, int32 data and k > 256 go to tfjs-wasm’s kernel', async () => {
      const n = normalGenerator(9);
      const data = new Float32Array(4 * 600).map(() => n());
      data[600 + 17] = NaN;
      const x = tf.tensor2d(data, [4, 600]);
      expect(nativeTopK(data, 600, 32).ok).toBe(false); // refused: tfjs's order is undefined there
      for (const k of [32, 300]) {
        const [original, native] = await both(x, k);
        expect(native).toEqual(original);
      }
      const xi = tf.tensor2d(
        Int32Array.from({ length: 3 * 50 }, (_, i) => (i * 7919) % 23),
        [3, 50],
        'int32',
      );
      const [oi, ni] = await both(xi, 10);
      expect(ni).toEqual(oi);
      tf.dispose([x, xi]);
    });
  },
  ['wasm'],
);

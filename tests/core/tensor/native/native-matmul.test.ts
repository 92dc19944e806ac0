// The native BatchMatMul kernel on wasm and cpu: against the Float64 reference and against the tfjs kernel it
// replaces, for every transpose, batched and broadcast shapes, odd and empty sizes; fallbacks, memory, gradients.
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { referenceMatMul } from '../../../../src/core/tensor/native/reference-matmul';
import { describeEachBackend } from '../../../helpers/backends';
import { expectClose } from '../../../helpers/expect-close';
import { nativeLoad, outcome, randomArray, sizeOf, skipReason, stored, TRANSPOSES, useNativeMatMul } from './helpers';

interface Case {
  /** Logical shapes [...batch, M, K] and [...batch, K, N] (stored transposed when the flag is set). */
  a: number[];
  b: number[];
  /** The backends whose own kernel gets this case right (see planBatchMatMul on tfjs's batch broadcasting). */
  tfjsAgrees: readonly string[];
}

const BOTH = ['wasm', 'cpu'];
const CASES: Case[] = [
  { a: [1, 1], b: [1, 1], tfjsAgrees: BOTH },
  { a: [7, 33], b: [33, 5], tfjsAgrees: BOTH },
  { a: [33, 1], b: [1, 7], tfjsAgrees: BOTH },
  { a: [1, 65], b: [65, 1], tfjsAgrees: BOTH },
  { a: [3, 17, 9], b: [3, 9, 13], tfjsAgrees: BOTH },
  { a: [4, 2, 5, 6], b: [4, 2, 6, 3], tfjsAgrees: BOTH },
  { a: [5, 8, 7], b: [7, 9], tfjsAgrees: BOTH },
  { a: [8, 7], b: [5, 7, 9], tfjsAgrees: BOTH },
  { a: [1, 8, 7], b: [5, 7, 9], tfjsAgrees: BOTH },
  { a: [2, 3, 4, 3], b: [3, 3, 5], tfjsAgrees: BOTH },
  { a: [2, 1, 4, 3], b: [1, 3, 3, 5], tfjsAgrees: [] },
  { a: [6, 1, 4, 3], b: [6, 3, 5], tfjsAgrees: [] },
  { a: [0, 4], b: [4, 3], tfjsAgrees: BOTH },
  // tfjs-wasm leaves the output uninitialised when K = 0.
  { a: [3, 0], b: [0, 4], tfjsAgrees: ['cpu'] },
  { a: [0, 2, 3], b: [0, 3, 4], tfjsAgrees: BOTH },
];

// Relative to the largest output; dot products of up to 65 terms in [-1, 1) cancel, so float32 results that sum
// in different orders differ by ~1e-5 of it. Indexing mistakes give errors of order 1.
const RTOL = 1e-4;

const label = (c: Case, tA: boolean, tB: boolean) => `[${c.a}] x [${c.b}] transA=${tA} transB=${tB}`;

/** Values are read outside tf.tidy: a tidy walks every element of a typed array it returns. */
function matMul(a: number[], av: Float32Array, b: number[], bv: Float32Array, tA: boolean, tB: boolean) {
  const out = tf.tidy(() => tf.matMul(tf.tensor(av, a), tf.tensor(bv, b), tA, tB));
  const result = { shape: out.shape, values: out.dataSync() as Float32Array };
  out.dispose();
  return result;
}

describe.skipIf(!nativeLoad.blas)(`native BatchMatMul${skipReason}`, () => {
  describeEachBackend(
    'BatchMatMul',
    (backend) => {
      const { withOriginal } = useNativeMatMul(backend as 'wasm' | 'cpu');
      let before: tf.MemoryInfo;
      beforeEach(() => {
        before = tf.memory();
      });
      afterEach(() => {
        expect(tf.memory().numTensors, 'tensors left behind').toBe(before.numTensors);
        expect(tf.memory().numDataBuffers, 'data buffers left behind').toBe(before.numDataBuffers);
      });

      for (const c of CASES) {
        it(`[${c.a}] x [${c.b}] under every transpose`, () => {
          for (const [tA, tB] of TRANSPOSES) {
            const [aShape, bShape] = [stored(c.a, tA), stored(c.b, tB)];
            const av = randomArray(sizeOf(aShape), 11);
            const bv = randomArray(sizeOf(bShape), 12);
            const actual = matMul(aShape, av, bShape, bv, tA, tB);
            const ref = referenceMatMul({ values: av, shape: aShape }, { values: bv, shape: bShape }, tA, tB);
            expect(actual.shape, label(c, tA, tB)).toEqual(ref.shape);
            expectClose(actual.values, ref.values, { rtol: RTOL, label: `${label(c, tA, tB)} vs reference` });
            if (!c.tfjsAgrees.includes(backend)) continue;
            const original = withOriginal(() => matMul(aShape, av, bShape, bv, tA, tB));
            expect(original.shape).toEqual(actual.shape);
            expectClose(actual.values, original.values, { rtol: RTOL, label: `${label(c, tA, tB)} vs tfjs kernel` });
          }
        });
      }

      it('leaves int32 and rank-1 operands to the kernel it replaced', () => {
        const int32 = () =>
          tf.tidy(() => {
            const a = tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32');
            return Array.from(tf.matMul(a, tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32')).dataSync());
          });
        const rank1 = () =>
          tf.tidy(() => Array.from(tf.matMul(tf.tensor1d([1, 2]), tf.tensor2d([1, 2], [2, 1])).dataSync()));
        expect(outcome(int32)).toEqual(withOriginal(() => outcome(int32)));
        expect(outcome(rank1)).toEqual(withOriginal(() => outcome(rank1)));
      });

      it("throws tfjs's error for mismatched inner dims", () => {
        const bad = () => tf.tidy(() => tf.matMul(tf.zeros([2, 3]), tf.zeros([4, 5])));
        expect(bad).toThrow(/inner shapes \(3\) and \(4\)/);
      });

      it('tf.grads through matMul agree with the replaced kernel and the reference', () => {
        const [aShape, bShape, outShape] = [
          [3, 5, 7],
          [3, 7, 4],
          [3, 5, 4],
        ];
        const w = randomArray(sizeOf(outShape), 23);
        for (const [tA, tB] of TRANSPOSES) {
          const av = randomArray(sizeOf(aShape), 21);
          const bv = randomArray(sizeOf(bShape), 22);
          const grads = () => {
            const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b, tA, tB), tf.tensor(w, outShape)));
            const dadb = tf.tidy(() =>
              tf.grads(f)([tf.tensor(av, stored(aShape, tA)), tf.tensor(bv, stored(bShape, tB))]),
            );
            const values = dadb.map((d) => d.dataSync() as Float32Array);
            tf.dispose(dadb);
            return values;
          };
          const [da, db] = grads();
          const [oa, ob] = withOriginal(grads);
          expectClose(da!, oa!, { rtol: RTOL, label: `dA transA=${tA} transB=${tB}` });
          expectClose(db!, ob!, { rtol: RTOL, label: `dB transA=${tA} transB=${tB}` });
          if (tA || tB) continue;
          // d/dA sum(W ∘ AB) = W Bᵀ and d/dB = Aᵀ W
          const wOp = { values: w, shape: outShape };
          const refA = referenceMatMul(wOp, { values: bv, shape: bShape }, false, true);
          const refB = referenceMatMul({ values: av, shape: aShape }, wOp, true, false);
          expectClose(da!, refA.values, { rtol: RTOL, label: 'dA vs reference' });
          expectClose(db!, refB.values, { rtol: RTOL, label: 'dB vs reference' });
        }
      });

      it.runIf(backend === 'wasm')('takes its views after an allocation that grows the wasm heap', () => {
        const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
        const start = heapBytes();
        const [m, k] = [16, 3];
        const n = Math.ceil(start / 4 / m) + 1024; // the output alone is larger than the whole heap
        const av = randomArray(m * k, 31);
        const bv = randomArray(k * n, 32);
        const actual = matMul([m, k], av, [k, n], bv, false, false);
        expect(heapBytes()).toBeGreaterThan(start);
        for (const row of [0, m - 1]) {
          const expected = new Float64Array(n);
          for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) expected[j]! += av[row * k + p]! * bv[p * n + j]!;
          expectClose(actual.values.subarray(row * n, (row + 1) * n), expected, { rtol: RTOL, label: `row ${row}` });
        }
      });
    },
    ['wasm', 'cpu'],
  );
});

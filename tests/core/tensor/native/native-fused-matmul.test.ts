// The native _FusedMatMul kernel (tf.fused.matMul) on wasm and cpu: bias broadcasting and the in-place
// activations against the Float64 reference, and the activations it leaves to the kernel it replaced.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  broadcastsTo,
  fillBroadcast,
  setFusedBiasEpilogue,
} from '../../../../src/core/tensor/native/native-fused-matmul';
import { referenceMatMul } from '../../../../src/core/tensor/native/reference-matmul';
import { describeEachBackend } from '../../../helpers/backends';
import { expectClose } from '../../../helpers/expect-close';
import { nativeLoad, randomArray, sizeOf, skipReason, stored, TRANSPOSES, useNativeMatMul } from './helpers';

type Activation = 'linear' | 'relu' | 'relu6' | 'leakyrelu' | 'sigmoid' | 'elu';

const ACTIVATIONS: Record<Activation, (x: number, alpha: number) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(0, x),
  relu6: (x) => Math.min(6, Math.max(0, x)),
  leakyrelu: (x, alpha) => (x < 0 ? alpha * x : x),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  elu: (x) => (x >= 0 ? x : Math.exp(x) - 1),
};

/** Bias shapes that broadcast to [2, 5, 3]; tfjs-wasm's own kernel takes only rank-1 bias. */
const CASES: Array<{ activation: Activation; bias?: number[] }> = [
  { activation: 'linear', bias: [3] },
  { activation: 'relu', bias: [5, 3] },
  { activation: 'relu6', bias: [1] },
  { activation: 'leakyrelu', bias: [2, 5, 3] },
  { activation: 'relu', bias: [2, 1, 1] },
  { activation: 'relu' },
];

/** Activations the native kernel leaves to tfjs: its result must be the replaced kernel's, bit for bit. */
const FALLBACKS: Activation[] = ['sigmoid', 'elu'];

/** Float64 act(op(a) op(b) + bias), bias broadcast from the right. */
function expected(
  av: Float32Array,
  aShape: number[],
  bv: Float32Array,
  bShape: number[],
  tA: boolean,
  tB: boolean,
  bias: { values: Float32Array; shape: number[] } | undefined,
  act: (x: number, alpha: number) => number,
  alpha: number,
): Float64Array {
  const ref = referenceMatMul({ values: av, shape: aShape }, { values: bv, shape: bShape }, tA, tB);
  const out = ref.values;
  if (bias) {
    const filled = new Float32Array(out.length);
    fillBroadcast(bias.values, bias.shape, filled, ref.shape);
    for (let i = 0; i < out.length; i++) out[i]! += filled[i]!;
  }
  return out.map((v) => act(v, alpha));
}

describe('bias broadcasting helpers', () => {
  it('accepts right-aligned shapes of equal or unit dims only', () => {
    expect(broadcastsTo([3], [2, 5, 3])).toBe(true);
    expect(broadcastsTo([5, 1], [2, 5, 3])).toBe(true);
    expect(broadcastsTo([2, 1, 3], [2, 5, 3])).toBe(true);
    expect(broadcastsTo([5], [2, 5, 3])).toBe(false);
    expect(broadcastsTo([1, 2, 5, 3], [2, 5, 3])).toBe(false);
  });

  it('fills each row from the broadcast source', () => {
    const out = new Float32Array(12);
    fillBroadcast(new Float32Array([1, 2]), [2, 1], out, [2, 2, 3]);
    expect(Array.from(out)).toEqual([1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]);
    fillBroadcast(new Float32Array([7, 8, 9]), [3], out, [2, 2, 3]);
    expect(Array.from(out)).toEqual([7, 8, 9, 7, 8, 9, 7, 8, 9, 7, 8, 9]);
  });
});

describe.skipIf(!nativeLoad.blas)(`native _FusedMatMul${skipReason}`, () => {
  describeEachBackend(
    '_FusedMatMul',
    (backend) => {
      const { withOriginal } = useNativeMatMul(backend as 'wasm' | 'cpu');

      for (const { activation, bias } of CASES) {
        it(`${activation} with bias ${bias ? `[${bias}]` : 'none'} under every transpose`, () => {
          const numTensors = tf.memory().numTensors;
          const [aShape0, bShape0] = [
            [2, 5, 7],
            [2, 7, 3],
          ];
          const alpha = 0.1;
          for (const [tA, tB] of TRANSPOSES) {
            const [aShape, bShape] = [stored(aShape0, tA), stored(bShape0, tB)];
            const av = randomArray(sizeOf(aShape), 41);
            const bv = randomArray(sizeOf(bShape), 42);
            const biasOp = bias ? { values: randomArray(sizeOf(bias), 43), shape: bias } : undefined;
            const out = tf.tidy(() =>
              tf.fused.matMul({
                a: tf.tensor(av, aShape),
                b: tf.tensor(bv, bShape),
                transposeA: tA,
                transposeB: tB,
                bias: biasOp ? tf.tensor(biasOp.values, biasOp.shape) : undefined,
                activation,
                leakyreluAlpha: alpha,
              }),
            );
            const label = `${activation} bias=[${bias ?? ''}] transA=${tA} transB=${tB}`;
            expect(out.shape, label).toEqual([2, 5, 3]);
            const want = expected(av, aShape, bv, bShape, tA, tB, biasOp, ACTIVATIONS[activation], alpha);
            expectClose(out.dataSync(), want, { rtol: 1e-4, label });
            out.dispose();
          }
          expect(tf.memory().numTensors).toBe(numTensors);
        });
      }

      // K 520 spans three K blocks of our sgemm; a shared B folds the batch into one product.
      it.skipIf(!nativeLoad.blas?.sgemmBatchedBias)(
        "a bias row in sgemm's epilogue gives the broadcast path's bits",
        () => {
          const cases: Array<[number[], number[], boolean]> = [
            [[300, 520], [520, 70], false],
            [[3, 40, 300], [300, 70], false],
            [[2, 5, 7], [2, 3, 7], true],
          ];
          for (const [aShape, bShape, tB] of cases) {
            const n = tB ? bShape[bShape.length - 2]! : bShape[bShape.length - 1]!;
            const run = (epilogue: boolean) => {
              setFusedBiasEpilogue(epilogue);
              try {
                const out = tf.tidy(() =>
                  tf.fused.matMul({
                    a: tf.tensor(randomArray(sizeOf(aShape), 61), aShape),
                    b: tf.tensor(randomArray(sizeOf(bShape), 62), bShape),
                    transposeB: tB,
                    bias: tf.tensor(randomArray(n, 63), [1, n]),
                    activation: 'relu',
                  }),
                );
                const bytes = new Uint8Array((out.dataSync() as Float32Array).slice().buffer);
                out.dispose();
                return bytes;
              } finally {
                setFusedBiasEpilogue(true);
              }
            };
            const [before, after] = [run(false), run(true)];
            expect(Buffer.compare(before, after), `[${aShape}] x [${bShape}]`).toBe(0);
          }
        },
      );

      // (tfjs-wasm's own kernel adds the bias to the first batch only; the native one does not share that bug.)
      it.each(FALLBACKS)('leaves %s to the kernel it replaced', (activation) => {
        const run = () => {
          const out = tf.tidy(() =>
            tf.fused.matMul({
              a: tf.tensor(randomArray(70, 51), [2, 5, 7]),
              b: tf.tensor(randomArray(42, 52), [2, 7, 3]),
              bias: tf.tensor1d([0.5, -0.5, 0.1]),
              activation,
            }),
          );
          const values = Array.from(out.dataSync());
          out.dispose();
          return values;
        };
        expect(run()).toEqual(withOriginal(run));
      });
    },
    ['wasm', 'cpu'],
  );
});

// The row gather that replaces GatherV2 on axis 0 (wasm, cpu) gives exactly tfjs's own result, leaves every other
// case to tfjs's kernel, and can be put back.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { registerRowGather } from '../../../../src/core/tensor/kernels/row-gather/host';
import { describeEachBackend, hasBackend } from '../../../helpers/backends';

const HOST_BACKENDS = (['wasm', 'cpu'] as const).filter(hasBackend);

describeEachBackend(
  'row gather',
  (backend) => {
    const host = backend as 'wasm' | 'cpu';

    /** Runs `f` with tfjs's own GatherV2, then with the row gather, and returns both results. */
    async function both(f: () => tf.Tensor): Promise<[tf.TypedArray, number[], tf.TypedArray, number[]]> {
      const restore = registerRowGather(host); // registered by the backend bootstrap already: this gets its restore
      restore();
      const a = f();
      const av = await a.data();
      const as = a.shape;
      a.dispose();
      registerRowGather(host);
      const b = f();
      const bv = await b.data();
      const bs = b.shape;
      b.dispose();
      return [av, as, bv, bs];
    }

    it('copies rows exactly as tfjs does, for any indices shape and row shape', async () => {
      const x = tf.tensor3d(
        Float32Array.from({ length: 7 * 3 * 5 }, (_, i) => Math.sin(i) * 100),
        [7, 3, 5],
      );
      const ids = tf.tensor2d([6, 0, 3, 3, 1, 6], [2, 3], 'int32');
      const [a, as, b, bs] = await both(() => tf.gather(x, ids));
      expect(bs).toEqual([2, 3, 3, 5]);
      expect(bs).toEqual(as);
      expect(Array.from(b)).toEqual(Array.from(a));
      tf.dispose([x, ids]);
    });

    it('leaves other axes, int32 data and out-of-range indices to tfjs', async () => {
      const x = tf.tensor2d([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const [a1, , b1] = await both(() => tf.gather(x, tf.tensor1d([2, 0], 'int32'), 1));
      expect(Array.from(b1)).toEqual(Array.from(a1));
      expect(Array.from(b1)).toEqual([3, 1, 6, 4]);
      const xi = tf.tensor2d(
        [
          [1, 2],
          [3, 4],
        ],
        [2, 2],
        'int32',
      );
      const [a2, , b2] = await both(() => tf.gather(xi, tf.tensor1d([1], 'int32')));
      expect(Array.from(b2)).toEqual(Array.from(a2));
      // An index past the end goes to tfjs's kernel, which refuses it.
      expect(() => tf.gather(x, tf.tensor1d([0, 5], 'int32'))).toThrow(/index value 5 is not in \[0, 1\]/);
      tf.dispose([x, xi]);
    });
  },
  HOST_BACKENDS,
);

describe('row gather registration', () => {
  it('does nothing for a backend tfjs has not loaded', () => {
    expect(() => registerRowGather('cpu')()).not.toThrow();
  });
});

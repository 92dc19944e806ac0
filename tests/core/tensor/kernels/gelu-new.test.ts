// The fused gelu_new (native on the CPU backends where AVX-512 runs it, WGSL on webgpu) agrees with the plain-tfjs
// tanh GELU it replaces, and steps aside inside gradient computations.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, type TestContext } from 'vitest';
import { fusedGeluNew } from '../../../../src/core/tensor/kernels/gelu-new/op';
import { describeEachBackend } from '../../../helpers/backends';
import { expectClose } from '../../../helpers/expect-close';

const seq = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));

describeEachBackend('fused gelu_new', (backend) => {
  it('equals x·σ(2u), u = √(2/π)(x + 0.044715 x³), from −100 to 100, in forward passes only', async (ctx: TestContext) => {
    const n = 40_003; // not a multiple of the kernel's vector or chunk sizes
    const x = tf.tensor1d(
      seq(n, (i) => (i < 6 ? [0, -0, 100, -100, 1e-30, -1e-30][i]! : Math.sinh((i / n - 0.5) * 10) * 0.8)),
    );
    const fused = fusedGeluNew(x);
    if (!fused) {
      expect(backend, 'webgpu always has its fused GELU').not.toBe('webgpu');
      ctx.skip('no fused GELU here (no addon, or no AVX-512)');
    }
    const c = Math.sqrt(2 / Math.PI);
    const ref = tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(x, tf.add(2 * c, tf.mul(tf.square(x), 2 * c * 0.044715))))));
    expectClose((await fused.data()) as Float32Array, (await ref.data()) as Float32Array, {
      rtol: 2e-6,
      label: 'gelu_new',
    });
    const exact = await fused.data();
    expect(Array.from(exact.slice(0, 4))).toEqual([0, -0, 100, -0]); // x·σ(2u): σ saturates to 1 and 0, nothing overflows
    tf.dispose([fused, ref]);
    // Inside a gradient computation the kernel steps aside (tfjs's ops carry the gradient).
    const g = tf.grad((t: tf.Tensor) => {
      expect(fusedGeluNew(t)).toBeNull();
      return tf.sum(t);
    })(x);
    g.dispose();
    x.dispose();
  });
});

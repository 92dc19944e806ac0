// The fused row norm and GELU (native on the CPU backends, WGSL on webgpu) agree with the plain-tfjs formulations
// they replace: the norm over every rank, with and without bias, LayerNorm and RMSNorm, rows longer than a
// workgroup; both step aside inside gradient computations.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, type TestContext } from 'vitest';
import { fusedGeluNew } from '../../../../src/core/tensor/kernels/gelu-new/op';
import { fusedRowNorm } from '../../../../src/core/tensor/kernels/row-norm/op';
import { describeEachBackend } from '../../../helpers/backends';
import { expectClose } from '../../../helpers/expect-close';

const seq = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));

function referenceNorm(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null, eps: number, rms: boolean): tf.Tensor {
  return tf.tidy(() => {
    const centred = rms ? x : tf.sub(x, tf.mean(x, -1, true));
    const scale = tf.sqrt(tf.add(tf.mean(tf.square(centred), -1, true), eps));
    const out = tf.mul(tf.div(centred, scale), w);
    return b ? tf.add(out, b) : out;
  });
}

describeEachBackend('fused row norm', () => {
  it('row norm = LayerNorm / RMSNorm with weight and optional bias, over the last axis of any rank', async () => {
    for (const d of [48, 300]) {
      const x = tf.tensor3d(seq(2 * 5 * d, (i) => Math.sin(i * 0.37) * 3 + (i % 7) * 0.5), [2, 5, d]);
      const w = tf.tensor1d(seq(d, (i) => 0.5 + i / d));
      const b = tf.tensor1d(seq(d, (i) => Math.cos(i) * 0.1));
      for (const rms of [false, true]) {
        for (const bias of [b, null]) {
          const fused = fusedRowNorm(x, w, bias, 1e-5, rms);
          expect(fused!.shape).toEqual([2, 5, d]);
          const ref = referenceNorm(x, w, bias, 1e-5, rms);
          expectClose((await fused!.data()) as Float32Array, (await ref.data()) as Float32Array, { rtol: 1e-6, label: `d=${d} rms=${rms} bias=${bias !== null}` });
          tf.dispose([fused!, ref]);
        }
      }
      tf.dispose([x, w, b]);
    }
  });

  it('is not used while a gradient is recorded', () => {
    const x = tf.tensor2d([[1, 2, 3]]);
    const w = tf.ones([3]);
    let inside: tf.Tensor | null | undefined;
    const g = tf.grad((t: tf.Tensor) => {
      inside = fusedRowNorm(t, w, null, 1e-5, false);
      return tf.sum(referenceNorm(t, w, null, 1e-5, false));
    })(x);
    expect(inside).toBeNull();
    tf.dispose([x, w, g]);
  });
});

describeEachBackend('fused gelu_new', (backend) => {
  it('equals x·σ(2u), u = √(2/π)(x + 0.044715 x³), from −100 to 100, in forward passes only', async (ctx: TestContext) => {
    const n = 40_003; // not a multiple of the kernel's vector or chunk sizes
    const x = tf.tensor1d(seq(n, (i) => (i < 6 ? [0, -0, 100, -100, 1e-30, -1e-30][i]! : Math.sinh((i / n - 0.5) * 10) * 0.8)));
    const fused = fusedGeluNew(x);
    if (!fused) {
      expect(backend, 'webgpu always has its fused GELU').not.toBe('webgpu');
      ctx.skip('no fused GELU here (no addon, or no AVX-512)');
    }
    const c = Math.sqrt(2 / Math.PI);
    const ref = tf.tidy(() => tf.mul(x, tf.sigmoid(tf.mul(x, tf.add(2 * c, tf.mul(tf.square(x), 2 * c * 0.044715))))));
    expectClose((await fused.data()) as Float32Array, (await ref.data()) as Float32Array, { rtol: 2e-6, label: 'gelu_new' });
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

// The fused row norm (native on the CPU backends, WGSL on webgpu) agrees with the plain-tfjs LayerNorm and RMSNorm
// it replaces: over every rank, with and without bias, rows longer than a workgroup; it steps aside inside gradient
// computations.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
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
      const x = tf.tensor3d(
        seq(2 * 5 * d, (i) => Math.sin(i * 0.37) * 3 + (i % 7) * 0.5),
        [2, 5, d],
      );
      const w = tf.tensor1d(seq(d, (i) => 0.5 + i / d));
      const b = tf.tensor1d(seq(d, (i) => Math.cos(i) * 0.1));
      for (const rms of [false, true]) {
        for (const bias of [b, null]) {
          const fused = fusedRowNorm(x, w, bias, 1e-5, rms);
          expect(fused!.shape).toEqual([2, 5, d]);
          const ref = referenceNorm(x, w, bias, 1e-5, rms);
          expectClose((await fused!.data()) as Float32Array, (await ref.data()) as Float32Array, {
            rtol: 1e-6,
            label: `d=${d} rms=${rms} bias=${bias !== null}`,
          });
          tf.dispose([fused!, ref]);
        }
      }
      tf.dispose([x, w, b]);
    }
  });

  it('gives each row the same bits in a batch of rows as alone (the native kernel takes 16 rows at a time)', async () => {
    for (const d of [256, 33]) {
      const rows = 37;
      const x = tf.tensor2d(
        seq(rows * d, (i) => Math.sin(i * 0.71) * 4 + (i % 5) * 0.3),
        [rows, d],
      );
      const w = tf.tensor1d(seq(d, (i) => 0.5 + i / d));
      const b = tf.tensor1d(seq(d, (i) => Math.cos(i) * 0.1));
      for (const rms of [false, true]) {
        const all = fusedRowNorm(x, w, b, 1e-5, rms)!;
        const ref = referenceNorm(x, w, b, 1e-5, rms);
        const got = (await all.data()) as Float32Array;
        expectClose(got, (await ref.data()) as Float32Array, { rtol: 1e-6, label: `d=${d} rms=${rms}` });
        for (const r of [0, 15, 16, 31, 32, 36]) {
          const row = tf.slice(x, [r, 0], [1, d]);
          const one = fusedRowNorm(row, w, b, 1e-5, rms)!;
          const bits = new Uint32Array(((await one.data()) as Float32Array).buffer);
          expect(Array.from(bits), `row ${r} d=${d} rms=${rms}`).toEqual(
            Array.from(new Uint32Array(got.buffer, r * d * 4, d)),
          );
          tf.dispose([row, one]);
        }
        tf.dispose([all, ref]);
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

// Activation functions against values computed by hand, and their gradients against finite differences.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import {
  batchTopK,
  jumpRelu,
  jumpReluGate,
  thresholdActivation,
  topK,
} from '../../../src/core/sae/activation-functions';
import { describeEachBackend } from '../../helpers/backends';

/** Values as plain numbers (-0 read as 0). */
const arr = async (t: tf.Tensor) => Array.from((await t.data()) as Float32Array, (v) => v + 0);

describeEachBackend('activation functions', () => {
  it('TopK keeps the k largest pre-activations per row, as ReLU', async () => {
    const pre = tf.tensor2d([
      [0.5, -1, 3, 2, 0.1],
      [-3, -2, -1, -0.5, 4],
    ]);
    const { acts, indices } = topK(pre, 2, null);
    expect(await arr(acts)).toEqual([0, 0, 3, 2, 0, 0, 0, 0, 0, 4].map(Math.fround)); // -0.5 is selected in row 2 but ReLU'd
    expect((await indices.array()).map((r) => [...r].sort())).toEqual([
      [2, 3],
      [3, 4],
    ]);
  });

  it('TopK with decoder norms selects on pre·‖W_D‖ but outputs pre', async () => {
    const pre = tf.tensor2d([[1, 2, 3]]);
    const norms = tf.tensor1d([10, 1, 1]);
    const { acts } = topK(pre, 1, norms);
    expect(await arr(acts)).toEqual([1, 0, 0]);
  });

  it("TopK's gradient reaches exactly the selected pre-activations", async () => {
    const pre = tf.tensor2d([[0.5, -1, 3, 2, 0.1]]);
    const g = tf.grad((p: tf.Tensor) =>
      tf.sum(tf.mul(topK(p as tf.Tensor2D, 2, null).acts, tf.tensor2d([[1, 2, 3, 4, 5]]))),
    )(pre);
    expect(await arr(g)).toEqual([0, 0, 3, 4, 0]);
  });

  it('BatchTopK keeps batch·k entries over the whole batch and reports the threshold', async () => {
    const pre = tf.tensor2d([
      [5, 4, 3, 0.1],
      [0.2, 0.3, 6, 0.4],
    ]);
    const { acts, threshold } = batchTopK(pre, 2, null);
    expect(await arr(acts)).toEqual([5, 4, 3, 0, 0, 0, 6, 0].map(Math.fround));
    expect((await threshold.data())[0]).toBeCloseTo(3, 6);
    expect(await arr(thresholdActivation(pre, 3.5, null))).toEqual([5, 4, 0, 0, 0, 0, 6, 0]);
  });

  it('JumpReLU passes pre above θ and zeroes the rest', async () => {
    const pre = tf.tensor2d([[0.05, 0.2, -1, 0.6]]);
    const logTheta = tf.log(tf.tensor1d([0.1, 0.1, 0.1, 0.7]));
    expect(await arr(jumpRelu(pre, logTheta as tf.Tensor1D, 0.5))).toEqual([0, 0.2, 0, 0].map(Math.fround));
  });

  it("JumpReLU's threshold gradient is the rectangle-kernel estimator −θ/ε·rect((pre−θ)/ε), chained through log θ", async () => {
    const theta = [0.5, 0.5, 0.5];
    const eps = 0.2;
    const pre = tf.tensor2d([[0.45, 0.62, 0.9]]); // (pre − θ)/ε = −0.25 (inside), 0.6 (outside), 2 (outside)
    const logT = tf.log(tf.tensor1d(theta)) as tf.Tensor1D;
    const [dPre, dLogT] = tf.grads((p: tf.Tensor, l: tf.Tensor) =>
      tf.sum(jumpRelu(p as tf.Tensor2D, l as tf.Tensor1D, eps)),
    )([pre, logT]);
    expect(await arr(dPre!)).toEqual([0, 1, 1]); // straight through where active
    const dl = await arr(dLogT!);
    expect(dl[0]).toBeCloseTo((-0.5 / eps) * 0.5, 5); // −θ/ε · θ (d/dlogθ = θ d/dθ)
    expect(dl[1]).toBe(0);
    expect(dl[2]).toBe(0);
    const [, dGate] = tf.grads((p: tf.Tensor, l: tf.Tensor) =>
      tf.sum(jumpReluGate(p as tf.Tensor2D, l as tf.Tensor1D, eps)),
    )([pre, logT]);
    expect((await arr(dGate!))[0]).toBeCloseTo((-1 / eps) * 0.5, 5);
  });
});

// The fused kernels of a training step on wasm and cpu (native addon) against the plain-tfjs formulations they
// replace: the unit-norm decoder's projection and renormalisation, the reconstruction error and its gradient,
// and Adam with the unit-norm rows folded in (which must equal projection → Adam → renormalisation exactly).
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, type TestContext } from 'vitest';
import { normalGenerator } from '../../../../src/core/lm/random-params';
import { Adam } from '../../../../src/core/sae/optim/adam';
import { nativeAdamUpdate } from '../../../../src/core/tensor/kernels/adam-update/op';
import { SAE_ROW_SQ_ERR, SAE_UNIT_ROWS } from '../../../../src/core/tensor/kernels/kernel-names';
import { rowSquaredError, rowSquaredErrorToTarget } from '../../../../src/core/tensor/kernels/row-sq-err/op';
import { normalizeRows, projectOutRows } from '../../../../src/core/tensor/kernels/unit-rows/op';
import { describeEachBackend } from '../../../helpers/backends';
import { expectClose } from '../../../helpers/expect-close';

const rand = (shape: [number, number], seed: number, f = 1) => {
  const n = normalGenerator(seed);
  return tf.tensor2d(
    new Float32Array(shape[0] * shape[1]).map(() => n() * f),
    shape,
  );
};

describeEachBackend('decoder and loss kernels', (backend) => {
  const fused = (kernel: string) => !!tf.getKernel(kernel, tf.getBackend());

  it('projectOutRows and normalizeRows equal their tfjs formulas', async () => {
    const w = normalizeRows(rand([37, 19], 1)); // unit rows
    const g = rand([37, 19], 2);
    const proj = projectOutRows(g, w);
    const ref = tf.sub(g, tf.mul(tf.sum(tf.mul(g, w), 1, true), w));
    expectClose(await proj.data(), await ref.data(), { rtol: 1e-6, label: 'projection' });
    const dots = await tf.sum(tf.mul(proj, w), 1).data(); // nothing left along the rows
    dots.forEach((v) => expect(Math.abs(v)).toBeLessThan(1e-5));
    const raw = rand([37, 19], 3, 5);
    const unit = normalizeRows(raw);
    expectClose(await unit.data(), await tf.div(raw, tf.sqrt(tf.sum(tf.square(raw), 1, true))).data(), {
      rtol: 1e-6,
      label: 'normalised',
    });
    if (backend !== 'webgpu') expect(fused(SAE_UNIT_ROWS) || process.env.SAE_STUDIO_NATIVE === 'off').toBe(true);
  });

  it('rowSquaredError and its gradients equal Σ (a − b)² and ±2 (a − b) dy', async () => {
    const a = rand([33, 21], 4),
      b = rand([33, 21], 5);
    const rows = rowSquaredError(a, b);
    expectClose(await rows.data(), await tf.sum(tf.square(tf.sub(a, b)), 1).data(), { rtol: 1e-6, label: 'Σ(a−b)²' });
    const w = tf.tensor1d(new Float32Array(33).map((_, i) => (i % 5) - 2));
    const [da, db] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.mul(rowSquaredError(x as tf.Tensor2D, y as tf.Tensor2D), w)),
    )([a, b]);
    const ref = tf.mul(tf.mul(tf.sub(a, b), 2), tf.reshape(w, [33, 1]));
    expectClose(await da!.data(), await ref.data(), { rtol: 1e-6, label: 'd/da' });
    expectClose(await db!.data(), await tf.neg(ref).data(), { rtol: 1e-6, label: 'd/db' });
    const bv = tf.variable(b);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.mean(rowSquaredError(a, bv as unknown as tf.Tensor2D)), [bv]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before); // nothing kept past the step
    bv.dispose();
    if (backend !== 'webgpu') expect(fused(SAE_ROW_SQ_ERR) || process.env.SAE_STUDIO_NATIVE === 'off').toBe(true);
  });

  it('rowSquaredErrorToTarget: the same rows, a gradient for the prediction only, and no copies of either input', async () => {
    const y = rand([33, 21], 10),
      yHat = rand([33, 21], 11);
    expectClose(await rowSquaredErrorToTarget(y, yHat).data(), await tf.sum(tf.square(tf.sub(y, yHat)), 1).data(), {
      rtol: 1e-6,
      label: 'Σ(y−ŷ)²',
    });
    const w = tf.tensor1d(new Float32Array(33).map((_, i) => (i % 7) - 3));
    const [dyHat] = tf.grads((p: tf.Tensor) => tf.sum(tf.mul(rowSquaredErrorToTarget(y, p as tf.Tensor2D), w)))([yHat]);
    expectClose(await dyHat!.data(), await tf.mul(tf.mul(tf.sub(yHat, y), 2), tf.reshape(w, [33, 1])).data(), {
      rtol: 1e-6,
      label: 'd/dŷ',
    });
    const v = tf.variable(yHat);
    const before = tf.memory().numTensors;
    const profile = await tf.profile(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(rowSquaredErrorToTarget(y, v as unknown as tf.Tensor2D)),
        [v],
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    expect(tf.memory().numTensors).toBe(before);
    if (fused(SAE_ROW_SQ_ERR))
      expect(profile.kernels.filter((k) => k.name === 'Identity' && k.outputShapes[0]?.length === 2)).toEqual([]);
    v.dispose();
  });

  it('Adam with unit-norm rows equals projection, then Adam, then renormalisation', async (ctx: TestContext) => {
    const p = normalizeRows(rand([29, 13], 6));
    const g = rand([29, 13], 7);
    const m = rand([29, 13], 8, 0.1);
    const v = tf.abs(rand([29, 13], 9, 0.01));
    const attrs = {
      stepSize: 1e-2 / (1 - 0.9 ** 2),
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      sqrtC2: Math.sqrt(1 - 0.999 ** 2),
    };
    const one = nativeAdamUpdate(p, g, m, v, { ...attrs, unitRowLength: 13 });
    if (!one) {
      ctx.skip('no native Adam kernel on this backend');
    }
    const parts = nativeAdamUpdate(p, projectOutRows(g, p), m, v, attrs)!;
    const renormed = normalizeRows(parts[0] as tf.Tensor2D);
    // The same float operations in the same order: equal to the last bit.
    expect(Array.from(await one[0]!.data())).toEqual(Array.from(await renormed.data()));
    expect(Array.from(await one[1]!.data())).toEqual(Array.from(await parts[1]!.data()));
    expect(Array.from(await one[2]!.data())).toEqual(Array.from(await parts[2]!.data()));
    // And the optimiser takes that path or its plain-tfjs equivalent alike.
    const params = { W: tf.variable(p.clone()) };
    const adam = new Adam(params);
    adam.apply({ W: g }, 1e-2, {}, ['W']);
    const norms = await tf.sqrt(tf.sum(tf.square(params.W), 1)).data();
    norms.forEach((n) => expect(n).toBeCloseTo(1, 5));
    adam.dispose();
    params.W.dispose();
  });
});

// The native fused Adam kernel against the plain-tfjs formulation it replaces on wasm and cpu.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, type TestContext } from 'vitest';
import { nativeAdamUpdate } from '../../../../src/core/tensor/kernels/adam-update/op';
import { normalGenerator } from '../../../../src/core/lm/random-params';
import { describeEachBackend } from '../../../helpers/backends';
import { expectClose } from '../../../helpers/expect-close';

describeEachBackend('SaeAdamUpdate kernel', (backend) => {
  it('equals m′ = b1·m + (1−b1)·g, v′ = b2·v + (1−b2)·g², p′ = p − s·m′/(√v′/√c2 + ε)', async (ctx: TestContext) => {
    const n = normalGenerator(3);
    const make = (len: number, f = 1) => tf.tensor1d(new Float32Array(len).map(() => n() * f));
    const [p, g, m] = [make(1037), make(1037), make(1037, 0.1)];
    const v = tf.abs(make(1037, 0.01));
    const attrs = {
      stepSize: 1e-3 / (1 - 0.9 ** 3),
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      sqrtC2: Math.sqrt(1 - 0.999 ** 3),
    };
    const out = nativeAdamUpdate(p, g, m, v, attrs);
    if (!out) {
      expect(backend === 'webgpu' || process.env.SAE_STUDIO_NATIVE === 'off').toBe(true);
      ctx.skip('no native Adam kernel on this backend');
    }
    const mRef = tf.add(tf.mul(m, 0.9), tf.mul(g, 0.1));
    const vRef = tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 0.001));
    const pRef = tf.sub(
      p,
      tf.mul(tf.div(mRef, tf.add(tf.div(tf.sqrt(vRef), attrs.sqrtC2), attrs.eps)), attrs.stepSize),
    );
    expectClose(await out[1]!.data(), await mRef.data(), { rtol: 1e-6, label: 'm' });
    expectClose(await out[2]!.data(), await vRef.data(), { rtol: 1e-6, label: 'v' });
    expectClose(await out[0]!.data(), await pRef.data(), { rtol: 1e-6, label: 'p' });
    expect(Array.from(await p.data()).length).toBe(1037); // inputs untouched and alive
  });
});

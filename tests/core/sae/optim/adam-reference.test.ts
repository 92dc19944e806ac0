// Every implementation of our Adam step against the one float64 reference (src/core/sae/optim/adam-reference.ts),
// over several steps (so the bias corrections 1 − β^t change) and with the unit-norm-rows variant, on every backend
// present: the tfjs ops and the Adam class (adam.ts), the native 'SaeAdamUpdate' kernel (C adamUpdate, cpu and
// wasm), and the fused TopK step's backward (C topkBackwardAdam on cpu and wasm, WGSL on webgpu), whose gradients
// are computed here in float64 from the same inputs. An implementation a backend lacks is skipped, saying why.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, type TestContext } from 'vitest';
import { normalGenerator } from '../../../../src/core/lm/random-params';
import { Adam, adamUpdateOps } from '../../../../src/core/sae/optim/adam';
import {
  adamReferenceState,
  adamReferenceStep,
  type AdamReferenceOptions,
  type AdamReferenceState,
} from '../../../../src/core/sae/optim/adam-reference';
import { nativeAdamUpdate, type AdamAttrs } from '../../../../src/core/tensor/kernels/adam-update/op';
import { describeEachBackend } from '../../../helpers/backends';
import { expectClose } from '../../../helpers/expect-close';

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const STEPS = 4;
/** float32 arithmetic against float64, a few roundings per step: well inside this, a wrong formula far outside. */
const RTOL = 2e-6;

function randn(seed: number, n: number, scale = 1): Float32Array {
  const g = normalGenerator(seed);
  return new Float32Array(n).map(() => g() * scale);
}

/** Rows of length d scaled to unit norm (in float32, as a dictionary's decoder is). */
function unitRows(data: Float32Array, d: number): Float32Array {
  for (let r = 0; r * d < data.length; r++) {
    const row = data.subarray(r * d, (r + 1) * d);
    const norm = Math.sqrt(row.reduce((s, w) => s + w * w, 0));
    row.forEach((w, j) => (row[j] = w / norm));
  }
  return data;
}

/** Compares a parameter and its moments with the reference's, one labelled check each. */
async function expectState(
  label: string,
  p: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  ref: AdamReferenceState,
): Promise<void> {
  expectClose(await p.data(), ref.p, { rtol: RTOL, label: `${label}: p` });
  expectClose(await m.data(), ref.m, { rtol: RTOL, label: `${label}: m` });
  expectClose(await v.data(), ref.v, { rtol: RTOL, label: `${label}: v` });
}

/** One Adam step of a tensor implementation: [p', m', v'], or null where the backend has no such implementation. */
type TensorAdam = (p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamAttrs) => tf.Tensor[] | null;

/**
 * STEPS steps of `impl` on a [29, 13] parameter (its rows at unit norm for the variant) against the reference,
 * with a learning rate that changes per step, checked after every step; skipped where `impl` gives null.
 */
async function expectMatchesReference(ctx: TestContext, impl: TensorAdam, unit: boolean, what: string): Promise<void> {
  const [rows, d] = [29, 13];
  const p0 = unit ? unitRows(randn(1, rows * d), d) : randn(1, rows * d);
  const ref = adamReferenceState(p0);
  let [p, m, v] = [tf.tensor2d(p0, [rows, d]), tf.zeros([rows, d]), tf.zeros([rows, d])] as tf.Tensor[];
  for (let t = 1; t <= STEPS; t++) {
    const lr = 1e-2 / t;
    const gData = randn(10 + t, rows * d, 0.5);
    const g = tf.tensor2d(gData, [rows, d]);
    const attrs: AdamAttrs = {
      stepSize: lr / (1 - HYPER.beta1 ** t),
      sqrtC2: Math.sqrt(1 - HYPER.beta2 ** t),
      ...HYPER,
      ...(unit ? { unitRowLength: d } : {}),
    };
    const out = impl(p!, g, m!, v!, attrs);
    if (!out) ctx.skip(`${what}: not on ${tf.getBackend()}`);
    adamReferenceStep(ref, gData, t, { lr, ...HYPER, ...(unit ? { unitRowLength: d } : {}) });
    tf.dispose([p!, m!, v!, g]);
    [p, m, v] = out;
    await expectState(`${what}${unit ? ', unit-norm rows' : ''}, step ${t}`, p!, m!, v!, ref);
  }
  tf.dispose([p!, m!, v!]);
}

describeEachBackend('Adam against the float64 reference: tfjs ops and the native kernel', () => {
  for (const unit of [false, true]) {
    it(`tfjs ops (adamUpdateOps)${unit ? ', unit-norm rows' : ''}`, async (ctx: TestContext) => {
      await expectMatchesReference(ctx, adamUpdateOps, unit, 'tfjs ops');
    });
    it(`the native SaeAdamUpdate kernel (C adamUpdate)${unit ? ', unit-norm rows' : ''}`, async (ctx: TestContext) => {
      await expectMatchesReference(ctx, nativeAdamUpdate, unit, 'SaeAdamUpdate');
    });
  }

  it('the Adam class: per-parameter learning-rate factors and bias correction over several steps', async () => {
    const [rows, d] = [29, 13];
    const p0 = { W_D: unitRows(randn(2, rows * d), d), b_D: randn(3, d) };
    const params = { W_D: tf.variable(tf.tensor2d(p0.W_D, [rows, d])), b_D: tf.variable(tf.tensor1d(p0.b_D)) };
    const adam = new Adam(params, HYPER);
    const refs = { W_D: adamReferenceState(p0.W_D), b_D: adamReferenceState(p0.b_D) };
    const factors = { b_D: 2 };
    for (let t = 1; t <= STEPS; t++) {
      const lr = 1e-2 / t;
      const gData = { W_D: randn(20 + t, rows * d), b_D: randn(30 + t, d) };
      const grads = { W_D: tf.tensor2d(gData.W_D, [rows, d]), b_D: tf.tensor1d(gData.b_D) };
      adam.apply(grads, lr, factors, ['W_D']);
      tf.dispose(Object.values(grads));
      const o = (unitRowLength?: number): AdamReferenceOptions => ({
        lr,
        ...HYPER,
        ...(unitRowLength ? { unitRowLength } : {}),
      });
      adamReferenceStep(refs.W_D, gData.W_D, t, o(d));
      adamReferenceStep(refs.b_D, gData.b_D, t, { ...o(), lr: lr * factors.b_D });
      expect(adam.step).toBe(t);
      for (const name of ['W_D', 'b_D'] as const) {
        await expectState(
          `Adam class ${name}, step ${t}`,
          params[name],
          adam.m.get(name)!,
          adam.v.get(name)!,
          refs[name],
        );
      }
    }
    adam.dispose();
    tf.dispose(Object.values(params));
  });
});

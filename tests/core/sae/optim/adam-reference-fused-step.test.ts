// The Adam inside the fused TopK step's backward kernel ('SaeTopKBackwardAdam': C topkBackwardAdam on cpu and wasm,
// WGSL on webgpu) against the float64 reference (src/core/sae/optim/adam-reference.ts), over several steps and with
// the unit-norm decoder rows. The kernel sums each gradient where it updates, so the test gives it a fixed selection
// (values, latents) and loss gradient, and computes the same gradients in float64 from the reference's parameters.
import * as tf from '@tensorflow/tfjs-core';
import { it, type TestContext } from 'vitest';
import { normalGenerator } from '../../../../src/core/lm/random-params';
import {
  adamReferenceState,
  adamReferenceStep,
  type AdamReferenceState,
} from '../../../../src/core/sae/optim/adam-reference';
import {
  FUSED_PARAMS,
  type BackwardAdamAttrs,
  type FusedParam,
} from '../../../../src/core/tensor/kernels/fused-step/backward-adam-call';
import { SAE_FUSED_BACKWARD_ADAM } from '../../../../src/core/tensor/kernels/kernel-names';
import { describeEachBackend } from '../../../helpers/backends';
import { expectClose } from '../../../helpers/expect-close';

const HYPER = { beta1: 0.9, beta2: 0.999, eps: 1e-8 };
const STEPS = 3;
/** Learning rates per parameter, all different, so a step size given to the wrong parameter shows. */
const LR: Record<FusedParam, number> = { W_E: 1e-2, W_D: 2e-2, b_E: 5e-3, b_D: 1.5e-2 };
/** float32 sums of a few dozen terms and the Adam step against float64. */
const RTOL = 1e-5;

interface Shape {
  B: number;
  d: number;
  F: number;
  k: number;
}

function randn(seed: number, n: number, scale = 1, shift = 0): Float32Array {
  const g = normalGenerator(seed);
  return new Float32Array(n).map(() => g() * scale + shift);
}

/** The step's fixed data: the batch x, the loss gradient g, and each token's k distinct latents (ascending) with their values, some 0. */
function stepData({ B, d, F, k }: Shape) {
  const gen = normalGenerator(7);
  const indices = new Int32Array(B * k);
  for (let b = 0; b < B; b++) {
    const chosen = new Set<number>();
    while (chosen.size < k) chosen.add(Math.floor(Math.abs(gen()) * 1e6) % F);
    [...chosen].sort((p, q) => p - q).forEach((f, j) => (indices[b * k + j] = f));
  }
  const values = randn(8, B * k).map((v, i) => (i % 7 === 3 ? 0 : Math.abs(v) + 0.1));
  return { x: randn(9, B * d, 1, 0.2), g: randn(10, B * d, 0.1), values, indices };
}

/** The gradients the kernel sums, in float64 from the reference's current parameters (W_E [d, F], W_D [F, d]). */
function referenceGradients(
  s: Shape,
  data: ReturnType<typeof stepData>,
  ref: Record<FusedParam, AdamReferenceState>,
  applyBias: boolean,
): Record<FusedParam, Float64Array> {
  const { B, d, F, k } = s;
  const [WE, WD, bD] = [ref.W_E.p, ref.W_D.p, ref.b_D.p];
  const grad = {
    W_E: new Float64Array(d * F),
    W_D: new Float64Array(F * d),
    b_E: new Float64Array(F),
    b_D: new Float64Array(d),
  };
  const at = (a: ArrayLike<number>, i: number) => a[i] ?? NaN;
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < k; j++) {
      const f = at(data.indices, b * k + j);
      const v = at(data.values, b * k + j);
      let dz = 0;
      for (let t = 0; t < d; t++) dz += at(data.g, b * d + t) * at(WD, f * d + t);
      if (!(v > 0)) dz = 0;
      grad.b_E[f] = at(grad.b_E, f) + dz;
      for (let t = 0; t < d; t++) {
        grad.W_D[f * d + t] = at(grad.W_D, f * d + t) + v * at(data.g, b * d + t);
        grad.W_E[t * F + f] = at(grad.W_E, t * F + f) + dz * (at(data.x, b * d + t) - (applyBias ? at(bD, t) : 0));
      }
    }
    for (let t = 0; t < d; t++) grad.b_D[t] = at(grad.b_D, t) + at(data.g, b * d + t);
  }
  // b_D also reaches the loss through the encoder's input x − b_D: less W_E·db_E.
  if (applyBias)
    for (let t = 0; t < d; t++)
      for (let f = 0; f < F; f++) grad.b_D[t] = at(grad.b_D, t) - at(WE, t * F + f) * at(grad.b_E, f);
  return grad;
}

/** STEPS calls of the kernel against the reference, each parameter and its moments checked after every step. */
async function expectFusedAdam(ctx: TestContext, s: Shape, applyBias: boolean, unitRows: boolean): Promise<void> {
  if (!tf.getKernel(SAE_FUSED_BACKWARD_ADAM, tf.getBackend()))
    ctx.skip(`no fused step backward kernel on ${tf.getBackend()} (no native addon?)`);
  const { B, d, F, k } = s;
  const shapes: Record<FusedParam, number[]> = { W_E: [d, F], W_D: [F, d], b_E: [F], b_D: [d] };
  const W_D = randn(2, F * d);
  for (let f = 0; unitRows && f < F; f++) {
    const row = W_D.subarray(f * d, (f + 1) * d);
    const norm = Math.hypot(...row);
    row.forEach((w, j) => (row[j] = w / norm));
  }
  const init: Record<FusedParam, Float32Array> = {
    W_E: randn(1, d * F, 0.3),
    W_D,
    b_E: randn(3, F, 0.05),
    b_D: randn(4, d, 0.1),
  };
  const ref = Object.fromEntries(FUSED_PARAMS.map((n) => [n, adamReferenceState(init[n])])) as Record<
    FusedParam,
    AdamReferenceState
  >;
  const state = Object.fromEntries(
    FUSED_PARAMS.map((n) => [n, [tf.tensor(init[n], shapes[n]), tf.zeros(shapes[n]), tf.zeros(shapes[n])]]),
  ) as Record<FusedParam, tf.Tensor[]>;
  const data = stepData(s);
  const fixed = {
    x: tf.tensor2d(data.x, [B, d]),
    g: tf.tensor2d(data.g, [B, d]),
    values: tf.tensor2d(data.values, [B, k]),
    indices: tf.tensor2d(data.indices, [B, k], 'int32'),
  };
  for (let t = 1; t <= STEPS; t++) {
    const grads = referenceGradients(s, data, ref, applyBias);
    const inputs: tf.NamedTensorMap = { ...fixed };
    for (const n of FUSED_PARAMS)
      Object.assign(inputs, { [n]: state[n][0], [`m_${n}`]: state[n][1], [`v_${n}`]: state[n][2] });
    const attrs: BackwardAdamAttrs = {
      stepSizes: FUSED_PARAMS.map((n) => LR[n] / (1 - HYPER.beta1 ** t)),
      hyper: [HYPER.beta1, 1 - HYPER.beta1, HYPER.beta2, 1 - HYPER.beta2, HYPER.eps, Math.sqrt(1 - HYPER.beta2 ** t)],
      unitRows,
      applyBias,
      inPlace: FUSED_PARAMS.map(() => false),
    };
    const outs = tf
      .engine()
      .runKernel(SAE_FUSED_BACKWARD_ADAM, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    for (const [i, n] of FUSED_PARAMS.entries()) {
      adamReferenceStep(ref[n], grads[n], t, {
        lr: LR[n],
        ...HYPER,
        ...(unitRows && n === 'W_D' ? { unitRowLength: d } : {}),
      });
      tf.dispose(state[n]);
      state[n] = outs.slice(3 * i, 3 * i + 3);
      const label = `fused step ${n}${applyBias ? ', b_D applied to the input' : ''}${unitRows ? ', unit-norm rows' : ''}, step ${t}`;
      for (const [j, part] of (['p', 'm', 'v'] as const).entries())
        expectClose(await state[n][j]!.data(), ref[n][part], { rtol: RTOL, label: `${label}: ${part}` });
    }
  }
  tf.dispose([...Object.values(fixed), ...Object.values(state).flat()]);
}

describeEachBackend('Adam in the fused TopK step against the float64 reference', () => {
  const shape: Shape = { B: 40, d: 12, F: 64, k: 5 };
  it('W_E, W_D, b_E, b_D over several steps, b_D applied to the encoder input, unit-norm decoder rows', async (ctx: TestContext) => {
    await expectFusedAdam(ctx, shape, true, true);
  });
  it('W_E, W_D, b_E, b_D over several steps, free decoder rows', async (ctx: TestContext) => {
    await expectFusedAdam(ctx, shape, false, false);
  });
});

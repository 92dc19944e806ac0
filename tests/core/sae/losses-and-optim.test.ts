// Sparsity penalties, the reconstruction loss, Adam and the schedules against values computed by hand; the
// loss's gradients against finite differences.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { computeLoss, reconstructionLoss, sparsityLoss } from '../../../src/core/sae/losses';
import { Adam } from '../../../src/core/sae/optim/adam';
import { adamReferenceState, adamReferenceStep } from '../../../src/core/sae/optim/adam-reference';
import { annealedK, learningRate, warmedCoefficient } from '../../../src/core/sae/optim/schedules';
import { randomSaeParams } from '../../../src/core/sae/init/initialize';
import { InitConfigSchema } from '../../../src/protocol/run-config';
import { Sae } from '../../../src/core/sae/variants/sae';
import { describeEachBackend } from '../../helpers/backends';

const num = async (t: tf.Tensor) => (await t.data())[0]!;
const sparsity = { p: 1, tanhStretchCoefficient: 2, frequencyScale: 0.5 };

describeEachBackend('losses', () => {
  it('reconstruction loss: Σ_d squared error, mean over tokens', async () => {
    const y = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const yHat = tf.tensor2d([
      [0, 2],
      [3, 2],
    ]);
    expect(await num(reconstructionLoss(y, yHat))).toBeCloseTo((1 + 4) / 2, 6);
  });

  it('power, tanh and tanh-quad penalties, with and without decoder norms', async () => {
    const acts = tf.tensor2d([
      [0, 1, 2],
      [3, 0, 0],
    ]);
    const norms = tf.tensor1d([1, 2, 0.5]);
    expect(await num(sparsityLoss(acts, null, { ...sparsity, sparsityLossType: 'power' }))).toBeCloseTo((3 + 3) / 2, 6);
    expect(await num(sparsityLoss(acts, norms, { ...sparsity, sparsityLossType: 'power' }))).toBeCloseTo(
      (2 + 1 + 3) / 2,
      6,
    );
    expect(await num(sparsityLoss(acts, norms, { ...sparsity, sparsityLossType: 'power', p: 2 }))).toBeCloseTo(
      (4 + 1 + 9) / 2,
      5,
    );
    const t = (v: number) => Math.tanh(2 * v);
    expect(await num(sparsityLoss(acts, norms, { ...sparsity, sparsityLossType: 'tanh' }))).toBeCloseTo(
      (t(2) + t(1) + t(3)) / 2,
      5,
    );
    // tanh-quad: p̂_i = mean over batch of tanh(c·z·n); Σ p̂ (1 + p̂ / s)
    const p = [t(3) / 2, t(2) / 2, t(1) / 2];
    expect(await num(sparsityLoss(acts, norms, { ...sparsity, sparsityLossType: 'tanh-quad' }))).toBeCloseTo(
      p.reduce((a, v) => a + v * (1 + v / 0.5), 0),
      5,
    );
  });

  it('gradients of the full loss match finite differences (ReLU SAE, L1)', async () => {
    const cfg = SaeConfigSchema.parse({ hook_point_in: 'h', d_model: 4, d_sae: 6, act_fn: 'relu' });
    const host = randomSaeParams(cfg, InitConfigSchema.parse({}), 0.5, 3);
    host.b_E!.data.fill(0.3); // keep most latents active so the loss is smooth around the point
    const sae = new Sae(cfg, host);
    const x = tf.tensor2d([
      [0.3, -0.2, 0.5, 0.1],
      [0.9, 0.4, -0.3, 0.2],
      [-0.1, 0.2, 0.3, -0.6],
    ]);
    const opts = {
      sparsityLossType: 'power' as const,
      l1Coefficient: 0.1,
      ...sparsity,
      lpCoefficient: 0,
      auxkCoefficient: 0,
      kAux: 0,
      deadMask: null,
      nDead: 0,
    };
    const loss = () => computeLoss(sae, x, sae.forward(x), opts).total;
    const { grads } = tf.variableGrads(loss);
    const h = 1e-2;
    for (const name of ['W_E', 'b_E', 'W_D', 'b_D']) {
      const v = sae.params[name]!;
      const g = await grads[v.name]!.data();
      const base = Float32Array.from(await v.data());
      for (const i of [0, 3, base.length - 1]) {
        const probe = async (delta: number) => {
          const moved = Float32Array.from(base);
          moved[i] = moved[i]! + delta;
          v.assign(tf.tensor(moved, v.shape));
          return num(loss());
        };
        const fd = ((await probe(h)) - (await probe(-h))) / (2 * h);
        v.assign(tf.tensor(base, v.shape));
        expect(Math.abs(fd - g[i]!), `${name}[${i}]: autograd ${g[i]} vs finite difference ${fd}`).toBeLessThan(
          2e-3 + 1e-2 * Math.abs(fd),
        );
      }
    }
    sae.dispose();
  });
});

/** Two Adam steps of p = [1, −2] (lr 0.1) worked by hand in PyTorch's formulation: p after each step. */
const HAND_STEPS = (() => {
  // step 1: m̂ = g, v̂ = g² → update = lr · g / (|g| + eps), lr · sign(g) but for eps: [0.9, −1.9]
  const first = [1 - (0.1 * 0.5) / (0.5 + 1e-8), -2 + 0.1 / (1 + 1e-8)];
  const m = 0.9 * 0.05 + 0.1 * 0.25;
  const v = 0.999 * 0.00025 + 0.001 * 0.0625;
  return {
    grads: [
      [0.5, -1],
      [0.25, 0],
    ],
    first,
    second0: first[0]! - (0.1 * (m / (1 - 0.81))) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8),
  };
})();

describeEachBackend('Adam', () => {
  it('matches a hand-computed first and second step (PyTorch formulation)', async () => {
    const p = tf.variable(tf.tensor1d([1, -2]));
    const adam = new Adam({ p }, { beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    adam.apply({ p: tf.tensor1d(HAND_STEPS.grads[0]!) }, 0.1);
    const a = await p.data();
    expect(a[0]).toBeCloseTo(HAND_STEPS.first[0]!, 6);
    expect(a[1]).toBeCloseTo(HAND_STEPS.first[1]!, 6);
    adam.apply({ p: tf.tensor1d(HAND_STEPS.grads[1]!) }, 0.1);
    expect((await p.data())[0]).toBeCloseTo(HAND_STEPS.second0, 6);
    adam.dispose();
  });
});

describe('Adam float64 reference', () => {
  // The reference every implementation is tested against (tests/core/sae/optim/) is itself held to the hand values.
  it('matches the same hand-computed steps', () => {
    const state = adamReferenceState([1, -2]);
    const opts = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 };
    adamReferenceStep(state, HAND_STEPS.grads[0]!, 1, opts);
    expect(state.p[0]).toBeCloseTo(HAND_STEPS.first[0]!, 12);
    expect(state.p[1]).toBeCloseTo(HAND_STEPS.first[1]!, 12);
    adamReferenceStep(state, HAND_STEPS.grads[1]!, 2, opts);
    expect(state.p[0]).toBeCloseTo(HAND_STEPS.second0, 12);
  });

  it('keeps unit-norm rows on the sphere, moving them only across it', () => {
    const s = Math.SQRT1_2;
    const state = adamReferenceState([s, s, 1, 0]);
    // a gradient along the first row does not move it; the second row turns towards −y
    adamReferenceStep(state, [1, 1, 0, 1], 1, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, unitRowLength: 2 });
    expect(Array.from(state.p.subarray(0, 2))).toEqual([s, s].map((x) => expect.closeTo(x, 12)));
    expect(Math.hypot(state.p[2]!, state.p[3]!)).toBeCloseTo(1, 12);
    expect(state.p[3]).toBeLessThan(0);
  });
});

describe('schedules', () => {
  const base = { lr: 1, totalSteps: 100, warmUpSteps: 10, coolDownSteps: 0.2, endRatio: 0 };
  it('constant with warm-up and cool-down', () => {
    const lr = (s: number) => learningRate({ ...base, name: 'constantwithwarmup' }, s);
    expect([lr(0), lr(4), lr(9), lr(50), lr(79), lr(80), lr(89), lr(99)]).toEqual([
      0.1,
      0.5,
      1,
      1,
      1,
      1 - 1 / 20,
      1 - 10 / 20,
      0,
    ]);
  });
  it('cosine, linear decay and constant', () => {
    expect(learningRate({ ...base, name: 'cosineannealing', endRatio: 0.1 }, 50)).toBeCloseTo(0.55, 6);
    expect(learningRate({ ...base, name: 'linearwarmupdecay' }, 99)).toBeCloseTo(0, 6);
    expect(learningRate({ ...base, name: 'linearwarmupdecay' }, 54)).toBeCloseTo(0.5, 6);
    expect(learningRate({ ...base, name: 'constant' }, 3)).toBe(1);
    expect(learningRate({ ...base, name: 'cosineannealingwarmup' }, 10)).toBeCloseTo(1, 6);
  });
  it('sparsity-coefficient warm-up and K annealing', () => {
    expect([0, 4, 9, 10].map((s) => warmedCoefficient(2, 10, s))).toEqual([0.2, 1, 2, 2]);
    expect([0, 5, 10, 20].map((s) => annealedK(32, 128, 10, s))).toEqual([128, 80, 32, 32]);
    expect(annealedK(32, null, 10, 0)).toBe(32);
  });
});

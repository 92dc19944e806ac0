// A small run on synthetic sparse data (a known dictionary, k active atoms per sample): the loss must fall,
// for every activation function; unit-norm decoders stay unit-norm; AuxK and clipping run.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { ACT_FNS, SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { InitConfigSchema } from '../../../src/protocol/run-config';
import { initializeSae } from '../../../src/core/sae/init/initialize';
import { Adam } from '../../../src/core/sae/optim/adam';
import { disposeStats, trainStep } from '../../../src/core/sae/train-step';
import { Sae } from '../../../src/core/sae/variants/sae';
import { describeEachBackend } from '../../helpers/backends';

const D = 16;
const ATOMS = 48;

/** Rows that are sums of 3 random atoms of a hidden unit-norm dictionary, with positive coefficients. */
function syntheticBatch(rows: number, seed: number): Float32Array {
  const atoms = normalGenerator(99);
  const dict = Array.from({ length: ATOMS }, () => {
    const v = Array.from({ length: D }, () => atoms());
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  });
  const rnd = normalGenerator(seed);
  const out = new Float32Array(rows * D);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < 3; j++) {
      const a = Math.floor(Math.abs(rnd() * 1e6)) % ATOMS;
      const c = 1 + Math.abs(rnd());
      for (let d = 0; d < D; d++) out[r * D + d]! += c * dict[a]![d]!;
    }
  }
  return out;
}

const loss0 = {
  sparsityLossType: null,
  l1Coefficient: 0,
  p: 1,
  tanhStretchCoefficient: 4,
  frequencyScale: 0.01,
  lpCoefficient: 0,
  auxkCoefficient: 0,
  kAux: 16,
  deadMask: null,
  nDead: 0,
};

describeEachBackend('training steps', () => {
  for (const act of ACT_FNS) {
    it(`${act}: the reconstruction loss falls over 150 steps`, async () => {
      const cfg = SaeConfigSchema.parse({
        hook_point_in: 'h',
        d_model: D,
        d_sae: 64,
        act_fn: act,
        top_k: 4,
        jumprelu_threshold: 0.05,
        sparsity_include_decoder_norm: act !== 'topk',
      });
      const first = syntheticBatch(256, 1);
      const unit = act === 'topk' || act === 'batchtopk';
      const host = await initializeSae(cfg, InitConfigSchema.parse({}), {
        seed: 3,
        unitNormDecoder: unit,
        data: { x: first, y: first, rows: 256 },
      });
      const sae = new Sae(cfg, host);
      const adam = new Adam(sae.params);
      const sparse = act === 'relu' || act === 'jumprelu';
      const losses: number[] = [];
      const steps = 150;
      for (let s = 0; s < steps; s++) {
        const x = tf.tensor2d(syntheticBatch(256, s + 10), [256, D]);
        const stats = trainStep(sae, adam, x, x, {
          lr: 5e-3,
          lrFactors: {},
          clipGradNorm: s % 2 ? 1 : 0,
          unitNormDecoder: unit,
          loss: { ...loss0, sparsityLossType: sparse ? 'power' : null, l1Coefficient: sparse ? 1e-3 : 0 },
        });
        if (s % 10 === 0 || s === steps - 1) losses.push((await stats.parts.l_rec.data())[0]!);
        disposeStats(stats);
        x.dispose();
      }
      expect(losses.at(-1)!, `losses ${losses.map((l) => l.toFixed(3)).join(' ')}`).toBeLessThan(losses[0]! / 3);
      if (unit) {
        const norms = await tf.sqrt(tf.sum(tf.square(sae.params.W_D!), 1)).data();
        norms.forEach((n) => expect(n).toBeCloseTo(1, 4));
      }
      adam.dispose();
      sae.dispose();
    });
  }

  it('AuxK gives dead latents a gradient and no tensors leak across steps', async () => {
    const cfg = SaeConfigSchema.parse({ hook_point_in: 'h', d_model: D, d_sae: 64, act_fn: 'topk', top_k: 2 });
    const first = syntheticBatch(128, 1);
    const sae = new Sae(
      cfg,
      await initializeSae(cfg, InitConfigSchema.parse({}), {
        seed: 3,
        unitNormDecoder: true,
        data: { x: first, y: first, rows: 128 },
      }),
    );
    const adam = new Adam(sae.params);
    const dead = tf.tensor1d(Array.from({ length: 64 }, (_, i) => (i % 2 ? 1 : 0)));
    const x = tf.tensor2d(first, [128, D]);
    const run = () =>
      trainStep(sae, adam, x, x, {
        lr: 1e-3,
        lrFactors: {},
        clipGradNorm: 0,
        unitNormDecoder: true,
        loss: { ...loss0, auxkCoefficient: 1 / 32, deadMask: dead as tf.Tensor1D, nDead: 32 },
      });
    disposeStats(run());
    const before = tf.memory().numTensors;
    const stats = run();
    expect((await stats.parts.l_aux.data())[0]).toBeGreaterThan(0);
    disposeStats(stats);
    expect(tf.memory().numTensors).toBe(before);
    adam.dispose();
    sae.dispose();
  });
});

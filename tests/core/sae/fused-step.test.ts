// The fused TopK training step (sae/sparse/fused-step) against the general step it replaces (the sparse op,
// tfjs's backpropagation, then Adam): the same float operations in the same order, so losses, firings, weights and
// Adam moments must be equal to the bit after several steps — with and without the decoder bias, its use at the
// encoder's input, the unit-norm decoder, per-parameter learning-rate factors, a ragged shape, and a transcoder's
// separate target. Where the fused step does not apply, trainStep says why and takes the general path.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, type TestContext } from 'vitest';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { InitConfigSchema } from '../../../src/protocol/run-config';
import { initializeSae } from '../../../src/core/sae/init/initialize';
import { Adam } from '../../../src/core/sae/optim/adam';
import { fusedTopKStepUnavailable } from '../../../src/core/sae/sparse/fused-step';
import { SAE_FUSED_ENCODE } from '../../../src/core/tensor/kernels/kernel-names';
import { disposeStats, trainStep, type StepSettings } from '../../../src/core/sae/train-step';
import { Sae } from '../../../src/core/sae/variants/sae';
import { loadNativeBlas } from '../../../src/core/tensor/native/native-blas';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';

const loss0 = {
  sparsityLossType: null,
  l1Coefficient: 0,
  p: 1,
  tanhStretchCoefficient: 4,
  frequencyScale: 0.01,
  lpCoefficient: 0,
  auxkCoefficient: 0,
  kAux: 1,
  deadMask: null,
  nDead: 0,
};

interface Case {
  d: number;
  F: number;
  B: number;
  k: number;
  applyBias: boolean;
  useDecoderBias: boolean;
  unitNorm: boolean;
  transcoder: boolean;
  actFn?: 'topk' | 'batchtopk';
}

const CASES: Case[] = [
  { d: 32, F: 256, B: 128, k: 8, applyBias: true, useDecoderBias: true, unitNorm: true, transcoder: false },
  { d: 37, F: 301, B: 83, k: 9, applyBias: false, useDecoderBias: true, unitNorm: false, transcoder: true },
  { d: 19, F: 150, B: 61, k: 5, applyBias: false, useDecoderBias: false, unitNorm: true, transcoder: false },
  // d_model past one workgroup's width (the webgpu row passes loop), a batch past one 128-row encoder tile
  { d: 300, F: 200, B: 130, k: 17, applyBias: true, useDecoderBias: true, unitNorm: true, transcoder: false },
];

function rows(seed: number, n: number, shift: number): Float32Array {
  const g = normalGenerator(seed);
  return new Float32Array(n).map(() => g() + shift);
}

async function makeSae(c: Case): Promise<Sae> {
  const cfg = SaeConfigSchema.parse({
    hook_point_in: 'h',
    ...(c.transcoder ? { hook_point_out: 'h2' } : {}),
    d_model: c.d,
    d_sae: c.F,
    act_fn: c.actFn ?? 'topk',
    top_k: c.k,
    sparsity_include_decoder_norm: false,
    apply_decoder_bias_to_pre_encoder: c.applyBias,
    use_decoder_bias: c.useDecoderBias,
  });
  const x = rows(1, c.B * c.d, 0.3);
  const host = await initializeSae(cfg, InitConfigSchema.parse({}), {
    seed: 4,
    unitNormDecoder: c.unitNorm,
    data: { x, y: x, rows: c.B },
  });
  host.b_E!.data.forEach((_, i, a) => (a[i] = 0.01 * ((i % 7) - 3)));
  return new Sae(cfg, host);
}

async function train(c: Case, fused: boolean) {
  const sae = await makeSae(c);
  const adam = new Adam(sae.params);
  const losses: number[] = [];
  const fired: number[][] = [];
  const l0: number[] = [];
  const thresholds: number[] = [];
  for (let s = 0; s < 4; s++) {
    const x = tf.tensor2d(rows(10 + s, c.B * c.d, 0.3), [c.B, c.d]);
    const y = c.transcoder ? tf.tensor2d(rows(50 + s, c.B * c.d, -0.2), [c.B, c.d]) : x;
    const settings: StepSettings = {
      sparse: true,
      fused,
      lr: 1e-3 * (s + 1),
      lrFactors: { W_E: 0.5, b_D: 2 },
      clipGradNorm: 0,
      unitNormDecoder: c.unitNorm,
      loss: loss0,
      metrics: true,
    };
    const stats = trainStep(sae, adam, x, y, settings);
    losses.push((await stats.parts.total.data())[0]!, (await stats.parts.l_rec.data())[0]!);
    l0.push((await stats.l0!.data())[0]!);
    if (stats.batchThreshold) thresholds.push((await stats.batchThreshold.data())[0]!);
    fired.push(Array.from(await stats.fired.data()));
    disposeStats(stats);
    tf.dispose(c.transcoder ? [x, y] : [x]);
  }
  const read = async (m: Map<string, tf.Variable> | Record<string, tf.Variable>) =>
    Object.fromEntries(
      await Promise.all(
        (m instanceof Map ? [...m.entries()] : Object.entries(m)).map(
          async ([k, v]) => [k, Array.from(await v.data())] as const,
        ),
      ),
    );
  const out = {
    losses,
    fired,
    l0,
    thresholds,
    params: await read(sae.params),
    m: await read(adam.m),
    v: await read(adam.v),
    step: adam.step,
  };
  adam.dispose();
  sae.dispose();
  return out;
}

/** Why the fused step cannot run here (null when it can), asked of a throwaway SAE and optimiser. */
async function fusedUnavailableHere(): Promise<string | null> {
  const sae = await makeSae(CASES[0]!);
  const adam = new Adam(sae.params);
  const why = fusedTopKStepUnavailable(sae, adam, {
    sparse: true,
    lr: 1e-3,
    lrFactors: {},
    clipGradNorm: 0,
    unitNormDecoder: true,
    loss: loss0,
  });
  adam.dispose();
  sae.dispose();
  return why;
}

/** An SAE of the first case, its optimiser, step settings and a batch; the test is skipped where the fused step does not run. */
async function fusedSetup(ctx: { skip(note: string): never }, lr: number, seed: number, shift: number) {
  const why = await fusedUnavailableHere();
  if (why) ctx.skip(`the fused step does not run here: ${why}`);
  const c = CASES[0]!;
  const sae = await makeSae(c);
  const adam = new Adam(sae.params);
  const settings: StepSettings = {
    sparse: true,
    lr,
    lrFactors: {},
    clipGradNorm: 0,
    unitNormDecoder: true,
    loss: loss0,
    metrics: false,
  };
  const x = tf.tensor2d(rows(seed, c.B * c.d, shift), [c.B, c.d]);
  const dispose = () => {
    x.dispose();
    adam.dispose();
    sae.dispose();
  };
  return { sae, adam, settings, x, dispose };
}

describeEachBackend('fused TopK training step: parity with the general step', (backend) => {
  it("takes BatchTopK steps too (CPU backends), with the general step's results to the bit", async (ctx: TestContext) => {
    const why = await fusedUnavailableHere();
    if (why) ctx.skip(`the fused step does not run here: ${why}`);
    if (backend === 'webgpu') ctx.skip('BatchTopK on webgpu takes the general step (its batch is selected before it)');
    for (const c of [CASES[0]!, CASES[1]!, CASES[3]!].map((c) => ({ ...c, actFn: 'batchtopk' as const }))) {
      const probe = await makeSae(c);
      const probeAdam = new Adam(probe.params);
      expect(
        fusedTopKStepUnavailable(probe, probeAdam, {
          sparse: true,
          lr: 1e-3,
          lrFactors: {},
          clipGradNorm: 0,
          unitNormDecoder: true,
          loss: loss0,
        }),
      ).toBeNull();
      probeAdam.dispose();
      probe.dispose();
      const general = await train(c, false);
      const fused = await train(c, true);
      const label = JSON.stringify(c);
      expect(fused.thresholds, label).toHaveLength(4);
      expect(fused.thresholds, label).toEqual(general.thresholds);
      expect(fused.losses, label).toEqual(general.losses);
      expect(fused.fired, label).toEqual(general.fired);
      expect(fused.l0, label).toEqual(general.l0);
      for (const part of ['params', 'm', 'v'] as const) {
        for (const name of Object.keys(general[part]))
          expect(fused[part][name], `${part} ${name} ${label}`).toEqual(general[part][name]);
      }
    }
  });

  it("gives the general step's losses, firings, weights and Adam moments to the bit", async (ctx: TestContext) => {
    const why = await fusedUnavailableHere();
    if (why) ctx.skip(`the fused step does not run here: ${why}`);
    for (const c of CASES) {
      const general = await train(c, false);
      const fused = await train(c, true);
      const label = JSON.stringify(c);
      if (backend === 'webgpu') {
        // The WGSL kernels sum in other orders than tfjs's programs: equal to float rounding, firings exactly.
        expect(fused.fired, label).toEqual(general.fired);
        expect(fused.l0, label).toEqual(general.l0);
        expectClose(fused.losses, general.losses, { rtol: 1e-5, label: `losses ${label}` });
        for (const part of ['params', 'm', 'v'] as const) {
          expect(Object.keys(fused[part]).sort()).toEqual(Object.keys(general[part]).sort());
          for (const name of Object.keys(general[part]))
            expectClose(fused[part][name]!, general[part][name]!, {
              rtol: part === 'v' ? 1e-4 : 2e-5,
              label: `${part} ${name} ${label}`,
            });
        }
        continue;
      }
      expect(fused.losses, label).toEqual(general.losses);
      expect(fused.fired, label).toEqual(general.fired);
      expect(fused.l0, label).toEqual(general.l0);
      expect(fused.step).toBe(4);
      for (const part of ['params', 'm', 'v'] as const) {
        expect(Object.keys(fused[part]).sort()).toEqual(Object.keys(general[part]).sort());
        for (const name of Object.keys(general[part]))
          expect(fused[part][name], `${part} ${name} ${label}`).toEqual(general[part][name]);
      }
    }
  });

  it('matches the general step on the sgemm encoder too (screening off)', async (ctx: TestContext) => {
    const K = loadNativeBlas().blas as unknown as { topkScreening?: (on?: boolean) => boolean } | null;
    const why = await fusedUnavailableHere();
    if (why || backend === 'webgpu' || typeof K?.topkScreening !== 'function')
      ctx.skip(
        `the fused step or the screening switch is not here: ${why ?? (backend === 'webgpu' ? 'webgpu' : 'old addon')}`,
      );
    const was = K.topkScreening(false);
    try {
      const general = await train(CASES[1]!, false);
      const fused = await train(CASES[1]!, true);
      expect(fused.losses).toEqual(general.losses);
      for (const name of Object.keys(general.params)) expect(fused.params[name], name).toEqual(general.params[name]);
    } finally {
      K.topkScreening(was);
    }
  });
});

describeEachBackend('fused TopK training step: memory and in-place updates', (backend) => {
  it('leaves no tensor behind', async (ctx: TestContext) => {
    const f = await fusedSetup(ctx, 1e-3, 3, 0);
    const { sae, adam, settings, x } = f;
    disposeStats(trainStep(sae, adam, x, x, settings)); // the first step may allocate state
    const before = tf.memory().numTensors;
    disposeStats(trainStep(sae, adam, x, x, settings));
    expect(tf.memory().numTensors).toBe(before);
    f.dispose();
  });

  it('updates parameters in place only where no other tensor shares their data', async (ctx: TestContext) => {
    const f = await fusedSetup(ctx, 1e-2, 5, 0.3);
    const { sae, adam, settings, x } = f;
    disposeStats(trainStep(sae, adam, x, x, settings)); // made from other tensors, the variables take fresh data first
    const W_E = sae.params.W_E!;
    const id = W_E.dataId;
    disposeStats(trainStep(sae, adam, x, x, settings));
    expect(W_E.dataId).toBe(id); // then alone: in place
    const held = tf.clone(W_E); // shares W_E's data on the cpu and webgpu backends (wasm copies it)
    const shared = (tf.backend() as unknown as { refCount(id: object): number }).refCount(W_E.dataId) > 1;
    expect(shared).toBe(backend !== 'wasm');
    const before = Array.from(await held.data());
    disposeStats(trainStep(sae, adam, x, x, settings));
    if (shared) expect(W_E.dataId).not.toBe(id); // shared: a fresh output
    expect(Array.from(await held.data())).toEqual(before); // and the clone keeps its values
    expect(Array.from(await W_E.data())).not.toEqual(before);
    held.dispose();
    f.dispose();
  });

  it('shows the updated values to a read after an in-place step (no stale host copy of an earlier read)', async (ctx: TestContext) => {
    const f = await fusedSetup(ctx, 1e-2, 6, 0.3);
    const { sae, adam, settings, x } = f;
    disposeStats(trainStep(sae, adam, x, x, settings));
    disposeStats(trainStep(sae, adam, x, x, settings));
    for (const [name, t] of [...Object.entries(sae.params), ['m.W_D', adam.m.get('W_D')!] as const]) {
      const id = t.dataId;
      const before = Array.from(await t.data()); // a read (webgpu keeps the values it read on the host)
      disposeStats(trainStep(sae, adam, x, x, settings));
      expect(t.dataId, `${name} updated in place`).toBe(id);
      const after = Array.from(await t.data());
      expect(after, name).not.toEqual(before);
      // The same values through a kernel that reads the tensor's memory itself, not any host copy.
      const recomputed = tf.add(t, 0);
      expect(Array.from(await recomputed.data()), name).toEqual(after);
      recomputed.dispose();
    }
    f.dispose();
  });
});

describeEachBackend('fused TopK training step: webgpu encoder chunks, and when the step is taken', (backend) => {
  it('encodes a batch in row chunks (for pre-activations past one storage binding) exactly as in one pass', async (ctx: TestContext) => {
    if (backend !== 'webgpu') ctx.skip("the row chunks are the webgpu encoder's");
    // F 333: the encoder's scalar loads; F 336 (d and F multiples of 4): its vec4 loads.
    for (const [B, d, F, k] of [
      [300, 40, 333, 7],
      [300, 40, 336, 7],
    ] as const) {
      const x = tf.tensor2d(rows(21, B * d, 0.1), [B, d]);
      const we = tf.tensor2d(rows(22, d * F, 0), [d, F]);
      const be = tf.tensor1d(rows(23, F, 0));
      const bd = tf.tensor1d(rows(24, d, 0.2));
      const encode = (chunkRows?: number) =>
        tf.engine().runKernel(SAE_FUSED_ENCODE, { x, we, be, bd }, {
          k,
          ...(chunkRows ? { chunkRows } : {}),
        } as unknown as tf.NamedAttrMap) as tf.Tensor[];
      const whole = encode();
      const wholeData = await Promise.all(whole.map((t) => t.data()));
      for (const chunkRows of [37, 128, 299]) {
        const parts = encode(chunkRows);
        const data = await Promise.all(parts.map((t) => t.data()));
        for (let i = 0; i < 3; i++)
          expect(Array.from(data[i]!), `output ${i}, F ${F}, chunks of ${chunkRows} rows`).toEqual(
            Array.from(wholeData[i]!),
          );
        tf.dispose(parts);
      }
      tf.dispose([...whole, x, we, be, bd]);
    }
  });

  it('is not taken where the step is more than the reconstruction loss, clipped, dense or switched off', async () => {
    const sae = await makeSae(CASES[0]!);
    const adam = new Adam(sae.params);
    const base: StepSettings = {
      sparse: true,
      lr: 1e-3,
      lrFactors: {},
      clipGradNorm: 0,
      unitNormDecoder: true,
      loss: loss0,
    };
    expect(fusedTopKStepUnavailable(sae, adam, { ...base, clipGradNorm: 1 })).toBe('gradient clipping');
    expect(fusedTopKStepUnavailable(sae, adam, { ...base, sparse: false })).toBe('not on the sparse path');
    expect(fusedTopKStepUnavailable(sae, adam, { ...base, fused: false })).toBe('switched off');
    const dead = tf.ones([CASES[0]!.F]) as tf.Tensor1D;
    expect(
      fusedTopKStepUnavailable(sae, adam, {
        ...base,
        loss: { ...loss0, auxkCoefficient: 1 / 32, deadMask: dead, nDead: 3 },
      }),
    ).toBe('losses besides the reconstruction');
    expect(
      fusedTopKStepUnavailable(sae, adam, { ...base, loss: { ...loss0, sparsityLossType: 'tanh', l1Coefficient: 1 } }),
    ).toBe('losses besides the reconstruction');
    expect(fusedTopKStepUnavailable({ cfg: sae.cfg, params: sae.params }, adam, base)).toBe('not an sae dictionary');
    dead.dispose();
    adam.dispose();
    sae.dispose();
  });
});

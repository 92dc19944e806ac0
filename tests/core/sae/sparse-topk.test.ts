// The sparse TopK path against the dense reference: reconstruction, loss, gradients and the weights after
// several optimiser steps agree within 1e-4 (each step's values and gradients element by element, relative to the
// largest magnitude; the weights after ten Adam steps in norm, see expectNormClose), on every backend present; the
// same for BatchTopK, whose batch-wide selection runs on the same kernels.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it, type TestContext } from 'vitest';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { InitConfigSchema } from '../../../src/protocol/run-config';
import { initializeSae } from '../../../src/core/sae/init/initialize';
import { reconstructionLoss } from '../../../src/core/sae/losses';
import { Adam } from '../../../src/core/sae/optim/adam';
import {
  preselectBatchTopK,
  sparseTopK,
  sparseTopKUnavailable,
  type PreselectedBatch,
} from '../../../src/core/sae/sparse/sparse-topk';
import { disposeStats, trainStep } from '../../../src/core/sae/train-step';
import { Sae } from '../../../src/core/sae/variants/sae';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose, expectNormClose } from '../../helpers/expect-close';

const D = 32;
const F = 256;
const B = 128;

function data(seed: number): Float32Array {
  const n = normalGenerator(seed);
  return new Float32Array(B * D).map(() => n() + 0.3);
}

async function makeSae(applyBias: boolean, useDecoderBias = true, actFn: 'topk' | 'batchtopk' = 'topk'): Promise<Sae> {
  const cfg = SaeConfigSchema.parse({
    hook_point_in: 'h',
    d_model: D,
    d_sae: F,
    act_fn: actFn,
    top_k: 8,
    sparsity_include_decoder_norm: false,
    apply_decoder_bias_to_pre_encoder: applyBias,
    use_decoder_bias: useDecoderBias,
  });
  const x = data(1);
  const host = await initializeSae(cfg, InitConfigSchema.parse({}), {
    seed: 4,
    unitNormDecoder: true,
    data: { x, y: x, rows: B },
  });
  // No b_E of exactly 0: under W_E = W_Dᵀ a token whose only active latent j has b_E,j = 0 is left with a residual
  // orthogonal to W_D,j, so j's gradient is 0 but for rounding, and Adam's first step turns that rounding into a
  // step of a fraction of lr (see expectNormClose). BatchTopK lets a token keep a single latent.
  host.b_E!.data.forEach((_, i, a) => (a[i] = 0.01 * ((i % 7) - 3) + 0.002));
  return new Sae(cfg, host);
}

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

/** The sparse kernels exist on cpu/wasm with the native addon; elsewhere the test is skipped, saying why. */
const requireSparse = (ctx: { skip: (note?: string) => never }) => {
  const reason = sparseTopKUnavailable();
  if (reason) ctx.skip(reason);
};

/** BatchTopK's codes for x, selected before the forward pass on webgpu (the trainer does the same); {} elsewhere. */
const selectFor = async (sae: Sae, x: tf.Tensor2D): Promise<{ selection?: PreselectedBatch }> => {
  if (tf.getBackend() !== 'webgpu') return {};
  const p = sae.params as Record<string, tf.Tensor>;
  return {
    selection: await preselectBatchTopK(
      x,
      p.W_E as tf.Tensor2D,
      p.b_E as tf.Tensor1D,
      (p.b_D as tf.Tensor1D) ?? null,
      sae.cfg.top_k,
      sae.cfg.apply_decoder_bias_to_pre_encoder,
    ),
  };
};
const release = (s: { selection?: PreselectedBatch }) =>
  s.selection && tf.dispose([s.selection.values, s.selection.indices, s.selection.threshold]);

/** Rows of data(seed), the first `loud` of them scaled by 6: those tokens take far more than k of the batch's
 * B·k largest activations (past the 2k slots a shape starts with, so the selection must grow). */
const batchData = (seed: number, loud: number) => {
  const x = data(seed);
  for (let i = 0; i < loud * D; i++) x[i]! *= 6;
  return tf.tensor2d(x, [B, D]);
};

/** The parameters after 10 Adam steps on batch(0…9), on the sparse or the dense path (with BatchTopK's codes
 * selected first where the backend needs it). */
const tenSteps = async (make: () => Promise<Sae>, batch: (s: number) => tf.Tensor2D, sparse: boolean) => {
  const sae = await make();
  const adam = new Adam(sae.params);
  for (let s = 0; s < 10; s++) {
    const x = batch(s);
    const sel = sparse && sae.cfg.act_fn === 'batchtopk' ? await selectFor(sae, x) : {};
    disposeStats(
      trainStep(sae, adam, x, x, {
        sparse,
        lr: 1e-3,
        lrFactors: {},
        clipGradNorm: 0,
        unitNormDecoder: true,
        loss: loss0,
        ...sel,
      }),
    );
    release(sel);
    x.dispose();
  }
  const out = Object.fromEntries(
    await Promise.all(Object.entries(sae.params).map(async ([k, v]) => [k, await v.data()] as const)),
  );
  adam.dispose();
  sae.dispose();
  return out;
};
const expectSameAfterTenSteps = async (make: () => Promise<Sae>, batch: (s: number) => tf.Tensor2D) => {
  const dense = await tenSteps(make, batch, false);
  const sparse = await tenSteps(make, batch, true);
  for (const k of Object.keys(dense))
    expectNormClose(sparse[k]!, dense[k]!, { rtol: 1e-4, label: `${k} after 10 steps` });
};

describeEachBackend('sparse TopK path: forward and gradients', (backend) => {
  it('matches the dense path: reconstruction and gradients', async (ctx: TestContext) => {
    requireSparse(ctx);
    for (const [applyBias, useDecoderBias] of [
      [true, true],
      [false, true],
      [false, false],
    ] as const) {
      const sae = await makeSae(applyBias, useDecoderBias);
      const x = tf.tensor2d(data(2), [B, D]);
      const dense = sae.forward(x);
      const sparse = sae.forward(x, { sparse: true });
      expectClose(await sparse.recon.data(), await dense.recon.data(), {
        rtol: 1e-5,
        label: `recon (bias ${applyBias})`,
      });
      const firedDense = await tf.sum(tf.cast(tf.greater(dense.acts!, 0), 'float32'), 0).data();
      expect(Array.from(await sparse.sparse!.fired.data())).toEqual(Array.from(firedDense));
      const grads = (useSparse: boolean) =>
        tf.variableGrads(() => reconstructionLoss(x, sae.forward(x, { sparse: useSparse }).recon));
      const gd = grads(false);
      const gs = grads(true);
      expect((await gs.value.data())[0]).toBeCloseTo((await gd.value.data())[0]!, 3);
      for (const name of ['W_E', 'b_E', 'W_D', 'b_D'].filter((n) => sae.params[n])) {
        const v = sae.params[name]!.name;
        expectClose(await gs.grads[v]!.data(), await gd.grads[v]!.data(), {
          rtol: 1e-4,
          label: `d${name} (bias ${applyBias})`,
        });
      }
      sae.dispose();
    }
  });

  it('encodes in chunks of rows (past the storage binding limit, on webgpu) exactly as in one pass', async (ctx: TestContext) => {
    requireSparse(ctx);
    if (backend !== 'webgpu') {
      ctx.skip("row chunks are the webgpu encoder's (the CPU kernels have no binding limit)");
    }
    const sae = await makeSae(true);
    const x = tf.tensor2d(data(3), [B, D]);
    const p = sae.params as Record<string, tf.Tensor>;
    // The op's outputs and the gradients of the reconstruction loss, with the batch encoded `chunkRows` at a time.
    const run = (chunkRows?: number) => {
      let out: ReturnType<typeof sparseTopK> | undefined;
      const g = tf.variableGrads(() => {
        out = sparseTopK(
          x,
          p.W_E as tf.Tensor2D,
          p.b_E as tf.Tensor1D,
          p.W_D as tf.Tensor2D,
          p.b_D as tf.Tensor1D,
          8,
          true,
          { chunkRows },
        );
        tf.keep(out.recon);
        return reconstructionLoss(x, out.recon);
      });
      return { g, out: out! };
    };
    const one = run();
    for (const rows of [50, 1]) {
      const chunked = run(rows);
      expect(Array.from(await chunked.out.indices.data()), `indices, ${rows} rows at a time`).toEqual(
        Array.from(await one.out.indices.data()),
      );
      expect(Array.from(await chunked.out.values.data()), `values, ${rows} rows at a time`).toEqual(
        Array.from(await one.out.values.data()),
      );
      expect(Array.from(await chunked.out.recon.data())).toEqual(Array.from(await one.out.recon.data()));
      for (const [name, t] of Object.entries(one.g.grads))
        expect(Array.from(await chunked.g.grads[name]!.data()), name).toEqual(Array.from(await t.data()));
    }
    sae.dispose();
  });

  it('breaks ties like the dense path: among equal pre-activations the lower latents are kept', async (ctx: TestContext) => {
    requireSparse(ctx);
    const sae = await makeSae(true);
    // Small integers everywhere: every pre-activation is an exact integer whatever the summation order, so the
    // k-th place of a row is shared by many latents and the selection is decided by the tie-break.
    const n = normalGenerator(5);
    const int = (size: number, r: number) =>
      new Float32Array(size).map(() => Math.max(-r, Math.min(r, Math.round(n()))));
    sae.params.W_E!.assign(tf.tensor2d(int(D * F, 1), [D, F]));
    sae.params.b_E!.assign(tf.tensor1d(int(F, 1)));
    sae.params.b_D!.assign(tf.zeros([D]));
    const x = tf.tensor2d(int(B * D, 2), [B, D]);
    const dense = sae.forward(x);
    const sparse = sae.forward(x, { sparse: true });
    const sortRows = (a: number[][]) => a.map((r) => [...r].sort((p, q) => p - q));
    expect(sortRows((await sparse.sparse!.indices.array()) as number[][])).toEqual(
      sortRows((await dense.indices!.array()) as number[][]),
    );
    const pre = (await dense.pre!.array()) as number[][];
    const tiedAtK = pre.filter((row) => {
      const sorted = [...row].sort((p, q) => q - p);
      return sorted[7] === sorted[8];
    }).length;
    expect(tiedAtK).toBeGreaterThan(B / 2);
    sae.dispose();
  });
});

describeEachBackend('sparse TopK path: weights after 10 Adam steps', () => {
  it('gives the same weights as the dense path after 10 Adam steps', async (ctx: TestContext) => {
    requireSparse(ctx);
    await expectSameAfterTenSteps(
      () => makeSae(true),
      (s) => tf.tensor2d(data(10 + s), [B, D]),
    );
  });
});

describeEachBackend('sparse TopK path: BatchTopK', () => {
  it('BatchTopK: the same selection, threshold, reconstruction and gradients as the dense path', async (ctx: TestContext) => {
    requireSparse(ctx);
    for (const [applyBias, loud] of [
      [true, 0],
      [false, 3],
      [true, 3],
    ] as const) {
      const sae = await makeSae(applyBias, true, 'batchtopk');
      const x = batchData(20 + loud, loud);
      const dense = sae.forward(x, { training: true });
      const sel = await selectFor(sae, x);
      const sparse = sae.forward(x, { training: true, sparse: true, ...sel });
      const label = `bias ${applyBias}, ${loud} loud rows`;
      expect((await sparse.batchThreshold!.data())[0], `threshold, ${label}`).toBeCloseTo(
        (await dense.batchThreshold!.data())[0]!,
        5,
      );
      // the kept latents of each row, and their activations
      const acts = (await dense.acts!.array()) as number[][];
      const values = (await sparse.sparse!.values.array()) as number[][];
      const indices = (await sparse.sparse!.indices.array()) as number[][];
      const keptDense = acts.map((row) => row.flatMap((v, j) => (v > 0 ? [j] : [])));
      const keptSparse = values.map((row, r) =>
        row.flatMap((v, s) => (v > 0 ? [indices[r]![s]!] : [])).sort((p, q) => p - q),
      );
      expect(keptSparse, `kept latents, ${label}`).toEqual(keptDense);
      if (loud > 0) expect(Math.max(...keptSparse.map((r) => r.length)), label).toBeGreaterThan(16);
      expect(keptSparse.flat().length, label).toBeGreaterThanOrEqual(B * 8);
      const firedDense = await tf.sum(tf.cast(tf.greater(dense.acts!, 0), 'float32'), 0).data();
      expect(Array.from(await sparse.sparse!.fired.data())).toEqual(Array.from(firedDense));
      expectClose(await sparse.recon.data(), await dense.recon.data(), { rtol: 1e-5, label: `recon, ${label}` });
      // Again on the same batch, now with the first pass's slots learned from it (not the previous batch's): the
      // same codes in the same order, so the same reconstruction to the bit (a resumed run relearns the slots).
      const sel2 = await selectFor(sae, x);
      const again = sae.forward(x, { training: true, sparse: true, ...sel2 });
      release(sel2);
      const kept = async (f: typeof sparse) => {
        const [v, i] = [
          (await f.sparse!.values.array()) as number[][],
          (await f.sparse!.indices.array()) as number[][],
        ];
        return v.map((row, r) => row.flatMap((x, s) => (x > 0 ? [[i[r]![s]!, x]] : [])));
      };
      expect(await kept(again), label).toEqual(await kept(sparse));
      expect(Array.from(await again.recon.data()), label).toEqual(Array.from(await sparse.recon.data()));
      const grads = (useSparse: boolean) =>
        tf.variableGrads(() =>
          reconstructionLoss(x, sae.forward(x, { training: true, sparse: useSparse, ...(useSparse ? sel : {}) }).recon),
        );
      const gd = grads(false);
      const gs = grads(true);
      release(sel);
      for (const name of ['W_E', 'b_E', 'W_D', 'b_D']) {
        const v = sae.params[name]!.name;
        expectClose(await gs.grads[v]!.data(), await gd.grads[v]!.data(), { rtol: 1e-4, label: `d${name}, ${label}` });
      }
      sae.dispose();
    }
  });

  it('BatchTopK: the same weights as the dense path after 10 Adam steps', async (ctx: TestContext) => {
    requireSparse(ctx);
    await expectSameAfterTenSteps(
      () => makeSae(true, true, 'batchtopk'),
      (s) => batchData(40 + s, s % 3),
    );
  });
});

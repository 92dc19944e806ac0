// The sparse TopK path against the dense reference: reconstruction, loss, gradients and the weights after
// several optimiser steps agree within 1e-4 (relative to the largest magnitude), on the cpu and wasm backends.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { SaeConfigSchema } from '../../../src/core/config/sae-config';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { InitConfigSchema, initializeSae } from '../../../src/core/sae/init/initialize';
import { reconstructionLoss } from '../../../src/core/sae/losses';
import { Adam } from '../../../src/core/sae/optim/adam';
import { sparseTopK, sparseTopKUnavailable } from '../../../src/core/sae/sparse/sparse-topk';
import { disposeStats, trainStep } from '../../../src/core/sae/train-step';
import { Sae } from '../../../src/core/sae/variants/sae';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';

const D = 32;
const F = 256;
const B = 128;

function data(seed: number): Float32Array {
  const n = normalGenerator(seed);
  return new Float32Array(B * D).map(() => n() + 0.3);
}

async function makeSae(applyBias: boolean, useDecoderBias = true): Promise<Sae> {
  const cfg = SaeConfigSchema.parse({
    hook_point_in: 'h', d_model: D, d_sae: F, act_fn: 'topk', top_k: 8, sparsity_include_decoder_norm: false,
    apply_decoder_bias_to_pre_encoder: applyBias, use_decoder_bias: useDecoderBias,
  });
  const x = data(1);
  const host = await initializeSae(cfg, InitConfigSchema.parse({}), { seed: 4, unitNormDecoder: true, data: { x, y: x, rows: B } });
  host.b_E!.data.forEach((_, i, a) => (a[i] = 0.01 * ((i % 7) - 3)));
  return new Sae(cfg, host);
}

const loss0 = { sparsityLossType: null, l1Coefficient: 0, p: 1, tanhStretchCoefficient: 4, frequencyScale: 0.01, lpCoefficient: 0, auxkCoefficient: 0, kAux: 1, deadMask: null, nDead: 0 };

describeEachBackend('sparse TopK path', (backend) => {
  /** The sparse kernels exist on cpu/wasm with the native addon; elsewhere the test is skipped, saying why. */
  const requireSparse = (ctx: { skip: (note?: string) => void }) => {
    const reason = sparseTopKUnavailable();
    if (reason) ctx.skip(reason);
  };

  it('matches the dense path: reconstruction and gradients', async (ctx) => {
    requireSparse(ctx);
    for (const [applyBias, useDecoderBias] of [[true, true], [false, true], [false, false]] as const) {
      const sae = await makeSae(applyBias, useDecoderBias);
      const x = tf.tensor2d(data(2), [B, D]);
      const dense = sae.forward(x);
      const sparse = sae.forward(x, { sparse: true });
      expectClose(await sparse.recon.data(), await dense.recon.data(), { rtol: 1e-5, label: `recon (bias ${applyBias})` });
      const firedDense = await tf.sum(tf.cast(tf.greater(dense.acts!, 0), 'float32'), 0).data();
      expect(Array.from(await sparse.sparse!.fired.data())).toEqual(Array.from(firedDense));
      const grads = (useSparse: boolean) => tf.variableGrads(() => reconstructionLoss(x, sae.forward(x, { sparse: useSparse }).recon));
      const gd = grads(false);
      const gs = grads(true);
      expect((await gs.value.data())[0]).toBeCloseTo((await gd.value.data())[0]!, 3);
      for (const name of ['W_E', 'b_E', 'W_D', 'b_D'].filter((n) => sae.params[n])) {
        const v = sae.params[name]!.name;
        expectClose(await gs.grads[v]!.data(), await gd.grads[v]!.data(), { rtol: 1e-4, label: `d${name} (bias ${applyBias})` });
      }
      sae.dispose();
    }
  });

  it('encodes in chunks of rows (past the storage binding limit, on webgpu) exactly as in one pass', async (ctx) => {
    requireSparse(ctx);
    if (backend !== 'webgpu') {
      ctx.skip('row chunks are the webgpu encoder\'s (the CPU kernels have no binding limit)');
      return;
    }
    const sae = await makeSae(true);
    const x = tf.tensor2d(data(3), [B, D]);
    const p = sae.params as Record<string, tf.Tensor>;
    // The op's outputs and the gradients of the reconstruction loss, with the batch encoded `chunkRows` at a time.
    const run = (chunkRows?: number) => {
      let out: ReturnType<typeof sparseTopK> | undefined;
      const g = tf.variableGrads(() => {
        out = sparseTopK(x, p.W_E as tf.Tensor2D, p.b_E as tf.Tensor1D, p.W_D as tf.Tensor2D, p.b_D as tf.Tensor1D, 8, true, { chunkRows });
        tf.keep(out.recon);
        return reconstructionLoss(x, out.recon);
      });
      return { g, out: out! };
    };
    const one = run();
    for (const rows of [50, 1]) {
      const chunked = run(rows);
      expect(Array.from(await chunked.out.indices.data()), `indices, ${rows} rows at a time`).toEqual(Array.from(await one.out.indices.data()));
      expect(Array.from(await chunked.out.values.data()), `values, ${rows} rows at a time`).toEqual(Array.from(await one.out.values.data()));
      expect(Array.from(await chunked.out.recon.data())).toEqual(Array.from(await one.out.recon.data()));
      for (const [name, t] of Object.entries(one.g.grads)) expect(Array.from(await chunked.g.grads[name]!.data()), name).toEqual(Array.from(await t.data()));
    }
    sae.dispose();
  });

  it('breaks ties like the dense path: among equal pre-activations the lower latents are kept', async (ctx) => {
    requireSparse(ctx);
    const sae = await makeSae(true);
    // Small integers everywhere: every pre-activation is an exact integer whatever the summation order, so the
    // k-th place of a row is shared by many latents and the selection is decided by the tie-break.
    const n = normalGenerator(5);
    const int = (size: number, r: number) => new Float32Array(size).map(() => Math.max(-r, Math.min(r, Math.round(n()))));
    sae.params.W_E!.assign(tf.tensor2d(int(D * F, 1), [D, F]));
    sae.params.b_E!.assign(tf.tensor1d(int(F, 1)));
    sae.params.b_D!.assign(tf.zeros([D]));
    const x = tf.tensor2d(int(B * D, 2), [B, D]);
    const dense = sae.forward(x);
    const sparse = sae.forward(x, { sparse: true });
    const sortRows = (a: number[][]) => a.map((r) => [...r].sort((p, q) => p - q));
    expect(sortRows((await sparse.sparse!.indices.array()) as number[][])).toEqual(sortRows((await dense.indices!.array()) as number[][]));
    const pre = (await dense.pre!.array()) as number[][];
    const tiedAtK = pre.filter((row) => {
      const sorted = [...row].sort((p, q) => q - p);
      return sorted[7] === sorted[8];
    }).length;
    expect(tiedAtK).toBeGreaterThan(B / 2);
    sae.dispose();
  });

  it('gives the same weights as the dense path after 10 Adam steps', async (ctx) => {
    requireSparse(ctx);
    const run = async (sparse: boolean) => {
      const sae = await makeSae(true);
      const adam = new Adam(sae.params);
      for (let s = 0; s < 10; s++) {
        const x = tf.tensor2d(data(10 + s), [B, D]);
        disposeStats(trainStep(sae, adam, x, x, { sparse, lr: 1e-3, lrFactors: {}, clipGradNorm: 0, unitNormDecoder: true, loss: loss0 }));
        x.dispose();
      }
      const out = Object.fromEntries(await Promise.all(Object.entries(sae.params).map(async ([k, v]) => [k, await v.data()] as const)));
      adam.dispose();
      sae.dispose();
      return out;
    };
    const dense = await run(false);
    const sparse = await run(true);
    for (const k of Object.keys(dense)) expectClose(sparse[k]!, dense[k]!, { rtol: 1e-4, label: `${k} after 10 steps` });
  });
});

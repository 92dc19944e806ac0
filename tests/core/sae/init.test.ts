// Initialisers against what they promise: W_E = W_Dᵀ, decoder row norms, b_D from the data (mean, geometric
// median), the decoder-norm grid search, and Active Subspace Initialisation.
import { describe, expect, it } from 'vitest';
import { SaeConfigSchema } from '../../../src/protocol/dictionary-config';
import { geometricMedian, principalDirections, rowNorms } from '../../../src/core/sae/init/host-math';
import { InitConfigSchema } from '../../../src/protocol/run-config';
import { initializeSae } from '../../../src/core/sae/init/initialize';
import { normalGenerator } from '../../../src/core/lm/random-params';
import { initBackend } from '../../../src/core/tensor/backend';

const cfg = SaeConfigSchema.parse({ hook_point_in: 'h', d_model: 8, d_sae: 32, act_fn: 'topk', top_k: 4 });

/** Rows living in the span of the first `rank` coordinates, plus an offset. */
function lowRankData(rows: number, rank: number, offset = 2): Float32Array {
  const normal = normalGenerator(7);
  const x = new Float32Array(rows * cfg.d_model);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cfg.d_model; j++) x[i * cfg.d_model + j] = (j < rank ? normal() * (3 - j) : 0) + offset;
  return x;
}

describe('initialisation', () => {
  it('ties W_E to W_Dᵀ and sets unit decoder rows', async () => {
    const p = await initializeSae(cfg, InitConfigSchema.parse({ bias_init_method: 'all_zero' }), {
      seed: 1,
      unitNormDecoder: true,
    });
    rowNorms(p.W_D!.data, 32, 8).forEach((n) => expect(n).toBeCloseTo(1, 5));
    for (let f = 0; f < 32; f++)
      for (let d = 0; d < 8; d++) expect(p.W_E!.data[d * 32 + f]).toBe(p.W_D!.data[f * 8 + d]);
    expect(Array.from(p.b_D!.data)).toEqual(new Array(8).fill(0));
    const scaled = await initializeSae(
      cfg,
      InitConfigSchema.parse({
        bias_init_method: 'all_zero',
        init_decoder_norm: 0.3,
        init_encoder_with_decoder_transpose_factor: 2,
      }),
      { seed: 1, unitNormDecoder: false },
    );
    rowNorms(scaled.W_D!.data, 32, 8).forEach((n) => expect(n).toBeCloseTo(0.3, 5));
    expect(scaled.W_E!.data[5 * 32 + 3]).toBeCloseTo(2 * scaled.W_D!.data[3 * 8 + 5]!, 6);
  });

  it('is deterministic for a seed', async () => {
    const init = InitConfigSchema.parse({ bias_init_method: 'all_zero' });
    const a = await initializeSae(cfg, init, { seed: 5, unitNormDecoder: true });
    const b = await initializeSae(cfg, init, { seed: 5, unitNormDecoder: true });
    const c = await initializeSae(cfg, init, { seed: 6, unitNormDecoder: true });
    expect(a.W_D!.data).toEqual(b.W_D!.data);
    expect(a.W_D!.data).not.toEqual(c.W_D!.data);
  });

  it('sets b_D to the mean or the geometric median of the data', async () => {
    const x = new Float32Array([0, 0, 1, 0, 0, 1, 100, 100]); // 4 rows of d=2: an outlier drags the mean
    const gm = geometricMedian(x, 4, 2);
    expect(gm[0]).toBeLessThan(1);
    const data = lowRankData(64, 3);
    const p = await initializeSae(cfg, InitConfigSchema.parse({ bias_init_method: 'mean' }), {
      seed: 1,
      unitNormDecoder: true,
      data: { x: data, y: data, rows: 64 },
    });
    for (let j = 0; j < 8; j++) {
      let m = 0;
      for (let i = 0; i < 64; i++) m += data[i * 8 + j]!;
      expect(p.b_D!.data[j]).toBeCloseTo(m / 64, 4);
    }
    // A mean computed over more tokens (bias_init_tokens) takes the batch's place.
    const yMean = Float32Array.from({ length: 8 }, (_, j) => j - 3.5);
    const q = await initializeSae(cfg, InitConfigSchema.parse({ bias_init_method: 'mean', bias_init_tokens: 1000 }), {
      seed: 1,
      unitNormDecoder: true,
      data: { x: data, y: data, rows: 64, yMean },
    });
    expect(Array.from(q.b_D!.data)).toEqual(Array.from(yMean));
  });

  it('Active Subspace Initialisation puts decoder rows in the data’s principal subspace', async () => {
    const data = lowRankData(200, 3);
    const V = principalDirections(data, 200, 8, 3, normalGenerator(1));
    // the first three coordinates span the data: V's rows 3..7 are ~0
    for (let a = 3; a < 8; a++) for (let k = 0; k < 3; k++) expect(Math.abs(V[a * 3 + k]!)).toBeLessThan(1e-6);
    const p = await initializeSae(
      cfg,
      InitConfigSchema.parse({ initialize_W_D_with_active_subspace: true, d_active_subspace: 3 }),
      { seed: 1, unitNormDecoder: true, data: { x: data, y: data, rows: 200 } },
    );
    for (let f = 0; f < 32; f++) {
      for (let d = 3; d < 8; d++) expect(Math.abs(p.W_D!.data[f * 8 + d]!)).toBeLessThan(1e-5);
    }
    rowNorms(p.W_D!.data, 32, 8).forEach((n) => expect(n).toBeCloseTo(1, 5));
  });

  it('grid search picks the decoder norm with the lowest reconstruction loss', async () => {
    await initBackend('cpu');
    const relu = SaeConfigSchema.parse({ hook_point_in: 'h', d_model: 8, d_sae: 32, act_fn: 'relu' });
    const data = lowRankData(128, 4, 0);
    const init = InitConfigSchema.parse({ grid_search_init_norm: true, bias_init_method: 'all_zero' });
    const p = await initializeSae(relu, init, {
      seed: 2,
      unitNormDecoder: false,
      data: { x: data, y: data, rows: 128 },
    });
    const chosen = rowNorms(p.W_D!.data, 32, 8)[0]!;
    expect(chosen).toBeGreaterThan(0.01);
    expect(chosen).toBeLessThanOrEqual(1.1);
    // the chosen norm beats its neighbours on the grid
    const lossAt = async (norm: number) => {
      const q = await initializeSae(
        relu,
        InitConfigSchema.parse({ bias_init_method: 'all_zero', init_decoder_norm: norm }),
        { seed: 2, unitNormDecoder: false },
      );
      const { Sae } = await import('../../../src/core/sae/variants/sae');
      const tf = await import('@tensorflow/tfjs-core');
      const sae = new Sae(relu, q);
      const x = tf.tensor2d(data, [128, 8]);
      const l = (await tf.mean(tf.sum(tf.square(tf.sub(x, sae.forward(x).recon)), 1)).data())[0]!;
      sae.dispose();
      return l;
    };
    const best = await lossAt(chosen);
    expect(best).toBeLessThanOrEqual(await lossAt(chosen * 2));
    expect(best).toBeLessThanOrEqual(await lossAt(chosen / 2));
  });
});

// Initialisation of an `sae` dictionary (lm-saes Initializer): random unit directions for W_D scaled to a
// decoder norm, W_E = W_Dᵀ · factor, b_E = 0, b_D from the data (mean or geometric median), the decoder norm
// chosen by a grid search on a data batch, and Active Subspace Initialisation (decoder rows projected onto the
// top principal directions of the data).
import * as tf from '@tensorflow/tfjs-core';
import type { SaeConfig } from '../../../protocol/dictionary-config';
import type { InitConfig } from '../../../protocol/run-config';
import { normalGenerator } from '../../lm/random-params';
import { scalarValue, type HostParams } from '../host-tensor';
import { reconstructionLoss } from '../losses';
import { entryOf } from '../../util/lookup';
import { Sae } from '../variants/sae';
import {
  geometricMedian,
  principalDirections,
  projectRowsOntoSubspace,
  rowMean,
  rowNorms,
  setRowNorms,
  transposeScaled,
} from './host-math';

export interface InitData {
  /** Normalised input rows [n, d_model] (and output rows for a transcoder). */
  x: Float32Array;
  y: Float32Array;
  rows: number;
  /** The mean output row to initialise b_D with (bias_init_tokens), instead of the mean of `y`. */
  yMean?: Float32Array;
}

/** Random host parameters for `cfg`, before any data-dependent step. */
export function randomSaeParams(cfg: SaeConfig, init: InitConfig, decoderNorm: number, seed: number): HostParams {
  const { d_model: d, d_sae: F } = cfg;
  const normal = normalGenerator(seed);
  const W_D = new Float32Array(F * d).map(() => normal());
  setRowNorms(W_D, F, d, decoderNorm);
  const params: HostParams = {
    W_D: { data: W_D, shape: [F, d] },
    W_E: {
      data: init.init_encoder_with_decoder_transpose
        ? transposeScaled(W_D, F, d, init.init_encoder_with_decoder_transpose_factor)
        : new Float32Array(d * F).map(() => normal() * (1 / Math.sqrt(d))),
      shape: [d, F],
    },
    b_E: { data: new Float32Array(F), shape: [F] },
  };
  if (cfg.use_decoder_bias) params.b_D = { data: new Float32Array(d), shape: [d] };
  if (cfg.act_fn === 'jumprelu')
    params.log_jumprelu_threshold = { data: new Float32Array(F).fill(Math.log(cfg.jumprelu_threshold)), shape: [F] };
  if (cfg.act_fn === 'batchtopk') params.batchtopk_threshold = { data: new Float32Array(1), shape: [] };
  return params;
}

/** Sets every decoder row to `norm` and, when tied at init, W_E = W_Dᵀ · factor (in place). */
function setDecoderNorm(params: HostParams, cfg: SaeConfig, init: InitConfig, norm: number): void {
  const W_D = entryOf(params, 'W_D', 'sae parameters');
  setRowNorms(W_D.data, cfg.d_sae, cfg.d_model, norm);
  if (init.init_encoder_with_decoder_transpose) {
    entryOf(params, 'W_E', 'sae parameters').data = transposeScaled(
      W_D.data,
      cfg.d_sae,
      cfg.d_model,
      init.init_encoder_with_decoder_transpose_factor,
    );
  }
}

async function reconstructionOf(params: HostParams, cfg: SaeConfig, data: InitData): Promise<number> {
  const sae = new Sae(cfg, params);
  try {
    const loss = tf.tidy(() => {
      const x = tf.tensor2d(data.x, [data.rows, cfg.d_model]);
      const y = tf.tensor2d(data.y, [data.rows, cfg.d_model]);
      return reconstructionLoss(y, sae.forward(x, { training: true }).recon);
    });
    const value = await scalarValue(loss);
    loss.dispose();
    return value;
  } finally {
    sae.dispose();
  }
}

/** Full initialisation; `data` (a batch of normalised activations) is needed for data-dependent steps. */
export async function initializeSae(
  cfg: SaeConfig,
  init: InitConfig,
  opts: { seed: number; unitNormDecoder: boolean; data?: InitData },
): Promise<HostParams> {
  const baseNorm = init.init_decoder_norm ?? (opts.unitNormDecoder ? 1 : 0.1);
  const params = randomSaeParams(cfg, init, baseNorm, opts.seed);
  const data = opts.data;
  const needsData =
    init.bias_init_method !== 'all_zero' || init.grid_search_init_norm || init.initialize_W_D_with_active_subspace;
  if (needsData && !data) throw new Error('initializeSae: this initialisation needs a batch of activations');
  if (!data) return params;

  if (cfg.use_decoder_bias && init.bias_init_method !== 'all_zero') {
    const b =
      init.bias_init_method === 'mean'
        ? data.yMean
          ? Float32Array.from(data.yMean)
          : rowMean(data.y, data.rows, cfg.d_model)
        : geometricMedian(data.y, data.rows, cfg.d_model);
    params.b_D = { data: b, shape: [cfg.d_model] };
  }
  if (init.initialize_W_D_with_active_subspace) {
    const r = Math.min(cfg.d_model, init.d_active_subspace ?? Math.max(1, Math.floor(cfg.d_model / 4)));
    const normal = normalGenerator(opts.seed + 1);
    const V = principalDirections(data.y, data.rows, cfg.d_model, r, normal);
    const W_D = entryOf(params, 'W_D', 'sae parameters').data;
    const norms = rowNorms(W_D, cfg.d_sae, cfg.d_model);
    projectRowsOntoSubspace(W_D, cfg.d_sae, cfg.d_model, V, r);
    setRowNorms(W_D, cfg.d_sae, cfg.d_model, norms);
    setDecoderNorm(params, cfg, init, baseNorm);
  }
  if (init.grid_search_init_norm && !opts.unitNormDecoder) {
    const search = async (candidates: number[]) => {
      let best = candidates[0];
      if (best === undefined) throw new Error('initializeSae: no decoder norms to search');
      let bestLoss = Infinity;
      for (const n of candidates) {
        setDecoderNorm(params, cfg, init, n);
        const loss = await reconstructionOf(params, cfg, data);
        if (loss < bestLoss) [best, bestLoss] = [n, loss];
      }
      return best;
    };
    const coarse = await search(Array.from({ length: 10 }, (_, i) => 0.1 * (i + 1)));
    const fine = await search(Array.from({ length: 20 }, (_, i) => Math.max(1e-3, coarse - 0.09 + (0.19 * i) / 19)));
    setDecoderNorm(params, cfg, init, fine);
  }
  return params;
}

// The data-dependent part of a kind's initialisation, run on the first training batch: output biases set to the
// mean normalised label (lm-saes's bias_init_method 'mean'), then one scale for all the weight matrices chosen by
// the lowest reconstruction loss on that batch — lm-saes's decoder-norm grid search generalised to every kind
// (kinds whose own init draws from U(±1), like the crosscoder's, would otherwise start thousands of times too
// large). Biases, thresholds, and a Lorsa's W_Q / W_K (which set attention sharpness, not scale) are not scaled.
import * as tf from '@tensorflow/tfjs-core';
import type { HostParams } from '../sae/host-tensor';
import type { DictionaryKind, KindConfigBase } from './kind';

const SCALED = /^(W_E|W_D|W_V|W_O|U_matrices|V_matrices)(\.|$)/;

export interface InitBatch {
  /** [N, nIn, d] and [N, nOut, d], normalised. */
  x: Float32Array;
  y: Float32Array;
  rows: number;
  seqLen: number;
}

/** Sets every output bias (b_D [d] or [nOut, d], b_D.{t}) to the mean normalised label of its output. */
export function initOutputBiases(
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
  batch: InitBatch,
): void {
  const d = cfg.d_model;
  const nOut = kind.hooksOut(cfg).length;
  const mean = new Float64Array(nOut * d);
  for (let r = 0; r < batch.rows; r++)
    for (let i = 0; i < nOut * d; i++) mean[i]! += batch.y[r * nOut * d + i]! / batch.rows;
  const b = params.b_D;
  if (b && b.data.length === nOut * d) b.data = Float32Array.from(mean);
  for (let t = 0; t < nOut; t++) {
    const bt = params[`b_D.${t}`];
    if (bt) bt.data = Float32Array.from(mean.subarray(t * d, (t + 1) * d));
  }
}

function scaled(params: HostParams, s: number): HostParams {
  const out: HostParams = {};
  for (const [n, t] of Object.entries(params))
    out[n] = SCALED.test(n) ? { data: t.data.map((v) => v * s), shape: t.shape } : t;
  return out;
}

async function reconstructionLoss(
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
  buffers: Record<string, tf.Tensor>,
  batch: InitBatch,
): Promise<number> {
  const tensors: Record<string, tf.Tensor> = { ...buffers };
  for (const [n, t] of Object.entries(params)) tensors[n] = tf.tensor(t.data, t.shape);
  const nIn = kind.hooksIn(cfg).length;
  const nOut = kind.hooksOut(cfg).length;
  const loss = tf.tidy(() => {
    const x = tf.tensor3d(batch.x, [batch.rows, nIn, cfg.d_model]);
    const y = tf.tensor3d(batch.y, [batch.rows, nOut, cfg.d_model]);
    const fwd = kind.tf.forward(cfg, tensors, x, { seqLen: batch.seqLen, training: true });
    return tf.mean(tf.sum(tf.square(tf.sub(fwd.recon, y)), 2));
  });
  const value = (await loss.data())[0]!;
  tf.dispose([
    loss,
    ...Object.entries(tensors)
      .filter(([n]) => !(n in buffers))
      .map(([, t]) => t),
  ]);
  return Number.isFinite(value) ? value : Infinity;
}

/** The scale (a power of 2, then refined by quarter octaves) with the lowest reconstruction loss; applied to `params`. */
export async function searchInitScale(
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
  buffers: Record<string, tf.Tensor>,
  batch: InitBatch,
): Promise<{ params: HostParams; scale: number; loss: number }> {
  let best = { scale: 1, loss: Infinity };
  const tryScales = async (scales: number[]) => {
    for (const s of scales) {
      const loss = await reconstructionLoss(kind, cfg, scaled(params, s), buffers, batch);
      if (loss < best.loss) best = { scale: s, loss };
    }
  };
  await tryScales(Array.from({ length: 17 }, (_, i) => 2 ** (i - 14)));
  const coarse = best.scale;
  await tryScales([-0.75, -0.5, -0.25, 0.25, 0.5, 0.75].map((e) => coarse * 2 ** e));
  return { params: scaled(params, best.scale), ...best };
}

// Direct logit attribution of decoder rows: each row W_D[i] is read as a residual-stream direction and pushed
// through the final norm and the unembedding, logits_i = ((W_D[i] − mean) ⊙ w_ln) · W_U (mean-centring only for
// LayerNorm). The norm's scale division is left out: a direction has no scale of its own, and dividing by the
// row's RMS would only rescale each feature's logits (its ranking is the same either way). This is what sae_vis
// computes on a TransformerLens model loaded with fold_ln + center_writing_weights (ln_final.w folded into W_U,
// decoder rows centred). Biases (ln_final.b · W_U, b_U) add the same vector to every feature and the Gemma
// final softcap is a monotone squash of whole-model logits, so neither is applied.
import * as tf from '@tensorflow/tfjs-core';
import type { HookedTransformer } from '../lm/hooked-transformer';

export interface LogitRanking {
  k: number;
  /** [F * k], feature-major: the k highest (top) and lowest (bottom) logits and their token ids. */
  topIds: Int32Array;
  topLogits: Float32Array;
  bottomIds: Int32Array;
  bottomLogits: Float32Array;
}

export interface DlaOptions {
  k?: number;
  /** Multiplies every row first (1 / the output's dataset-wise scale when it is not folded into W_D). */
  scale?: number;
  /** Bound on the [rows, d_vocab] logits block held at once, in elements (default 16M). */
  blockElements?: number;
}

/** The final norm's linear part, applied to rows [n, d]: centring (LayerNorm) then ⊙ w. */
export function finalNormDirection(model: HookedTransformer, rows: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const centred = model.cfg.normType === 'layernorm' ? tf.sub(rows, tf.mean(rows, 1, true)) : rows;
    return tf.mul(centred, model.weights.lnFinal.w) as tf.Tensor2D;
  });
}

export async function directLogitAttribution(
  model: HookedTransformer,
  W_D: tf.Tensor2D,
  opts: DlaOptions = {},
): Promise<LogitRanking> {
  const [F, d] = W_D.shape;
  const V = model.cfg.dVocab;
  if (d !== model.cfg.dModel)
    throw new Error(
      `direct logit attribution: decoder rows have ${d} dimensions, the residual stream ${model.cfg.dModel}`,
    );
  const k = Math.min(opts.k ?? 10, V);
  const scale = opts.scale ?? 1;
  const block = Math.max(1, Math.floor((opts.blockElements ?? 16 * 2 ** 20) / V));
  const out: LogitRanking = {
    k,
    topIds: new Int32Array(F * k),
    topLogits: new Float32Array(F * k),
    bottomIds: new Int32Array(F * k),
    bottomLogits: new Float32Array(F * k),
  };
  for (let start = 0; start < F; start += block) {
    const n = Math.min(block, F - start);
    const [top, bottom] = tf.tidy(() => {
      let rows = tf.slice(W_D, [start, 0], [n, d]); // [n, d]
      if (scale !== 1) rows = tf.mul(rows, scale);
      const logits = tf.matMul(finalNormDirection(model, rows), model.weights.W_U as tf.Tensor2D); // [n, V]
      return [tf.topk(logits, k), tf.topk(tf.neg(logits), k)];
    });
    const [tv, ti, bv, bi] = await Promise.all([
      top.values.data(),
      top.indices.data(),
      bottom.values.data(),
      bottom.indices.data(),
    ]);
    out.topLogits.set(tv as Float32Array, start * k);
    out.topIds.set(ti as Int32Array, start * k);
    out.bottomLogits.set(
      (bv as Float32Array).map((v) => -v),
      start * k,
    );
    out.bottomIds.set(bi as Int32Array, start * k);
    tf.dispose([top.values, top.indices, bottom.values, bottom.indices]);
  }
  return out;
}

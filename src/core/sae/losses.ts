// Training losses of sparse dictionaries, as lm-saes defines them: reconstruction (Σ_d squared error, mean over
// tokens), sparsity penalties (Lp, tanh, tanh-quad, optionally weighted by decoder norms), the JumpReLU
// pre-activation loss, and AuxK on dead latents (Gao et al. 2024).
import * as tf from '@tensorflow/tfjs-core';
import type { SparsityLossType } from '../../protocol/run-config';
import { rowSquaredErrorToTarget } from '../tensor/kernels/row-sq-err/op';
import { scatterLastAxis } from '../tensor/gradients';
import { stopGradient } from '../tensor/stop-gradient';
import { denseOutput, type DictionaryForward, type SparseDictionary } from './sparse-dictionary';

export interface LossOptions {
  sparsityLossType: SparsityLossType | null;
  /** Already warmed up for this step. */
  l1Coefficient: number;
  p: number;
  tanhStretchCoefficient: number;
  frequencyScale: number;
  lpCoefficient: number;
  auxkCoefficient: number;
  kAux: number;
  /** [d_sae] 1 for latents counted dead, or null when AuxK is off. */
  deadMask: tf.Tensor1D | null;
  /** Number of dead latents (host side, to size the AuxK selection). */
  nDead: number;
}

export interface LossParts {
  total: tf.Scalar;
  l_rec: tf.Scalar;
  l_s: tf.Scalar;
  l_p: tf.Scalar;
  l_aux: tf.Scalar;
}

/** Σ_d (y − ŷ)², averaged over the batch; its gradient flows to ŷ only (y is the data). */
export function reconstructionLoss(y: tf.Tensor2D, yHat: tf.Tensor2D): tf.Scalar {
  return tf.mean(rowSquaredErrorToTarget(y, yHat));
}

export function sparsityLoss(
  acts: tf.Tensor2D,
  norms: tf.Tensor1D | null,
  o: Pick<LossOptions, 'sparsityLossType' | 'p' | 'tanhStretchCoefficient' | 'frequencyScale'>,
): tf.Scalar {
  const weighted = norms ? tf.mul(acts, norms) : acts; // [B, d_sae], acts ≥ 0
  switch (o.sparsityLossType) {
    case null:
      return tf.scalar(0);
    case 'power':
      return tf.mean(tf.sum(o.p === 1 ? tf.abs(weighted) : tf.pow(tf.abs(weighted), o.p), 1));
    case 'tanh':
      return tf.mean(tf.sum(tf.tanh(tf.mul(weighted, o.tanhStretchCoefficient)), 1));
    case 'tanh-quad': {
      const freq = tf.mean(tf.tanh(tf.mul(weighted, o.tanhStretchCoefficient)), 0); // [d_sae] approximate firing frequency
      return tf.sum(tf.mul(freq, tf.add(1, tf.div(freq, o.frequencyScale))));
    }
  }
}

export function computeLoss(
  dict: SparseDictionary,
  yTarget: tf.Tensor2D,
  fwd: DictionaryForward,
  o: LossOptions,
): LossParts {
  const cfg = dict.cfg;
  const l_rec = reconstructionLoss(yTarget, fwd.recon);
  const norms = cfg.sparsity_include_decoder_norm ? dict.decoderNorms() : null;
  const needsDense = (o.sparsityLossType && o.l1Coefficient > 0) || o.lpCoefficient > 0 || o.auxkCoefficient > 0;
  if (needsDense && (!fwd.acts || !fwd.pre))
    throw new Error('sparsity, pre-activation and AuxK losses need the dense forward pass');
  const l_s =
    o.sparsityLossType && o.l1Coefficient > 0
      ? (tf.mul(sparsityLoss(denseOutput(fwd, 'acts'), norms, o), o.l1Coefficient) as tf.Scalar)
      : tf.scalar(0);
  let l_p: tf.Scalar = tf.scalar(0);
  if (o.lpCoefficient > 0 && dict.params.log_jumprelu_threshold) {
    // Σ_i ReLU(θ_i − pre_i) ‖W_D,i‖ (Anthropic, Jan 2025): pulls inactive latents' pre-activations up to θ.
    const gap = tf.relu(tf.sub(tf.exp(dict.params.log_jumprelu_threshold), denseOutput(fwd, 'pre')));
    l_p = tf.mul(tf.mean(tf.sum(norms ? tf.mul(gap, norms) : gap, 1)), o.lpCoefficient) as tf.Scalar;
  }
  let l_aux: tf.Scalar = tf.scalar(0);
  if (o.auxkCoefficient > 0 && o.deadMask && o.nDead > 0) {
    const k = Math.min(o.kAux, o.nDead);
    const pre = denseOutput(fwd, 'pre');
    const deadPre = tf.where(tf.cast(o.deadMask, 'bool'), pre, tf.fill(pre.shape, -1e30)); // [B, d_sae]
    const { values, indices } = tf.topk(deadPre, k);
    const auxActs = scatterLastAxis(tf.relu(values), indices, pre.shape) as tf.Tensor2D;
    const auxRecon: tf.Tensor2D = tf.matMul(auxActs, dict.params.W_D as tf.Tensor2D);
    const residual = stopGradient(tf.sub(yTarget, fwd.recon));
    l_aux = tf.mul(reconstructionLoss(residual as tf.Tensor2D, auxRecon), o.auxkCoefficient) as tf.Scalar;
  }
  const total = tf.addN([l_rec, l_s, l_p, l_aux]) as tf.Scalar;
  return { total, l_rec, l_s, l_p, l_aux };
}

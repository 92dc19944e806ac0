// What every sparse-dictionary variant offers the trainer, the evaluator and the analysis: a forward pass in
// normalised activation space, its parameters, and the activation-scale bookkeeping of lm-saes.
import type * as tf from '@tensorflow/tfjs-core';
import type { SaeConfig } from '../../protocol/dictionary-config';
import type { HostParams } from './host-tensor';
import type { PreselectedBatch } from './sparse/sparse-topk';

export interface DictionaryForward {
  /** [B, d_sae] pre-activations and feature activations (absent on the sparse TopK path). */
  pre?: tf.Tensor2D;
  acts?: tf.Tensor2D;
  recon: tf.Tensor2D; // [B, d_out] reconstruction
  /** The sparse TopK path: the k kept activations and their latents per token, and per-latent firing counts
   * (BatchTopK: a row's slots, those not kept 0). */
  sparse?: { values: tf.Tensor2D; indices: tf.Tensor2D; fired: tf.Tensor1D };
  /** TopK: the selected latents [B, k]. */
  indices?: tf.Tensor2D;
  /** BatchTopK during training: the batch's threshold. */
  batchThreshold?: tf.Scalar;
}

/** The dense path's pre-activations or activations: what needs every activation (a penalty, AuxK, statistics) asks here. */
export function denseOutput(fwd: DictionaryForward, which: 'pre' | 'acts'): tf.Tensor2D {
  const t = fwd[which];
  if (!t)
    throw new Error(
      `the dense forward pass's ${which} are needed here, and the sparse TopK path does not compute them`,
    );
  return t;
}

export interface ForwardOptions {
  /** TopK / BatchTopK: the k to use now (K annealing); defaults to cfg.top_k. */
  k?: number;
  /** BatchTopK selects over the batch while training and applies its learned threshold otherwise. */
  training?: boolean;
  /** TopK, BatchTopK while training: use the sparse kernels (see sae/sparse) — only the reconstruction and the
   * sparse codes come back. */
  sparse?: boolean;
  /** BatchTopK on the sparse path on webgpu: the batch's codes, selected before the step (preselectBatchTopK). */
  selection?: PreselectedBatch;
}

export interface SparseDictionary {
  readonly cfg: SaeConfig;
  /** Trainable parameters by lm-saes name (W_E, b_E, W_D, b_D, log_jumprelu_threshold…). */
  readonly params: Record<string, tf.Variable>;
  /** Non-trainable state saved with the weights (e.g. the BatchTopK inference threshold), kept on the host. */
  readonly buffers: HostParams;
  /** x: [B, d_in] already normalised (see activationScale). */
  forward(x: tf.Tensor2D, opts?: ForwardOptions): DictionaryForward;
  /** ‖W_D,i‖ for each latent: [d_sae]. */
  decoderNorms(): tf.Tensor1D;
  dispose(): void;
}

/**
 * The factor activations are multiplied by before entering the dictionary (lm-saes `compute_norm_factor`):
 * dataset-wise → sqrt(d_model) / mean‖x‖ of that hook; inference → 1. Token- and batch-wise scales depend
 * on the batch and are applied by `normalizeBatch`.
 */
export function datasetScale(cfg: SaeConfig, hook: string): number {
  if (cfg.norm_activation !== 'dataset-wise') return 1;
  const avg = cfg.dataset_average_activation_norm?.[hook];
  if (avg === undefined)
    throw new Error(
      `dataset_average_activation_norm for '${hook}' is not set (needed by norm_activation dataset-wise)`,
    );
  return Math.sqrt(cfg.d_model) / avg;
}

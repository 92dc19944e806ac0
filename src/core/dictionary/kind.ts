// What one dictionary kind (lm-saes `sae_type`) tells the rest of SAE Studio. The trainer, evaluation, the file
// formats, `dictionary forward`, the analysis and the wizard ask a kind through the registry (registry.ts), never
// a concrete class. Each kind lives in kinds/<sae_type>.ts (its float64 reference and its file layout) and
// kinds/<sae_type>-tf.ts (its tensor forward pass, tested against the reference on every backend).
//
// Shapes. A kind reads `hooksIn(cfg)` (nIn hooks, each padded to d_model) and writes `hooksOut(cfg)` (nOut hooks).
// Its features have `featureAxes(cfg)` axes of F latents: H for a crosscoder (one gate per head), L for a CLT
// (one encoder per layer), 1 otherwise. Inputs, outputs and feature activations are row-major with tokens first:
//   x            [B, S, nIn, d]         (B sequences of S positions; non-attention kinds treat B·S tokens alike)
//   featureActs  [B, S, A, F]            A = featureAxes(cfg)
//   hiddenPre    [B, S, A, F]            pre-activations (lm-saes's hidden_pre, divided back by the gate norm)
//   recon        [B, S, nOut, d]
// Everything here is in normalised activation space (lm-saes multiplies each hook by c_hook = √d / mean‖x_hook‖
// before the dictionary sees it); ./normalisation.ts maps raw activations in and reconstructions out.
import type * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import type { TensorToWrite } from '../tensor/safetensors';
import type { HostParams } from '../sae/host-tensor';
import type { ModelConfig } from '../lm/model-config';
import type { CommonKindConfig } from '../../protocol/kind-configs/common';

export interface KindConfigBase extends CommonKindConfig {
  sae_type: string;
}

export interface HostForward {
  featureActs: Float64Array;
  hiddenPre: Float64Array;
  recon: Float64Array;
}

export interface HostInput {
  /** [B, S, nIn, d], normalised. */
  x: Float64Array;
  B: number;
  S: number;
}

export interface ReferenceForwardOptions {
  /** TopK family: the k to use (K annealing); defaults to cfg.top_k. */
  k?: number;
}

/** Per-kind metrics beyond the generic EV / L0 (per head, per layer, per rank…): name → value or vector. */
export type KindMetrics = Record<string, number | number[]>;

/** The tensor forward pass, for training and fast evaluation. Shapes as above with N = B·S tokens first. */
export interface TfForward {
  featureActs: tf.Tensor3D; // [N, A, F]
  hiddenPre: tf.Tensor3D; // [N, A, F]
  recon: tf.Tensor3D; // [N, nOut, d]
}

export interface TfForwardOptions {
  k?: number;
  /** Positions per sequence: the N rows are N/seqLen sequences in order (attention kinds); 1 otherwise. */
  seqLen: number;
  training: boolean;
}

export interface KindTf<C extends KindConfigBase> {
  /** params: every tensor of stateShapes (trainable ones are tf.Variables during training); x: [N, nIn, d]. */
  forward(cfg: C, params: Record<string, tf.Tensor>, x: tf.Tensor3D, opts: TfForwardOptions): TfForward;
  /** [A, F], differentiable where lm-saes differentiates it (the CLT's is under no-grad). */
  gateNorms(cfg: C, params: Record<string, tf.Tensor>): tf.Tensor2D;
}

export interface DictionaryKind<C extends KindConfigBase = KindConfigBase> {
  readonly saeType: C['sae_type'];
  /** Short name for people ("Cross-layer transcoder"). */
  readonly label: string;
  /** One or two sentences for the wizard: what it is and when to pick it. */
  readonly description: string;
  /** zod schema of config.json (lm-saes field names); its output is C. */
  readonly schema: z.ZodType<C>;
  /** config.json as lm-saes writes it (no device, no dtype in lm-saes's own keys; extra keys are ignored there). */
  configJson(cfg: C): Record<string, unknown>;
  /**
   * lm-saes config.json → the input of `schema`: drop lm-saes-only keys (kernels, loading info), rename old names;
   * a field that would change the forward pass and that SAE Studio cannot honour is an InputError naming it.
   */
  translateLmSaesConfig(raw: Record<string, unknown>, file: string): Record<string, unknown>;
  hooksIn(cfg: C): string[];
  hooksOut(cfg: C): string[];
  featureAxes(cfg: C): number;
  /** Attention-like kinds need whole sequences (positions in order); the others take shuffled tokens. */
  readonly needsSequences: boolean;
  /**
   * Every tensor of the state_dict lm-saes saves for this config, except the `dataset_average_activation_norm.*`
   * scalars: name → shape. Strict loading checks exactly these keys and shapes.
   */
  stateShapes(cfg: C): Record<string, number[]>;
  /** Which of stateShapes are trainable parameters (the rest are buffers computed from the config). */
  trainable(cfg: C): string[];
  /** The buffers' values (Lorsa's mask, IGNORE, rotary tables), as lm-saes registers them. */
  buffers(cfg: C): Record<string, TensorToWrite>;
  /** lm-saes's initialisation (before any data-dependent step), deterministic in `seed`. */
  init(cfg: C, seed: number): HostParams;
  /** Float64 reference forward pass, written from the specification. */
  reference(cfg: C, params: HostParams, input: HostInput, opts?: ReferenceForwardOptions): HostForward;
  /** The per-feature gate norms n [A, F] (decoder norms; the CLT's over all target layers; ‖U_iV_i‖_F for MoLT). */
  gateNorms(cfg: C, params: HostParams): Float64Array;
  /**
   * Folds dataset-wise normalisation into the weights (norm_activation becomes 'inference'); the raw-space
   * reconstruction must not change (tests/core/dictionary/folding.test.ts). `warnings` say where the fold is
   * only approximate.
   */
  fold(cfg: C, params: HostParams): { cfg: C; params: HostParams; warnings: string[] };
  /** Checks the dictionary can run on this model beyond its hooks (Lorsa: rotary settings, n_ctx); InputError. */
  fitsModel?(cfg: C, model: ModelConfig): void;
  /** The tensor forward pass (kinds/<sae_type>-tf.ts). */
  readonly tf: KindTf<C>;
  /** Kind-specific metrics of one batch (normalised space): x is the input, y the label [B, S, nOut, d]. */
  metrics(cfg: C, params: HostParams, fwd: HostForward, y: Float64Array, tokens: number): KindMetrics;
}

/**
 * What each dictionary kind (lm-saes `sae_type`) is called and what it is for, in one place: the core registry's
 * kinds take their `label` and `description` from here, and the wizard, which cannot import core, shows the same.
 */
import type { DictionaryKindName } from './run-config';

export interface DictionaryKindText {
  /** A short name for lists and buttons. */
  short: string;
  label: string;
  /** One paragraph: what the kind computes and when to pick it. */
  description: string;
}

export const DICTIONARY_KIND_TEXTS: Readonly<Record<DictionaryKindName, DictionaryKindText>> = {
  sae: {
    short: 'SAE / transcoder',
    label: 'Sparse autoencoder / transcoder',
    description:
      'One hook in, one hook out: an SAE reconstructs the activations it reads; a transcoder (a different output hook, e.g. the MLP output from the MLP input) replaces a model component.',
  },
  crosscoder: {
    short: 'Crosscoder',
    label: 'Crosscoder',
    description:
      'One sparse dictionary read from and written to several hook points at once (layers, checkpoints or models). Pick it to find features shared across layers or to diff two models.',
  },
  clt: {
    short: 'CLT',
    label: 'Cross-layer transcoder',
    description:
      'One encoder per layer whose features write to that layer and every later one (Anthropic’s circuit-tracing CLT). Pick it to build attribution graphs across an MLP stack.',
  },
  lorsa: {
    short: 'Lorsa',
    label: 'Lorsa (low-rank sparse attention)',
    description:
      'Replaces an attention layer with many rank-1 OV heads that share a few QK patterns, read from the attention ' +
      'input and trained to reconstruct the attention output. Pick it to find interpretable attention features.',
  },
  molt: {
    short: 'MoLT',
    label: 'Mixture of linear transforms (MoLT)',
    description:
      'An encoder picks a few low-rank linear transforms per token and sums them applied to the input (ŷ = Σ f_i U_iV_i x). ' +
      'Pick it to replace an MLP with sparse, interpretable input-dependent linear maps (a transcoder whose latents are transforms).',
  },
};

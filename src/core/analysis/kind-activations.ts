// The activations the analysis counts as each feature's, for a dictionary of any kind (see analyze-kind.ts).
import * as tf from '@tensorflow/tfjs-core';
import { kindOutputs } from '../dictionary/apply';
import type { DictionaryKind, KindConfigBase } from '../dictionary/kind';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { TokenBatch } from '../lm/token-batch';

/** How many features the analysis numbers: L·F for a CLT, F otherwise. */
export function analysedFeatureCount(kind: DictionaryKind, cfg: KindConfigBase): number {
  return kind.saeType === 'crosscoder' ? cfg.d_sae : kind.featureAxes(cfg) * cfg.d_sae;
}

/** The analysed activations [rows, analysedFeatureCount] of the kind's feature activations [rows, A, F]. */
export function analysedActivations(
  kind: DictionaryKind,
  cfg: KindConfigBase,
  featureActs: Float32Array,
  rows: number,
): Float32Array {
  if (kind.saeType !== 'crosscoder') return featureActs;
  const A = kind.featureAxes(cfg);
  const F = cfg.d_sae;
  const out = new Float32Array(rows * F).fill(-Infinity);
  for (let r = 0; r < rows; r++)
    for (let a = 0; a < A; a++)
      for (let i = 0; i < F; i++) out[r * F + i] = Math.max(out[r * F + i]!, featureActs[(r * A + a) * F + i]!);
  return out;
}

/** The kind's feature activations [B·S, A, F] on a batch of whole windows. */
export async function windowActivations(
  model: HookedTransformer,
  kind: DictionaryKind,
  cfg: KindConfigBase,
  tensors: Record<string, tf.Tensor>,
  hooks: string[],
  batch: TokenBatch,
): Promise<Float32Array> {
  const out = model.forward(batch, { cache: hooks, logits: false });
  const acts: Record<string, Float32Array> = {};
  try {
    for (const h of hooks) acts[h] = (await out.cache[h]!.data()) as Float32Array;
  } finally {
    tf.dispose(Object.values(out.cache));
  }
  return (await kindOutputs(kind, cfg, tensors, acts, batch.batch * batch.seq, batch.seq)).featureActs;
}

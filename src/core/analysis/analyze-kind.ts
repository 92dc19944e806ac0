// The feature-analysis pass for a dictionary of any kind (src/core/dictionary/registry.ts). The same streaming
// statistics and samplings as the SAE's pass (feature-accumulator.ts), fed with the kind's feature activations
// (apply.ts kindOutputs, [rows, A, F]) for whole windows at a time, so that attention kinds (Lorsa) see every
// position of each sequence. Which activations count as a feature's, following lm-saes's FeatureAnalyzer:
//   crosscoder  F features, the activation is the maximum over the H heads (lm-saes `feature_acts.amax(dim=-2)`);
//               each top sample also records the per-head activations at its strongest token;
//   clt         L·F features, one per (source layer s, latent i), numbered s·F + i (lm-saes analyses a CLT one
//               source layer at a time, `clt_layer`), each with its own activations;
//   sae, lorsa, molt  F features.
// Each feature then gets its kind's own data (kind-data.ts). Direct logit attribution and decoder neighbours are
// the SAE pass's (analyze-dictionary.ts): the other kinds' decoders do not write one residual direction per feature.
import * as tf from '@tensorflow/tfjs-core';
import type { TokenMaskOptions } from '../data/masks';
import { checkDictionaryHooks, kindTensors } from '../dictionary/apply';
import type { DictionaryKind, KindConfigBase } from '../dictionary/kind';
import { InputError } from '../errors';
import type { HookedTransformer } from '../lm/hooked-transformer';
import { sliceRows, type TokenBatch } from '../lm/token-batch';
import type { HostParams } from '../sae/host-tensor';
import { feedWindows, flatKept, selectWindows, type AnalysisInfo, type AnalysisProgress } from './analyze-dictionary';
import { FeatureAccumulator } from './feature-accumulator';
import { analysedActivations, analysedFeatureCount, windowActivations } from './kind-activations';
import { addSampleKindData, featureKindDataOf } from './kind-data';
import { resolveSamplingConfig, type SamplingConfig } from './sampling-config';
import { fromDense } from './sparse-activations';
import type { AnalysisResult } from './types';

export interface AnalyzeKindOptions {
  model: HookedTransformer;
  kind: DictionaryKind;
  cfg: KindConfigBase;
  params: HostParams;
  /** Windows of the dataset (BOS first); context i of the result is window i. */
  windows: TokenBatch;
  /** Tokens to analyse (after masking), whole windows at a time (Infinity: every window). */
  nTokens: number;
  /** Windows per model batch (default 4). */
  batchWindows?: number;
  /** Positions left out (default: position 0 of each window). */
  mask?: TokenMaskOptions;
  samplingConfig?: Partial<SamplingConfig>;
  info?: Partial<AnalysisInfo>;
  onProgress?: (p: AnalysisProgress) => void;
  signal?: AbortSignal;
}

export async function analyzeKindDictionary(opts: AnalyzeKindOptions): Promise<AnalysisResult> {
  const { model, kind, cfg, params, windows } = opts;
  const S = windows.seq;
  if (!((Number.isInteger(opts.nTokens) && opts.nTokens > 0) || opts.nTokens === Infinity))
    throw new InputError(`nTokens: ${opts.nTokens} is invalid, expected a positive integer or Infinity`);
  const batchWindows = opts.batchWindows ?? 4;
  if (!(Number.isInteger(batchWindows) && batchWindows > 0))
    throw new InputError(`batchWindows: ${batchWindows} is invalid, expected a positive integer`);
  const hooks = checkDictionaryHooks(model, kind, cfg);
  const n = analysedFeatureCount(kind, cfg);
  const acc = new FeatureAccumulator(n, resolveSamplingConfig(opts.samplingConfig));
  const progress = (phase: AnalysisProgress['phase'], done: number, total: number) =>
    opts.onProgress?.({
      phase,
      done,
      total,
      retainedSamples: acc.retainedSamples,
      retainedContexts: acc.retainedContexts,
    });

  const selected = selectWindows(windows, opts.nTokens, opts.mask);
  const tensors = kindTensors(kind, cfg, params);
  let tokens = 0;
  try {
    for (let next = 0; next < selected.windows; next += batchWindows) {
      opts.signal?.throwIfAborted();
      const batch = sliceRows(windows, next, Math.min(batchWindows, selected.windows - next));
      const keep = flatKept(selected.mask.subarray(next * S, (next + batch.batch) * S));
      if (keep.length > 0) {
        const rows = batch.batch * S;
        const all = analysedActivations(
          kind,
          cfg,
          await windowActivations(model, kind, cfg, tensors, hooks, batch),
          rows,
        );
        const kept = new Float32Array(keep.length * n);
        keep.forEach((p, r) => kept.set(all.subarray(p * n, (p + 1) * n), r * n));
        feedWindows(acc, batch, keep, fromDense(kept, keep.length, n), next);
      }
      tokens += keep.length;
      progress('activations', tokens, selected.tokens);
    }
    const result = acc.finish(tokens);
    const kindData = featureKindDataOf(kind, cfg, params);
    const features = result.features.map((f) => ({
      ...f,
      topLogits: [],
      bottomLogits: [],
      neighbours: [],
      kindData: kindData(f.index),
    }));
    opts.signal?.throwIfAborted();
    await addSampleKindData({ model, kind, cfg, params, tensors, hooks }, result.contexts, features);
    return {
      dictionaryName: opts.info?.dictionaryName ?? '',
      dictionaryDir: opts.info?.dictionaryDir ?? '',
      modelName: opts.info?.modelName ?? cfg.model_name ?? '',
      hookPointIn: kind.hooksIn(cfg).join(','),
      hookPointOut: kind.hooksOut(cfg).join(','),
      dSae: n,
      dataset: opts.info?.dataset ?? { spec: '', split: 'all', contextSize: S },
      tokensAnalysed: tokens,
      createdAt: new Date().toISOString(),
      contexts: result.contexts,
      features,
    };
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

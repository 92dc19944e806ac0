// Each dictionary kind's own analysis data (protocol/features.ts FeatureKindData / SampleKindData), as lm-saes's
// post-analysis processors add it per sae_type: a CLT feature's decoder norm per target layer; a crosscoder
// feature's per-head decoder norms and head-similarity matrix, and the per-head activations of its top samples; a
// Lorsa feature's QK head and, for each top sample, its z-pattern (which earlier tokens it reads); a MoLT
// transform's rank. The per-sample data re-runs the model on the few contexts the top samples point into.
import type * as tf from '@tensorflow/tfjs-core';
import { hookScales, stackHooks } from '../dictionary/apply';
import type { DictionaryKind, KindConfigBase } from '../dictionary/kind';
import { cltDecoderNormsPerTarget } from '../dictionary/kinds/clt';
import { crosscoderFeatureHeadStats } from '../dictionary/kinds/crosscoder';
import { lorsaAttention64, type LorsaAttention64 } from '../dictionary/kinds/lorsa-math';
import { lorsaParams64 } from '../dictionary/kinds/lorsa';
import type { HookedTransformer } from '../lm/hooked-transformer';
import type { TokenBatch } from '../lm/token-batch';
import type { HostParams } from '../sae/host-tensor';
import type { CltConfig } from '../../protocol/kind-configs/clt';
import type { CrossCoderConfig } from '../../protocol/kind-configs/crosscoder';
import type { LorsaConfig } from '../../protocol/kind-configs/lorsa';
import { moltRankBlocks, type MoltConfig } from '../../protocol/kind-configs/molt';
import { analysedActivations, windowActivations } from './kind-activations';
import type { AnalysisContext, FeatureAnalysis, FeatureKindData, FeatureSample } from './types';

/** The per-feature data of every analysed feature of a kind (null for an SAE): computed once, read per index. */
export function featureKindDataOf(
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
): (index: number) => FeatureKindData | null {
  const F = cfg.d_sae;
  switch (kind.saeType) {
    case 'clt': {
      const c = cfg as unknown as CltConfig;
      const L = c.hook_points_in.length;
      const perTarget = cltDecoderNormsPerTarget(c, params);
      return (index) => ({
        kind: 'clt',
        layer: Math.floor(index / F),
        layerIndex: index % F,
        decoderNorms: Array.from(perTarget.subarray(index * L, (index + 1) * L)),
        targetHooks: [...c.hook_points_out],
      });
    }
    case 'crosscoder': {
      const c = cfg as unknown as CrossCoderConfig;
      return (index) => {
        const stats = crosscoderFeatureHeadStats(c, params, index);
        return {
          kind: 'crosscoder',
          heads: [...c.hook_points],
          decoderNorms: stats.decoderNorms,
          similarity: stats.cosine.map((row) => row.map((v) => (Number.isFinite(v) ? v : null))),
        };
      };
    }
    case 'lorsa': {
      const perHead = F / (cfg as unknown as LorsaConfig).n_qk_heads;
      return (index) => ({ kind: 'lorsa', qkHead: Math.floor(index / perHead) });
    }
    case 'molt': {
      const blocks = moltRankBlocks(cfg as unknown as MoltConfig);
      return (index) => {
        const block = blocks.find((b) => index >= b.offset && index < b.offset + b.count);
        return block ? { kind: 'molt', rank: block.rank } : null;
      };
    }
    default:
      return () => null;
  }
}

interface KindRun {
  model: HookedTransformer;
  kind: DictionaryKind;
  cfg: KindConfigBase;
  params: HostParams;
  tensors: Record<string, tf.Tensor>;
  hooks: string[];
}

interface TopSample {
  feature: number;
  sample: FeatureSample;
  /** The sample's strongest position. */
  position: number;
}

/** Contexts re-run per model batch. */
const CONTEXTS_PER_BATCH = 4;

/**
 * Adds the per-sample data of the kind to every `top_activations` sample of `features` (in place): a crosscoder's
 * per-head activations at the sample's strongest token, a Lorsa's z-pattern at it. Other kinds have none.
 */
export async function addSampleKindData(
  run: KindRun,
  contexts: AnalysisContext[],
  features: FeatureAnalysis[],
): Promise<void> {
  const saeType = run.kind.saeType;
  if (saeType !== 'crosscoder' && saeType !== 'lorsa') return;
  const byContext = new Map<number, TopSample[]>();
  for (const f of features)
    for (const sample of f.samplings.find((s) => s.name === 'top_activations')?.samples ?? []) {
      let best = 0;
      sample.values.forEach((v, j) => v > sample.values[best]! && (best = j));
      const list = byContext.get(sample.contextIndex) ?? [];
      list.push({ feature: f.index, sample, position: sample.positions[best]! });
      byContext.set(sample.contextIndex, list);
    }
  const used = contexts.filter((c) => byContext.has(c.contextIndex));
  for (let at = 0; at < used.length; at += CONTEXTS_PER_BATCH) {
    const group = used.slice(at, at + CONTEXTS_PER_BATCH);
    const S = group[0]!.tokens.length;
    const ids = new Int32Array(group.length * S);
    group.forEach((c, w) => ids.set(c.tokens, w * S));
    const batch: TokenBatch = { ids, batch: group.length, seq: S };
    const samples = group.map((c) => byContext.get(c.contextIndex)!);
    if (saeType === 'crosscoder') await headActivations(run, batch, samples);
    else await zPatterns(run, batch, samples);
  }
}

async function headActivations(run: KindRun, batch: TokenBatch, samples: TopSample[][]): Promise<void> {
  const { kind, cfg } = run;
  const H = kind.featureAxes(cfg);
  const F = cfg.d_sae;
  const S = batch.seq;
  const acts = await windowActivations(run.model, kind, cfg, run.tensors, run.hooks, batch); // [B·S, H, F]
  const max = analysedActivations(kind, cfg, acts, batch.batch * S);
  samples.forEach((list, w) =>
    list.forEach(({ feature, sample, position }) => {
      const row = w * S + position;
      sample.kindData = {
        headActivations: {
          position,
          values: Array.from({ length: H }, (_, h) => acts[(row * H + h) * F + feature]!),
        },
      };
      // The pass and this re-run compute the same thing: a mismatch would mean a sample points at the wrong token.
      if (Math.abs(max[row * F + feature]! - sample.maxActivation) > 1e-3 * Math.max(1, sample.maxActivation))
        throw new Error(`crosscoder feature ${feature}: re-run of context ${sample.contextIndex} disagrees`);
    }),
  );
}

async function zPatterns(run: KindRun, batch: TokenBatch, samples: TopSample[][]): Promise<void> {
  const cfg = run.cfg as unknown as LorsaConfig;
  const hook = cfg.hook_point_in;
  const { d_model: d, d_sae: F } = cfg;
  const S = batch.seq;
  const rows = batch.batch * S;
  const out = run.model.forward(batch, { cache: [hook], logits: false });
  let raw: Float32Array;
  try {
    raw = (await out.cache[hook]!.data()) as Float32Array;
  } finally {
    for (const t of Object.values(out.cache)) t.dispose();
  }
  const x = stackHooks([hook], { [hook]: raw }, { [hook]: hookScales(run.cfg, hook, raw, rows, d) }, rows, d);
  // A loaded dictionary holds its trainable tensors; the reference also reads the buffers (mask, rotary tables).
  const params: HostParams = { ...run.params };
  for (const [name, b] of Object.entries(run.kind.buffers(run.cfg)))
    params[name] ??= { data: Float32Array.from(b.data as ArrayLike<number>, Number), shape: [...b.shape] };
  const p64 = lorsaParams64(cfg, params);
  const perHead = F / cfg.n_qk_heads;
  samples.forEach((list, w) => {
    const att: LorsaAttention64 = lorsaAttention64(cfg, p64, x.subarray(w * S * d, (w + 1) * S * d), 1, S);
    for (const { feature, sample, position: q } of list) {
      const g = Math.floor(feature / perHead);
      const contributions = Array.from(
        { length: q + 1 },
        (_, k) => att.pattern[(g * S + q) * S + k]! * att.v[k * F + feature]!,
      );
      sample.kindData = { zPattern: { query: q, contributions } };
    }
  });
}

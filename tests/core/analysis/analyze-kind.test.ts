// The analysis pass for every non-SAE kind on pdlm-4l-256, against each kind's float64 reference (kind.reference)
// on the model's own activations: per-feature counts and maxima, the top-activation contexts in order, and each
// kind's own data — a CLT feature's decoder norm per target layer, a crosscoder's per-head activations at its top
// samples, a Lorsa's z-pattern (summing to its pre-activation), a MoLT transform's rank.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { analyzeKindDictionary } from '../../../src/core/analysis/analyze-kind';
import { referenceStats, referenceTopContexts, type ReferenceStats } from '../../../src/core/analysis/reference';
import type { AnalysisResult, FeatureAnalysis } from '../../../src/core/analysis/types';
import { cltDecoderKey } from '../../../src/core/dictionary/kinds/clt';
import { lorsaZPattern } from '../../../src/core/dictionary/kinds/lorsa';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import type { TokenBatch } from '../../../src/core/lm/token-batch';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import type { CltConfig } from '../../../src/protocol/kind-configs/clt';
import type { LorsaConfig } from '../../../src/protocol/kind-configs/lorsa';
import { describeEachBackend } from '../../helpers/backends';
import { PDLM_DIR } from '../../helpers/fixtures';
import { kindDictionary, KIND_NAMES, type KindDictionary } from '../../helpers/kind-dictionaries';
import { makeWindows } from './helpers';

const W = 6;
const S = 16;
const TOP_N = 4;

interface Reference {
  /** [W, S, nIn, d] float64, the kind's input. */
  x: Float64Array;
  nIn: number;
  /** [W, S, A, F] and [W, S, A, F]. */
  featureActs: Float64Array;
  hiddenPre: Float64Array;
  stats: ReferenceStats;
  /** Analysed features. */
  n: number;
}

/** The dictionary's tensors with the kind's buffers (Lorsa's mask and rotary tables), as the reference reads them. */
function withBuffers(d: KindDictionary): HostParams {
  const out: HostParams = { ...d.params };
  for (const [name, b] of Object.entries(d.kind.buffers(d.cfg)))
    out[name] = { data: Float32Array.from(b.data as ArrayLike<number>, Number), shape: [...b.shape] };
  return out;
}

/** The kind's reference forward on the model's activations, reduced to the analysed features, position 0 left out. */
async function reference(model: HookedTransformer, d: KindDictionary, windows: TokenBatch): Promise<Reference> {
  const { kind, cfg } = d;
  const params = withBuffers(d);
  const hooks = kind.hooksIn(cfg);
  const out = model.forward(windows, { cache: hooks, logits: false });
  const acts = await Promise.all(hooks.map(async (h) => (await out.cache[h]!.data()) as Float32Array));
  for (const t of Object.values(out.cache)) t.dispose();
  const D = cfg.d_model;
  const nIn = hooks.length;
  const x = new Float64Array(W * S * nIn * D);
  for (let r = 0; r < W * S; r++)
    acts.forEach((a, h) => {
      for (let c = 0; c < D; c++) x[(r * nIn + h) * D + c] = a[r * D + c]!;
    });
  const fwd = kind.reference(cfg, params, { x, B: W, S });
  const A = kind.featureAxes(cfg);
  const F = cfg.d_sae;
  const crosscoder = kind.saeType === 'crosscoder';
  const n = crosscoder ? F : A * F;
  const kept = new Float32Array(W * (S - 1) * n);
  const windowOf: number[] = [];
  for (let w = 0; w < W; w++)
    for (let p = 1; p < S; p++) {
      const row = windowOf.length;
      windowOf.push(w);
      for (let j = 0; j < n; j++) {
        let v = crosscoder ? -Infinity : fwd.featureActs[(w * S + p) * A * F + j]!;
        if (crosscoder) for (let a = 0; a < A; a++) v = Math.max(v, fwd.featureActs[((w * S + p) * A + a) * F + j]!);
        kept[row * n + j] = v;
      }
    }
  return {
    x,
    nIn,
    featureActs: fwd.featureActs,
    hiddenPre: fwd.hiddenPre,
    stats: referenceStats(kept, n, windowOf, W),
    n,
  };
}

const topSamples = (f: FeatureAnalysis) => f.samplings.find((s) => s.name === 'top_activations')?.samples ?? [];

function strongest(sample: { positions: Int32Array; values: Float32Array }): number {
  let best = 0;
  sample.values.forEach((v, j) => v > sample.values[best]! && (best = j));
  return sample.positions[best]!;
}

function checkAgainstReference(result: AnalysisResult, ref: Reference): void {
  expect(result.features).toHaveLength(ref.n);
  expect(result.tokensAnalysed).toBe(W * (S - 1));
  let fired = 0;
  for (const f of result.features) {
    const i = f.index;
    expect(f.actCount, `feature ${i}: count`).toBe(ref.stats.count[i]);
    expect(f.maxActivation, `feature ${i}: max`).toBeCloseTo(ref.stats.max[i]!, 3);
    const contexts = topSamples(f).map((s) => s.contextIndex);
    expect(contexts, `feature ${i}: top contexts`).toEqual(referenceTopContexts(ref.stats, ref.n, i, TOP_N));
    for (const s of topSamples(f))
      expect(s.maxActivation).toBeCloseTo(ref.stats.contextMax[s.contextIndex * ref.n + i]!, 3);
    if (f.actCount > 0) fired++;
  }
  expect(fired, 'features that fired at all').toBeGreaterThan(ref.n / 4);
}

function checkKindData(d: KindDictionary, result: AnalysisResult, ref: Reference): void {
  const { cfg, params } = d;
  const F = cfg.d_sae;
  for (const f of result.features) {
    const kd = f.kindData;
    if (d.kind.saeType === 'clt') {
      const c = cfg as unknown as CltConfig;
      const L = c.hook_points_in.length;
      const s = Math.floor(f.index / F);
      const i = f.index % F;
      expect(kd).toMatchObject({ kind: 'clt', layer: s, layerIndex: i, targetHooks: c.hook_points_out });
      const norms = Array.from({ length: L }, (_, t) => {
        if (t < s) return 0;
        const Wt = params[cltDecoderKey(t)]!.data; // [t+1, F, d]
        const row = Wt.subarray((s * F + i) * cfg.d_model, (s * F + i + 1) * cfg.d_model);
        return Math.sqrt(row.reduce((a, v) => a + v * v, 0));
      });
      expect(kd?.kind === 'clt' && kd.decoderNorms.map((v, t) => v - norms[t]!).every((e) => Math.abs(e) < 1e-5)).toBe(
        true,
      );
    } else if (d.kind.saeType === 'molt') {
      expect(kd).toEqual({ kind: 'molt', rank: f.index < 8 ? 1 : f.index < 12 ? 2 : 4 });
    } else if (d.kind.saeType === 'lorsa') {
      expect(kd).toEqual({ kind: 'lorsa', qkHead: Math.floor(f.index / (F / 2)) });
    } else {
      expect(kd?.kind).toBe('crosscoder');
    }
    for (const s of topSamples(f)) checkSampleKindData(d, ref, f.index, s);
  }
}

function checkSampleKindData(
  d: KindDictionary,
  ref: Reference,
  feature: number,
  s: FeatureAnalysis['samplings'][number]['samples'][number],
): void {
  const F = d.cfg.d_sae;
  const q = strongest(s);
  const c = s.contextIndex;
  if (d.kind.saeType === 'crosscoder') {
    const H = ref.nIn;
    const heads = Array.from({ length: H }, (_, h) => ref.featureActs[((c * S + q) * H + h) * F + feature]!);
    expect(s.kindData?.headActivations?.position).toBe(q);
    s.kindData!.headActivations!.values.forEach((v, h) => expect(v).toBeCloseTo(heads[h]!, 3));
    expect(Math.max(...s.kindData!.headActivations!.values)).toBeCloseTo(s.maxActivation, 3);
  } else if (d.kind.saeType === 'lorsa') {
    const D = d.cfg.d_model;
    const z = s.kindData?.zPattern;
    expect(z?.query).toBe(q);
    const x = ref.x.subarray(c * S * D, (c + 1) * S * D);
    const expected = lorsaZPattern(d.cfg as unknown as LorsaConfig, withBuffers(d), x, 1, S, feature, q);
    expect(z!.contributions).toHaveLength(q + 1);
    z!.contributions.forEach((v, k) => expect(v).toBeCloseTo(expected[k]!, 4));
    // The contributions of the earlier tokens add up to the feature's pre-activation at the query.
    const sum = z!.contributions.reduce((a, v) => a + v, 0);
    expect(sum).toBeCloseTo(ref.hiddenPre[(c * S + q) * F + feature]!, 3);
  } else {
    expect(s.kindData ?? null).toBeNull();
  }
}

describeEachBackend('the analysis pass for every kind on pdlm-4l-256', () => {
  let model: HookedTransformer;
  const windows = makeWindows(W, S, 5, 500);
  beforeAll(() => {
    model = loadModel(PDLM_DIR).model;
  });
  afterAll(() => model?.dispose());

  for (const saeType of KIND_NAMES) {
    it(`${saeType}: counts, maxima, top contexts and the kind's own data match the float64 reference`, async () => {
      const d = kindDictionary(saeType);
      const ref = await reference(model, d, windows);
      const result = await analyzeKindDictionary({
        model,
        kind: d.kind,
        cfg: d.cfg,
        params: d.params,
        windows,
        nTokens: Infinity,
        batchWindows: 4,
        samplingConfig: { topN: TOP_N },
      });
      checkAgainstReference(result, ref);
      checkKindData(d, result, ref);
      expect(result.dSae).toBe(saeType === 'clt' ? 4 * d.cfg.d_sae : d.cfg.d_sae);
    });
  }
});

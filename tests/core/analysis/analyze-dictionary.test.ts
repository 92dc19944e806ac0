// The analysis pass on the real gpt2 fixture with synthetic dictionaries on hook_embed whose answers are known:
// planted one-token features (exact counts, values, top contexts and positions), random ReLU features checked
// against the dense host reference, masking, quantile buckets, the token budget, abort, and bounded memory.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeDictionary, type AnalysisProgress } from '../../../src/core/analysis/analyze-dictionary';
import { quantileBucket } from '../../../src/core/analysis/band-reservoirs';
import { referenceStats, referenceTopContexts } from '../../../src/core/analysis/reference';
import type { AnalysisResult, FeatureAnalysis } from '../../../src/core/analysis/types';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { loadModel } from '../../../src/core/lm/load-model';
import type { TokenBatch } from '../../../src/core/lm/token-batch';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { archFixture } from '../../helpers/fixtures';
import {
  analysedPositions,
  detectableTokens,
  embeddings,
  IGNORED,
  makeWindows,
  syntheticDictionary,
  tensorCount,
  type Embeddings,
  type SyntheticDictionary,
} from './helpers';

const S = 32;
const F = 64;
const MASK = { ignoreTokenIds: [IGNORED] };

/** Windows where token A sits at known places, B at position 7 of every even window, and neither elsewhere. */
function plantedWindows(n: number, a: number, b: number, seed = 1): TokenBatch {
  const w = makeWindows(n, S, seed);
  w.ids.forEach((id, i) => {
    if (id === a || id === b) w.ids[i] = 11;
  });
  const put = (win: number, pos: number, id: number) => (w.ids[win * S + pos] = id);
  put(3, 4, a);
  put(3, 20, a);
  put(5, 1, a);
  put(9, 31, a);
  for (let win = 0; win < n; win += 2) put(win, 7, b);
  return w;
}

/** Feature `index` of a result, which must have it. */
function featureOf(result: AnalysisResult, index: number): FeatureAnalysis {
  const f = result.features[index];
  if (!f) throw new Error(`the analysis has no feature ${index}`);
  return f;
}

const sampling = (f: FeatureAnalysis, name: string) => f.samplings.find((s) => s.name === name)?.samples ?? [];

interface Planted {
  model: HookedTransformer;
  dict: SyntheticDictionary;
  windows: TokenBatch;
}

/**
 * Registers a suite's setup and disposal of the fixture model, the synthetic dictionary (features 0 (A), 1 (B),
 * 2 (the masked IGNORED id) and 3 (BOS, only ever at position 0) planted) and windows planting A and B; the getter
 * is valid once the suite's beforeAll ran.
 */
function usePlanted(): () => Planted {
  let planted: Planted | undefined;
  beforeAll(async () => {
    const model = loadModel(archFixture('gpt2')).model;
    const e: Embeddings = await embeddings(model);
    const [A, B] = detectableTokens(e, 2);
    if (A === undefined || B === undefined) throw new Error('the fixture model has fewer than 2 detectable tokens');
    planted = { model, dict: syntheticDictionary(e, [A, B, IGNORED, 0], F), windows: plantedWindows(64, A, B) };
  });
  afterAll(() => {
    planted?.dict.sae.dispose();
    planted?.model.dispose();
  });
  return () => {
    if (!planted) throw new Error('the planted fixture is made in beforeAll');
    return planted;
  };
}

interface FullPass {
  dict: SyntheticDictionary;
  windows: TokenBatch;
  result: AnalysisResult;
  tensorsBefore: number;
  tensorsAfter: number;
}

/**
 * Registers a suite's one full analysis pass over the planted fixture (with the tensor count before and after it);
 * the getter is valid once the suite's beforeAll ran.
 */
function useFullPass(): () => FullPass {
  const planted = usePlanted();
  let pass: FullPass | undefined;
  beforeAll(async () => {
    const { model, dict, windows } = planted();
    const tensorsBefore = tensorCount();
    const result = await analyzeDictionary({
      model,
      dictionary: dict.sae,
      windows,
      tokenizer: null,
      nTokens: Infinity,
      batchWindows: 5,
      mask: MASK,
      info: { dictionaryName: 'synthetic' },
    });
    pass = { dict, windows, result, tensorsBefore, tensorsAfter: tensorCount() };
  });
  return () => {
    if (!pass) throw new Error('the full pass is made in beforeAll');
    return pass;
  };
}

/** The pass as a whole, the planted features and the masked positions. */
function plantedFeatureTests(pass: () => FullPass): void {
  let dict: SyntheticDictionary;
  let windows: TokenBatch;
  let result: AnalysisResult;
  let tensorsBefore: number;
  let tensorsAfter: number;
  beforeAll(() => {
    ({ dict, windows, result, tensorsBefore, tensorsAfter } = pass());
  });

  it('leaves no tensors behind and describes the pass', () => {
    expect(tensorsAfter).toBe(tensorsBefore);
    const kept = analysedPositions(windows).flat.length;
    expect(result.tokensAnalysed).toBe(kept);
    expect(result).toMatchObject({
      dictionaryName: 'synthetic',
      hookPointIn: 'hook_embed',
      hookPointOut: 'hook_embed',
      dSae: F,
      dataset: { contextSize: S },
    });
    expect(result.features.map((f) => f.index)).toEqual(Array.from({ length: F }, (_, i) => i));
  });

  it('finds a planted one-token feature on exactly its token: count, values, top contexts and positions', () => {
    const a = featureOf(result, 0);
    const v = dict.plantedValue[0]!;
    expect(a.actCount).toBe(4);
    expect(a.frequency).toBeCloseTo(4 / result.tokensAnalysed, 12);
    expectClose([a.maxActivation, a.meanActivation], [v, v], { rtol: 1e-5, label: 'planted A max/mean' });
    const top = sampling(a, 'top_activations');
    expect(top.map((s) => s.contextIndex)).toEqual([3, 5, 9]); // equal maxima: context order
    expect(top.map((s) => Array.from(s.positions))).toEqual([[4, 20], [1], [31]]);
    for (const s of top) {
      expectClose(s.values, new Float32Array(s.positions.length).fill(v), {
        rtol: 1e-5,
        label: `A values in context ${s.contextIndex}`,
      });
      expectClose([s.maxActivation], [v], { rtol: 1e-5, label: 'A sample max' });
    }
    // Every context sits at the max, so all of them (fewer than 5) are quantile_10's samples.
    expect(sampling(a, 'quantile_10').map((s) => s.contextIndex)).toEqual([3, 5, 9]);
    expect(a.samplings.map((s) => s.name)).toEqual(['top_activations', 'quantile_10', 'non_activating']);
    const silent = sampling(a, 'non_activating');
    expect(silent.length).toBe(5);
    for (const s of silent) {
      expect([3, 5, 9]).not.toContain(s.contextIndex);
      expect(s.positions.length).toBe(0);
      expect(s.maxActivation).toBe(0);
    }
    expect(a.histogram.counts).toEqual([4]);
    expect(a.histogram.edges.length).toBe(2);
    expect(a.histogram.edges[0]).toBeLessThanOrEqual(v);
    expect(a.histogram.edges[1]).toBeGreaterThan(v);
  });

  it('keeps the first N of more than N equally strong contexts, and samples 5 of them in quantile_10', () => {
    const b = featureOf(result, 1);
    expect(b.actCount).toBe(32);
    const top = sampling(b, 'top_activations');
    expect(top.map((s) => s.contextIndex)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    for (const s of top) expect(Array.from(s.positions)).toEqual([7]);
    const q10 = sampling(b, 'quantile_10');
    expect(q10.length).toBe(5);
    for (const s of q10) expect(s.contextIndex % 2).toBe(0);
    expect(new Set(q10.map((s) => s.contextIndex)).size).toBe(5);
    for (const s of sampling(b, 'non_activating')) expect(s.contextIndex % 2).toBe(1);
  });

  it('never analyses masked positions: the ignored id and position 0', () => {
    for (const f of [featureOf(result, 2), featureOf(result, 3)]) {
      expect(f.actCount).toBe(0);
      expect(f.maxActivation).toBe(0);
      expect(f.histogram).toEqual({ edges: [0], counts: [] });
      expect(f.samplings.map((s) => s.name)).toEqual(['non_activating']);
    }
  });
}

/** Random ReLU features against the dense host reference: statistics, quantile samples and the stored contexts. */
function randomFeatureTests(pass: () => FullPass): void {
  let dict: SyntheticDictionary;
  let windows: TokenBatch;
  let result: AnalysisResult;
  beforeAll(() => {
    ({ dict, windows, result } = pass());
  });

  it('agrees with the dense host reference on random ReLU features: count, max, mean, histogram, top contexts', () => {
    const pos = analysedPositions(windows);
    const acts = dict.activations(pos.flat.map((i) => windows.ids[i]!));
    const ref = referenceStats(acts, F, pos.window, windows.batch);
    for (let f = 4; f < F; f++) {
      const got = featureOf(result, f);
      const label = `feature ${f}`;
      expect(got.actCount, `${label} count`).toBe(ref.count[f]);
      expectClose([got.maxActivation, got.meanActivation], [ref.max[f]!, ref.sum[f]! / ref.count[f]!], {
        rtol: 1e-4,
        label,
      });
      const { edges, counts } = got.histogram;
      expect(
        counts.reduce((s, c) => s + c, 0),
        `${label} histogram total`,
      ).toBe(ref.count[f]);
      expect(edges.length).toBe(counts.length + 1);
      expect(edges.at(-1)!).toBeGreaterThan(got.maxActivation);
      expect(edges.at(-1)!).toBeLessThan(2 * got.maxActivation + (edges[1]! - edges[0]!));
      const top = sampling(got, 'top_activations');
      const expected = referenceTopContexts(ref, F, f, 10);
      expectClose(
        top.map((s) => s.maxActivation),
        expected.map((w) => ref.contextMax[w * F + f]!),
        { rtol: 1e-4, label: `${label} top maxima` },
      );
      for (const s of top) {
        // The sample is the feature's whole activation pattern on that window.
        const rows = pos.window.flatMap((w, r) => (w === s.contextIndex && acts[r * F + f]! > 0 ? [r] : []));
        expect(Array.from(s.positions), `${label} positions in ${s.contextIndex}`).toEqual(
          rows.map((r) => pos.position[r]!),
        );
        expectClose(
          s.values,
          rows.map((r) => acts[r * F + f]!),
          { rtol: 1e-4, label: `${label} values in ${s.contextIndex}` },
        );
      }
    }
  });

  it('puts quantile samples in their buckets of the final max, each a real context of the feature', () => {
    const pos = analysedPositions(windows);
    const ref = referenceStats(dict.activations(pos.flat.map((i) => windows.ids[i]!)), F, pos.window, windows.batch);
    let buckets = 0;
    for (const f of result.features.slice(4)) {
      for (let q = 1; q <= 10; q++) {
        const samples = sampling(f, `quantile_${q}`);
        expect(samples.length).toBeLessThanOrEqual(5);
        buckets += samples.length > 0 ? 1 : 0;
        for (const s of samples) {
          expect(quantileBucket(s.maxActivation, f.maxActivation, 10), `feature ${f.index} quantile_${q}`).toBe(q);
          expectClose([s.maxActivation], [ref.contextMax[s.contextIndex * F + f.index]!], {
            rtol: 1e-4,
            label: `feature ${f.index} context ${s.contextIndex}`,
          });
        }
        expect(new Set(samples.map((s) => s.contextIndex)).size).toBe(samples.length);
      }
    }
    expect(buckets).toBeGreaterThan(60 * 3); // context maxima spread over several buckets
  });

  it('stores every referenced context once, with its window tokens', () => {
    const referenced = new Set(
      result.features.flatMap((f) => f.samplings.flatMap((s) => s.samples.map((x) => x.contextIndex))),
    );
    expect(result.contexts.map((c) => c.contextIndex)).toEqual([...referenced].sort((a, b) => a - b));
    for (const c of result.contexts)
      expect(Array.from(c.tokens)).toEqual(
        Array.from(windows.ids.subarray(c.contextIndex * S, (c.contextIndex + 1) * S)),
      );
  });
}

describeEachBackend('analyzeDictionary: one full pass over planted and random features', () => {
  const pass = useFullPass();
  describe('the pass and its planted features', () => plantedFeatureTests(pass));
  describe('random features against the dense host reference', () => randomFeatureTests(pass));
});

describeEachBackend('analyzeDictionary: token budget, abort and bounded memory', () => {
  const planted = usePlanted();
  let model: HookedTransformer;
  let dict: SyntheticDictionary;
  let windows: TokenBatch;
  beforeAll(() => {
    ({ model, dict, windows } = planted());
  });

  it('takes whole windows until nTokens, and reports progress', async () => {
    const events: AnalysisProgress[] = [];
    const r = await analyzeDictionary({
      model,
      dictionary: dict.sae,
      windows,
      tokenizer: null,
      nTokens: 100,
      batchWindows: 2,
      mask: MASK,
      neighbourCount: 0,
      logitCount: 0,
      onProgress: (p) => events.push(p),
    });
    const perWindow = Array.from(
      { length: 4 },
      (_, w) => analysedPositions({ ids: windows.ids.subarray(w * S, (w + 1) * S), batch: 1, seq: S }).flat.length,
    );
    const [w0 = 0, w1 = 0, w2 = 0] = perWindow;
    expect(w0 + w1 + w2).toBeLessThan(100);
    expect(r.tokensAnalysed).toBe(perWindow.reduce((s, n) => s + n, 0)); // the 4th window crosses 100
    expect(Math.max(...r.contexts.map((c) => c.contextIndex))).toBe(3);
    const act = events.filter((p) => p.phase === 'activations');
    expect(act.map((p) => p.done)).toEqual([w0 + w1, r.tokensAnalysed]);
    expect(act.every((p) => p.total === r.tokensAnalysed)).toBe(true); // known up front: whole windows
    expect(r.features[0]?.topLogits).toEqual([]);
  });

  it('stops when aborted and leaves no tensors behind', async () => {
    const before = tensorCount();
    const ctrl = new AbortController();
    const run = analyzeDictionary({
      model,
      dictionary: dict.sae,
      windows,
      tokenizer: null,
      nTokens: 1e9,
      batchWindows: 2,
      mask: MASK,
      signal: ctrl.signal,
      onProgress: (p) => p.done > 200 && ctrl.abort(),
    });
    await expect(run).rejects.toThrow(/abort/i);
    expect(tensorCount()).toBe(before);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('retains a bounded number of samples and contexts: 4× the tokens, same memory', async () => {
    // Small heaps and reservoirs, so that 500 windows saturate them all.
    const many = makeWindows(2048, 16, 7);
    const cfg = { topN: 2, bands: 2, bandCapacity: 1, samplesPerQuantile: 1, nonActivatingPool: 4 };
    const peak = async (nTokens: number) => {
      let samples = 0;
      let contexts = 0;
      await analyzeDictionary({
        model,
        dictionary: dict.sae,
        windows: many,
        tokenizer: null,
        nTokens,
        batchWindows: 16,
        mask: MASK,
        samplingConfig: cfg,
        logitCount: 0,
        neighbourCount: 0,
        onProgress: (p) => {
          samples = Math.max(samples, p.retainedSamples);
          contexts = Math.max(contexts, p.retainedContexts);
        },
      });
      return { samples, contexts };
    };
    const small = await peak(7500);
    const large = await peak(4 * 7500);
    const bound = F * (cfg.topN + cfg.bands * cfg.bandCapacity);
    for (const r of [small, large]) {
      expect(r.samples).toBeLessThanOrEqual(bound);
      expect(r.contexts).toBeLessThanOrEqual(bound + cfg.nonActivatingPool);
    }
    // Saturated heaps and reservoirs: more tokens replace samples instead of adding to them.
    expect(large.samples / small.samples).toBeLessThan(1.02);
  });
});

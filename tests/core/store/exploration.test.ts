// Exploring a stored analysis: the token index answers as a brute-force scan of the samples does (one token and a
// two-token sequence, inline and arrays-file storage), the overview counts dead and dense features and bins the
// rest, and a random feature is always a live one.
import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../../src/core/analysis/types';
import { openStore, saveAnalysis, upsertDictionary, type Store } from '../../../src/core/store';
import { dictionaryOverview, randomLiveFeature } from '../../../src/core/store/dictionary-overview';
import { SampleTokenIndex } from '../../../src/core/store/sample-token-index';
import { syntheticAnalysis, useTempDirs } from './helpers';

const tempDir = useTempDirs();

function withAnalysis<T>(result: AnalysisResult, largeArrayBytes: number, fn: (store: Store) => T): T {
  const store = openStore({ dir: tempDir() });
  try {
    upsertDictionary(store, { name: result.dictionaryName, path: '/tmp/x', config: { d_sae: result.dSae } });
    saveAnalysis(store, result, { largeArrayBytes });
    return fn(store);
  } finally {
    store.close();
  }
}

/** Per feature, the largest stored activation where the context reads `tokens` ending at the active position. */
function bruteForce(result: AnalysisResult, tokens: number[]): Map<number, number> {
  const ctx = new Map(result.contexts.map((c) => [c.contextIndex, c.tokens]));
  const out = new Map<number, number>();
  for (const f of result.features)
    for (const s of f.samplings)
      for (const sample of s.samples)
        sample.positions.forEach((p, j) => {
          const c = ctx.get(sample.contextIndex)!;
          const match = tokens.every((t, k) => c[p - tokens.length + 1 + k] === t);
          if (match && sample.values[j]! > 0) out.set(f.index, Math.max(out.get(f.index) ?? 0, sample.values[j]!));
        });
  return out;
}

describe('SampleTokenIndex', () => {
  const result = syntheticAnalysis({ nFeatures: 40, nContexts: 6, contextSize: 12, samplesPerSampling: 4, seed: 3 });
  // Make tokens repeat so that queries hit several features: a vocabulary of 5 ids after BOS.
  for (const c of result.contexts) c.tokens = c.tokens.map((t, i) => (i === 0 ? t : t % 5));
  const sequence = [result.contexts[0]!.tokens[3]!, result.contexts[0]!.tokens[4]!];

  for (const largeArrayBytes of [1 << 20, 0]) {
    it(`answers as a scan of the samples does (arrays ${largeArrayBytes ? 'inline' : 'in the arrays file'})`, () => {
      withAnalysis(result, largeArrayBytes, (store) => {
        const index = SampleTokenIndex.build(store, result.dictionaryName)!;
        expect(index.analysisUid).toBe(SampleTokenIndex.currentUid(store, result.dictionaryName));
        for (const query of [[2], [4], sequence]) {
          const want = bruteForce(result, query);
          const got = index.search(query, 1000);
          expect(want.size).toBeGreaterThan(0);
          expect(new Map(got.map((h) => [h.feature, h.maxActivation]))).toEqual(want);
          for (let i = 1; i < got.length; i++)
            expect(got[i]!.maxActivation).toBeLessThanOrEqual(got[i - 1]!.maxActivation);
          const top = got[0]!;
          expect(index.context(top.contextIndex)?.[top.position]).toBe(query.at(-1));
        }
        expect(index.search([2], 3)).toHaveLength(3);
        expect(index.search([123456], 10)).toEqual([]);
      });
    });
  }
});

describe('dictionaryOverview and randomLiveFeature', () => {
  it('counts dead and dense features and bins the live ones; a random feature is live', () => {
    const result = syntheticAnalysis({ nFeatures: 20 });
    Object.assign(result.features[3]!, { actCount: 0, frequency: 0, maxActivation: 0 });
    Object.assign(result.features[7]!, { actCount: 0, frequency: 0, maxActivation: 0 });
    Object.assign(result.features[5]!, { actCount: 6000, frequency: 0.6 });
    withAnalysis(result, 1 << 20, (store) => {
      const o = dictionaryOverview(store, result.dictionaryName);
      expect(o.nFeatures).toBe(20);
      expect(o.dead).toBe(2);
      expect(o.dense).toBe(1);
      expect(o.logFrequency.counts.reduce((a, b) => a + b, 0)).toBe(18);
      expect(o.maxActivation.counts.reduce((a, b) => a + b, 0)).toBe(18);
      expect(o.logFrequency.edges.at(-1)).toBeCloseTo(Math.log10(0.6), 10);
      expect(o.logFrequency.edges[0]).toBeCloseTo(
        Math.log10(Math.min(...result.features.filter((f) => f.actCount > 0).map((f) => f.frequency))),
        10,
      );
      const drawn = new Set(
        Array.from({ length: 50 }, (_, i) => randomLiveFeature(store, result.dictionaryName, i / 50)),
      );
      expect(drawn.size).toBe(18);
      expect(drawn.has(3) || drawn.has(7)).toBe(false);
    });
  });
});

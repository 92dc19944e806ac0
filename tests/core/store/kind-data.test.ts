// The kinds' own analysis data through the store: saveAnalysis → getFeature returns each feature's and each
// sample's kind data as saved (a CLT's per-target decoder norms, a crosscoder's head norms and similarity with its
// nulls, a Lorsa z-pattern, a MoLT rank), an SAE's stay null, and a CLT numbers n_layers · d_sae features.
import { describe, expect, it } from 'vitest';
import type { AnalysisResult, FeatureKindData, SampleKindData } from '../../../src/core/analysis/types';
import { InputError } from '../../../src/core/errors';
import { getFeature, openStore, saveAnalysis, upsertDictionary, type Store } from '../../../src/core/store';
import { toLmSaesFeatureDocument } from '../../../src/core/store/lm-saes-documents';
import { syntheticAnalysis, useTempDirs } from './helpers';

const tempDir = useTempDirs();

function withStore<T>(fn: (store: Store) => T): T {
  const store = openStore({ dir: tempDir() });
  try {
    return fn(store);
  } finally {
    store.db.close();
  }
}

const CLT_HOOKS_IN = [0, 1, 2].map((l) => `blocks.${l}.ln2.hook_normalized`);
const CLT_HOOKS_OUT = [0, 1, 2].map((l) => `blocks.${l}.hook_mlp_out`);

/** Gives every feature and every top sample of `result` the data `of` makes (in place). */
function withKindData(
  result: AnalysisResult,
  of: (index: number) => FeatureKindData,
  sampleOf: (index: number, rank: number) => SampleKindData,
): AnalysisResult {
  for (const f of result.features) {
    f.kindData = of(f.index);
    f.samplings[0]!.samples.forEach((s, rank) => (s.kindData = sampleOf(f.index, rank)));
  }
  return result;
}

describe('kind data in the store', () => {
  it('round-trips a CLT analysis of n_layers · d_sae features with its decoder norms per target layer', () => {
    withStore((store) => {
      const config = { sae_type: 'clt', d_sae: 4, hook_points_in: CLT_HOOKS_IN, hook_points_out: CLT_HOOKS_OUT };
      upsertDictionary(store, { name: 'toy-clt', path: '/tmp/toy-clt', config });
      const result = withKindData(
        syntheticAnalysis({ dictionaryName: 'toy-clt', dSae: 12, featureIndices: [0, 5, 11] }),
        (index) => ({
          kind: 'clt',
          layer: Math.floor(index / 4),
          layerIndex: index % 4,
          decoderNorms: [0, 1, 2].map((t) => (t < Math.floor(index / 4) ? 0 : 0.25 + t + index / 100)),
          targetHooks: CLT_HOOKS_OUT,
        }),
        () => ({}),
      );
      saveAnalysis(store, result);
      const f = getFeature(store, 'toy-clt', 11);
      expect(f.kind).toBe('clt');
      expect(f.kindData).toEqual({
        kind: 'clt',
        layer: 2,
        layerIndex: 3,
        decoderNorms: [0, 0, 2.36],
        targetHooks: CLT_HOOKS_OUT,
      });
      expect(getFeature(store, 'toy-clt', 5).kindData).toMatchObject({ layer: 1, layerIndex: 1 });
      expect(() => getFeature(store, 'toy-clt', 12)).toThrow(InputError);
      expect(() => getFeature(store, 'toy-clt', 12)).toThrow(/out of range .* \(0 to 11\)/);
    });
  });

  it('round-trips crosscoder head statistics (nulls kept) and per-head activations of the top samples', () => {
    withStore((store) => {
      const heads = ['blocks.1.hook_resid_post', 'blocks.2.hook_resid_post'];
      upsertDictionary(store, { name: 'toy-cc', path: '/tmp/toy-cc', config: { sae_type: 'crosscoder', d_sae: 8 } });
      const result = withKindData(
        syntheticAnalysis({ dictionaryName: 'toy-cc', dSae: 8, nFeatures: 8 }),
        (index) => ({
          kind: 'crosscoder',
          heads,
          decoderNorms: [index / 8, 0],
          similarity: [
            [1, null],
            [null, null],
          ],
        }),
        (index, rank) => ({ headActivations: { position: rank + 1, values: [index + 0.5, rank * 0.25] } }),
      );
      saveAnalysis(store, result);
      const f = getFeature(store, 'toy-cc', 3);
      expect(f.kind).toBe('crosscoder');
      expect(f.kindData).toEqual(result.features[3]!.kindData);
      const top = f.samplings.find((s) => s.name === 'top_activations')!.samples;
      expect(top.map((s) => s.kindData)).toEqual(
        [0, 1, 2].map((rank) => ({
          headActivations: { position: rank + 1, values: [3.5, rank * 0.25] },
        })),
      );
      // Only the top samples carry data here; the others read back as null.
      expect(f.samplings.find((s) => s.name === 'quantile_1')!.samples.every((s) => s.kindData === null)).toBe(true);
      // lm-saes's crosscoder post-analysis fields.
      const doc = toLmSaesFeatureDocument(f, { series: 'default' }).analyses[0]!;
      expect([doc.decoder_norms, doc.decoder_similarity_matrices]).toEqual([
        [3 / 8, 0],
        [
          [1, null],
          [null, null],
        ],
      ]);
    });
  });

  it('round-trips Lorsa z-patterns and MoLT ranks; an SAE analysis has no kind data', () => {
    withStore((store) => {
      upsertDictionary(store, { name: 'toy-lorsa', path: '/tmp/l', config: { sae_type: 'lorsa', d_sae: 6 } });
      const lorsa = withKindData(
        syntheticAnalysis({ dictionaryName: 'toy-lorsa', dSae: 6, nFeatures: 6 }),
        (index) => ({ kind: 'lorsa', qkHead: index % 2 }),
        (index, rank) => ({ zPattern: { query: 2, contributions: [0.125 * index, -0.5, rank] } }),
      );
      saveAnalysis(store, lorsa);
      const l = getFeature(store, 'toy-lorsa', 5);
      expect(l.kindData).toEqual({ kind: 'lorsa', qkHead: 1 });
      expect(l.samplings[0]!.samples[2]!.kindData).toEqual({ zPattern: { query: 2, contributions: [0.625, -0.5, 2] } });
      // lm-saes's sparse z_pattern over [sample, query, key]: rank 0's zero contribution at key 2 is left out.
      const top = toLmSaesFeatureDocument(l, { series: 'default' }).analyses[0]!.samplings[0]!;
      expect(top.z_pattern_indices?.shape).toEqual([3, 8]);
      expect(top.z_pattern_indices?.dtype).toBe('int64');
      expect(Array.from(top.z_pattern_indices!.data as BigInt64Array, Number)).toEqual([
        ...[0, 0, 1, 1, 1, 2, 2, 2],
        ...[2, 2, 2, 2, 2, 2, 2, 2],
        ...[0, 1, 0, 1, 2, 0, 1, 2],
      ]);
      expect(Array.from(top.z_pattern_values!.data as Float32Array)).toEqual([
        0.625, -0.5, 0.625, -0.5, 1, 0.625, -0.5, 2,
      ]);

      upsertDictionary(store, { name: 'toy-molt', path: '/tmp/m', config: { sae_type: 'molt', d_sae: 6 } });
      saveAnalysis(
        store,
        withKindData(
          syntheticAnalysis({ dictionaryName: 'toy-molt', dSae: 6, nFeatures: 6 }),
          (index) => ({ kind: 'molt', rank: index < 3 ? 1 : 2 }),
          () => ({}),
        ),
      );
      expect(getFeature(store, 'toy-molt', 4).kindData).toEqual({ kind: 'molt', rank: 2 });

      saveAnalysis(store, syntheticAnalysis({ dictionaryName: 'toy-sae', dSae: 64 }));
      const sae = getFeature(store, 'toy-sae', 3);
      expect([sae.kind, sae.kindData]).toEqual(['sae', null]);
      expect(sae.samplings.flatMap((s) => s.samples).every((s) => s.kindData === null)).toBe(true);
    });
  });
});

// The pure mappings to lm-saes's MongoDB documents (field names of src/lm_saes/database.py), on hand-built records
// and on a feature read back from the store.
import { describe, expect, it } from 'vitest';
import {
  getDictionary,
  getFeature,
  openStore,
  saveAnalysis,
  setInterpretation,
  toLmSaesAnalysisDocument,
  toLmSaesBookmarkDocument,
  toLmSaesCatalogDocument,
  toLmSaesFeatureDocument,
  toLmSaesSaeDocument,
  type Dictionary,
  type FeatureDetail,
} from '../../../src/core/store';
import { syntheticAnalysis, useTempDirs } from './helpers';

const tempDir = useTempDirs();

const tokens = Int32Array.from([50256, 11, 12, 13, 14, 15]);
const feature: FeatureDetail = {
  dictionary: 'gpt2-l6',
  index: 42,
  kind: 'sae',
  kindData: null,
  interpretation: {
    text: 'commas in lists',
    detail: { complexity: 3, passed: true },
    updatedAt: '2025-01-01T00:00:00.000Z',
  },
  bookmark: null,
  analysis: {
    name: 'default',
    modelName: 'gpt2',
    datasetName: 'openwebtext',
    datasetSplit: 'train',
    contextSize: 6,
    hookPointIn: 'blocks.6.hook_resid_post',
    hookPointOut: 'blocks.6.hook_resid_post',
    nAnalyzedTokens: 1_000_000,
    nFeatures: 24576,
    createdAt: '2025-01-01T00:00:00.000Z',
  },
  stats: {
    actCount: 1234,
    frequency: 0.001234,
    maxActivation: 7.5,
    meanActivation: 2.25,
    histogram: { edges: [0, 4, 8], counts: [1000, 234] },
    topLogits: [{ tokenId: 11, token: ',', logit: 3.5 }],
    bottomLogits: [{ tokenId: 12, token: ' the', logit: -2 }],
    neighbours: [{ index: 7, cosine: 0.5 }],
  },
  samplings: [
    {
      name: 'top_activations',
      samples: [
        // Positions out of order on purpose: the COO form is sorted like torch's to_sparse().
        {
          rank: 0,
          contextIndex: 17,
          tokens,
          positions: Int32Array.from([4, 1]),
          values: Float32Array.from([7.5, 0.5]),
          maxActivation: 7.5,
          kindData: null,
        },
        {
          rank: 1,
          contextIndex: 3,
          tokens,
          positions: Int32Array.from([2]),
          values: Float32Array.from([6]),
          maxActivation: 6,
          kindData: null,
        },
      ],
    },
    { name: 'non_activating', samples: [] },
  ],
};

describe('lm-saes feature documents', () => {
  it('maps a feature to a `features` document with sparse samplings', () => {
    const doc = toLmSaesFeatureDocument(feature, { series: 'lm-saes' });
    expect(Object.keys(doc).sort()).toEqual([
      'analyses',
      'index',
      'interpretation',
      'logits',
      'sae_name',
      'sae_series',
    ]);
    expect(doc).toMatchObject({ sae_name: 'gpt2-l6', sae_series: 'lm-saes', index: 42 });
    expect(doc.logits).toEqual({
      top_positive: [{ token: ',', logit: 3.5 }],
      top_negative: [{ token: ' the', logit: -2 }],
    });
    expect(doc.interpretation).toEqual({ text: 'commas in lists', complexity: 3, passed: true });

    const [analysis] = doc.analyses;
    expect(analysis).toMatchObject({
      name: 'default',
      act_times: 1234,
      max_feature_acts: 7.5,
      n_analyzed_tokens: 1_000_000,
      studio_mean_feature_acts: 2.25,
      studio_histogram: { edges: [0, 4, 8], counts: [1000, 234] },
      studio_neighbours: [{ index: 7, cosine: 0.5 }],
    });
    const [top, none] = analysis!.samplings;
    expect(top!.name).toBe('top_activations');
    expect(top!.feature_acts_indices).toEqual({
      dtype: 'float32',
      shape: [2, 3],
      data: Float32Array.from([0, 0, 1, 1, 4, 2]),
    });
    expect(top!.feature_acts_values).toEqual({ dtype: 'float32', shape: [3], data: Float32Array.from([0.5, 7.5, 6]) });
    expect(top!.context_idx).toEqual({ dtype: 'int64', shape: [2], data: BigInt64Array.from([17n, 3n]) });
    expect(top!.shard_idx.data).toEqual(BigInt64Array.from([0n, 0n]));
    expect(top!.n_shards.data).toEqual(BigInt64Array.from([1n, 1n]));
    expect(top!.dataset_name).toEqual(['openwebtext', 'openwebtext']);
    expect(top!.model_name).toEqual(['gpt2', 'gpt2']);
    expect(none!.feature_acts_indices.shape).toEqual([2, 0]);
    expect(none!.context_idx.shape).toEqual([0]);
  });

  it('leaves out analyses, logits and interpretation a feature does not have', () => {
    const doc = toLmSaesFeatureDocument(
      { ...feature, interpretation: null, analysis: null, stats: null, samplings: [] },
      { series: 's' },
    );
    expect(doc).toEqual({ sae_name: 'gpt2-l6', sae_series: 's', index: 42, analyses: [] });
  });
});

describe('lm-saes dictionary, analysis, bookmark and catalog documents', () => {
  it('maps dictionaries, analyses, bookmarks, models and datasets', () => {
    const dictionary: Dictionary = {
      name: 'gpt2-l6',
      series: 'lm-saes',
      path: '/home/u/.sae-studio/dictionaries/gpt2-l6',
      saeType: 'sae',
      dSae: 24576,
      modelName: 'gpt2',
      config: { sae_type: 'sae', d_model: 768, d_sae: 24576, hook_point_in: 'blocks.6.hook_resid_post' },
      metrics: { l0: 40 },
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-02T00:00:00.000Z',
    };
    expect(toLmSaesSaeDocument(dictionary)).toEqual({
      name: 'gpt2-l6',
      series: 'lm-saes',
      path: '/home/u/.sae-studio/dictionaries/gpt2-l6',
      cfg: dictionary.config,
      model_name: 'gpt2',
    });
    expect(toLmSaesAnalysisDocument(dictionary, 'default')).toEqual({
      name: 'default',
      sae_name: 'gpt2-l6',
      sae_series: 'lm-saes',
    });
    const bookmark = {
      dictionary: 'gpt2-l6',
      index: 42,
      tags: ['punctuation'],
      note: 'nice',
      createdAt: '2025-03-04T05:06:07.000Z',
    };
    expect(toLmSaesBookmarkDocument(bookmark, { series: 'lm-saes' })).toEqual({
      sae_name: 'gpt2-l6',
      sae_series: 'lm-saes',
      feature_index: 42,
      created_at: new Date('2025-03-04T05:06:07.000Z'),
      tags: ['punctuation'],
      notes: 'nice',
    });
    expect(toLmSaesCatalogDocument({ name: 'gpt2', cfg: { model_name: 'gpt2' }, createdAt: 'x' })).toEqual({
      name: 'gpt2',
      cfg: { model_name: 'gpt2' },
    });
  });
});

describe('lm-saes documents of a feature read back from the store', () => {
  it('maps a stored feature so that its sparse samplings decode back to the samples', () => {
    const store = openStore({ dir: tempDir() });
    try {
      const result = syntheticAnalysis();
      saveAnalysis(store, result);
      setInterpretation(store, 'toy-sae', 5, 'five');
      const doc = toLmSaesFeatureDocument(getFeature(store, 'toy-sae', 5), {
        series: getDictionary(store, 'toy-sae').series,
      });
      expect(doc.interpretation).toEqual({ text: 'five' });
      const want = result.features.find((f) => f.index === 5)!;
      doc.analyses[0]!.samplings.forEach((s, si) => {
        const samples = want.samplings[si]!.samples;
        const nnz = s.feature_acts_values.shape[0]!;
        const indices = s.feature_acts_indices.data as Float32Array;
        const decoded = samples.map(() => [] as [number, number][]);
        for (let k = 0; k < nnz; k++)
          decoded[indices[k]!]!.push([indices[nnz + k]!, (s.feature_acts_values.data as Float32Array)[k]!]);
        expect(decoded).toEqual(samples.map((x) => Array.from(x.positions, (p, j) => [p, x.values[j]])));
        expect(Array.from(s.context_idx.data as BigInt64Array, Number)).toEqual(samples.map((x) => x.contextIndex));
      });
    } finally {
      store.close();
    }
  });
});

// saveAnalysis → getFeature / listFeatures: a synthetic AnalysisResult round trip, sorting, filters, search, replace
// semantics, large arrays in the arrays file, and the InputErrors readers give.
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../../../src/core/analysis/types';
import { InputError } from '../../../src/core/errors';
import {
  addBookmark,
  getDictionary,
  getFeature,
  listAnalyses,
  listFeatures,
  openStore,
  removeAnalysis,
  removeOrphanArrayFiles,
  saveAnalysis,
  setInterpretation,
  upsertDictionary,
  type Store,
} from '../../../src/core/store';
import { syntheticAnalysis, useTempDirs } from './helpers';

const tempDir = useTempDirs();

function withStore<T>(fn: (store: Store, dir: string) => T): T {
  const dir = tempDir();
  const store = openStore({ dir });
  try {
    return fn(store, dir);
  } finally {
    store.close();
  }
}

/** Every feature of `result` reads back exactly as it went in. */
function expectRoundTrip(store: Store, result: AnalysisResult, analysis?: string): void {
  const tokensOf = new Map(result.contexts.map((c) => [c.contextIndex, c.tokens]));
  for (const f of result.features) {
    const got = getFeature(store, result.dictionaryName, f.index, { analysis });
    expect(got.stats).toEqual({
      actCount: f.actCount,
      frequency: f.frequency,
      maxActivation: f.maxActivation,
      meanActivation: f.meanActivation,
      histogram: f.histogram,
      topLogits: f.topLogits,
      bottomLogits: f.bottomLogits,
      neighbours: f.neighbours,
    });
    expect(got.samplings.map((s) => s.name)).toEqual(f.samplings.map((s) => s.name));
    got.samplings.forEach((s, si) => {
      const want = f.samplings[si]?.samples ?? [];
      expect(s.samples).toHaveLength(want.length);
      s.samples.forEach((sample, rank) => {
        const expected = want[rank];
        if (!expected) throw new Error(`feature ${f.index}, ${s.name}: sample ${rank} read back but none went in`);
        expect(sample.rank).toBe(rank);
        expect(sample.contextIndex).toBe(expected.contextIndex);
        expect(sample.positions).toEqual(expected.positions);
        expect(sample.values).toEqual(expected.values);
        expect(sample.maxActivation).toBe(expected.maxActivation);
        expect(sample.tokens).toEqual(tokensOf.get(sample.contextIndex));
      });
    });
  }
}

/** Sample `rank` of a feature's first sampling, to edit; a result without it is a broken fixture. */
function sampleOf(result: AnalysisResult, feature: number, rank: number) {
  const sample = result.features[feature]?.samplings[0]?.samples[rank];
  if (!sample) throw new Error(`the synthetic analysis has no sample ${rank} for feature ${feature}`);
  return sample;
}

/** The arrays file a save reports (it must report one). */
function arraysFileOf(saved: { arraysFile?: string | null }): string {
  if (!saved.arraysFile) throw new Error('the save wrote no arrays file');
  return saved.arraysFile;
}

const expectInputError = (fn: () => unknown, pattern: RegExp) => {
  expect(fn).toThrow(InputError);
  expect(fn).toThrow(pattern);
};

describe('saveAnalysis and the feature readers: round trip, order, filters', () => {
  it('round-trips every feature, sampling, sample and context', () => {
    withStore((store) => {
      const result = syntheticAnalysis();
      const saved = saveAnalysis(store, result);
      expect(saved).toEqual({
        dictionary: 'toy-sae',
        name: 'default',
        features: 12,
        contexts: 10,
        samples: 12 * 2 * 3,
        arraysFile: null,
        replaced: false,
      });
      expectRoundTrip(store, result);
      const detail = getFeature(store, 'toy-sae', 4);
      expect(detail.analysis).toMatchObject({
        name: 'default',
        modelName: 'pdlm-4l-256',
        datasetName: 'corpus:sotu',
        datasetSplit: 'validation',
        contextSize: 16,
        nAnalyzedTokens: 10_000,
        nFeatures: 12,
        createdAt: '2025-01-02T03:04:05.000Z',
      });
      expect(detail.samplings.find((s) => s.name === 'non_activating')?.samples).toEqual([]);
      // An unregistered dictionary is registered from the result.
      expect(getDictionary(store, 'toy-sae')).toMatchObject({
        dSae: 64,
        path: '/tmp/dictionaries/toy-sae',
        modelName: 'pdlm-4l-256',
        saeType: 'sae',
      });
    });
  });

  it('sorts by index, frequency and max activation, both ways, with stable ties', () => {
    withStore((store) => {
      const result = syntheticAnalysis({ nFeatures: 30 });
      saveAnalysis(store, result);
      const indices = (sort?: 'index' | 'frequency' | 'max', order?: 'asc' | 'desc') =>
        listFeatures(store, 'toy-sae', { sort, order }).items.map((f) => f.index);
      const by = (key: (f: AnalysisResult['features'][number]) => number, dir: 1 | -1) =>
        [...result.features].sort((a, b) => dir * (key(a) - key(b)) || a.index - b.index).map((f) => f.index);
      expect(indices()).toEqual(by((f) => f.index, 1));
      expect(indices('index', 'desc')).toEqual(by((f) => f.index, -1));
      expect(indices('frequency')).toEqual(by((f) => f.frequency, -1));
      expect(indices('frequency', 'asc')).toEqual(by((f) => f.frequency, 1));
      expect(indices('max')).toEqual(by((f) => f.maxActivation, -1));
      expect(indices('max', 'asc')).toEqual(by((f) => f.maxActivation, 1));
    });
  });

  it('filters by frequency, searches interpretations and pages with a total', () => {
    withStore((store) => {
      const result = syntheticAnalysis({ nFeatures: 30 });
      saveAnalysis(store, result);
      const page = listFeatures(store, 'toy-sae', {
        minFrequency: 0.002,
        maxFrequency: 0.006,
        sort: 'frequency',
        order: 'asc',
      });
      const want = result.features.filter((f) => f.frequency >= 0.002 && f.frequency <= 0.006);
      expect(page.total).toBe(want.length);
      expect(page.items.every((f) => f.frequency >= 0.002 && f.frequency <= 0.006)).toBe(true);

      setInterpretation(store, 'toy-sae', 3, 'Fires on Python DEF keywords');
      setInterpretation(store, 'toy-sae', 17, 'closing brackets in python code');
      setInterpretation(store, 'toy-sae', 20, 'French articles');
      setInterpretation(store, 'toy-sae', 21, '100%_literal');
      addBookmark(store, 'toy-sae', 17);
      const found = listFeatures(store, 'toy-sae', { search: 'python' });
      expect(found.items.map((f) => [f.index, f.interpretation, f.bookmarked])).toEqual([
        [3, 'Fires on Python DEF keywords', false],
        [17, 'closing brackets in python code', true],
      ]);
      expect(listFeatures(store, 'toy-sae', { search: '%_' }).items.map((f) => f.index)).toEqual([21]); // wildcards are literal

      const first = listFeatures(store, 'toy-sae', { limit: 7 });
      const second = listFeatures(store, 'toy-sae', { limit: 7, offset: 7 });
      expect(first.total).toBe(30);
      expect([...first.items, ...second.items].map((f) => f.index)).toEqual(Array.from({ length: 14 }, (_, i) => i));
      expectInputError(
        () => listFeatures(store, 'toy-sae', { limit: 0 }),
        /limit 0: expected an integer from 1 to 10000/,
      );
      expectInputError(
        () => listFeatures(store, 'toy-sae', { minFrequency: 0.5, maxFrequency: 0.1 }),
        /minFrequency 0.5 is above maxFrequency 0.1/,
      );
    });
  });
});

describe('saveAnalysis: replacing analyses and choosing among them', () => {
  it('refuses to overwrite an analysis unless asked, and replaces it whole when asked', () => {
    withStore((store) => {
      const first = syntheticAnalysis({ nFeatures: 12, seed: 1 });
      const second = syntheticAnalysis({
        featureIndices: [40, 41, 42],
        seed: 2,
        createdAt: '2025-02-01T00:00:00.000Z',
      });
      saveAnalysis(store, first);
      saveAnalysis(store, first, { name: 'other' });
      setInterpretation(store, 'toy-sae', 5, 'kept across re-analysis');
      expectInputError(
        () => saveAnalysis(store, second),
        /dictionary 'toy-sae' already has an analysis named 'default'; replace it or choose another name/,
      );
      expectRoundTrip(store, first);

      expect(saveAnalysis(store, second, { replace: true }).replaced).toBe(true);
      expectRoundTrip(store, second);
      expect(getFeature(store, 'toy-sae', 5).stats).toBeNull(); // not in the new analysis
      expect(getFeature(store, 'toy-sae', 5).interpretation?.text).toBe('kept across re-analysis');
      expect(listFeatures(store, 'toy-sae').items.map((f) => f.index)).toEqual([40, 41, 42]);
      expectRoundTrip(store, first, 'other'); // the other analysis is untouched
      const count = (table: string) => store.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
      expect(count('features')).toBe(12 + 3);
      expect(count('contexts')).toBe(10 + 10);
      expect(count('feature_samples')).toBe((12 + 3) * 2 * 3);
      expect(
        listAnalyses(store, 'toy-sae')
          .map((a) => a.name)
          .sort(),
      ).toEqual(['default', 'other']);
      expect(removeAnalysis(store, 'toy-sae', 'other')).toBe(true);
      expect(removeAnalysis(store, 'toy-sae', 'other')).toBe(false);
      expect(count('features')).toBe(3);
    });
  });

  it('reads the default analysis, else the most recent, and names the analyses there are', () => {
    withStore((store) => {
      saveAnalysis(store, syntheticAnalysis({ nFeatures: 2, createdAt: '2025-01-01T00:00:00.000Z' }), {
        name: 'early',
      });
      saveAnalysis(store, syntheticAnalysis({ nFeatures: 3, createdAt: '2025-03-01T00:00:00.000Z' }), { name: 'late' });
      expect(listFeatures(store, 'toy-sae').analysis).toBe('late');
      expect(listFeatures(store, 'toy-sae', { analysis: 'early' }).total).toBe(2);
      saveAnalysis(store, syntheticAnalysis({ nFeatures: 4, createdAt: '2024-01-01T00:00:00.000Z' }));
      expect(listFeatures(store, 'toy-sae').analysis).toBe('default');
      expectInputError(
        () => listFeatures(store, 'toy-sae', { analysis: 'nope' }),
        /dictionary 'toy-sae' has no analysis named 'nope' \(it has: late, early, default\)/,
      );
    });
  });
});

describe('saveAnalysis and the readers: errors, and arrays over the size limit', () => {
  it('gives one-line InputErrors for unknown dictionaries and out-of-range features', () => {
    withStore((store) => {
      expectInputError(() => listFeatures(store, 'missing'), /^unknown dictionary 'missing' \(there are none yet\)$/);
      saveAnalysis(store, syntheticAnalysis());
      upsertDictionary(store, { name: 'another', path: '/d/another', config: { d_sae: 8 } });
      expectInputError(
        () => getFeature(store, 'missing', 0),
        /^unknown dictionary 'missing' \(known: another, toy-sae\)$/,
      );
      expectInputError(
        () => getFeature(store, 'toy-sae', 64),
        /^feature index 64 is out of range for dictionary 'toy-sae' \(0 to 63\)$/,
      );
      expectInputError(() => getFeature(store, 'toy-sae', -1), /out of range .*\(0 to 63\)/);
      expectInputError(() => setInterpretation(store, 'toy-sae', 1.5, 'x'), /feature index 1.5 is out of range/);
      // No analysis yet: an empty page and a detail without stats.
      expect(listFeatures(store, 'another')).toEqual({ dictionary: 'another', analysis: null, total: 0, items: [] });
      expect(getFeature(store, 'another', 7)).toMatchObject({ analysis: null, stats: null, samplings: [] });
    });
  });

  it('rejects inconsistent results before writing anything', () => {
    withStore((store) => {
      const bad = syntheticAnalysis();
      sampleOf(bad, 2, 1).contextIndex = 999;
      expectInputError(
        () => saveAnalysis(store, bad),
        /feature 2, sampling 'top_activations', sample 1: context 999 is not among the result's contexts/,
      );
      const outOfRange = syntheticAnalysis({ featureIndices: [1, 64] });
      expectInputError(() => saveAnalysis(store, outOfRange), /feature index 64 is out of range \(0 to 63\)/);
      upsertDictionary(store, { name: 'toy-sae', path: '/d', config: { d_sae: 128 } });
      expectInputError(
        () => saveAnalysis(store, syntheticAnalysis()),
        /dSae 64 differs from the registered dictionary's d_sae 128/,
      );
      expect(store.db.prepare('SELECT count(*) FROM analyses').pluck().get()).toBe(0);
    });
  });

  it('puts arrays over the size limit into one safetensors file beside studio.db and reads them back', () => {
    withStore((store, dir) => {
      const result = syntheticAnalysis({ contextSize: 40 }); // 160-byte token arrays
      const saved = saveAnalysis(store, result, { largeArrayBytes: 64 });
      expect(saved.arraysFile).toMatch(/^arrays\/[0-9a-f-]{36}\.safetensors$/);
      expect(existsSync(join(dir, arraysFileOf(saved)))).toBe(true);
      expect(store.db.prepare('SELECT count(*) FROM contexts WHERE tokens IS NULL').pluck().get()).toBe(10);
      expectRoundTrip(store, result);

      // Samples with more than 16 positions spill too.
      const wide = syntheticAnalysis({ contextSize: 40, seed: 5 });
      const sample = sampleOf(wide, 0, 0);
      sample.positions = Int32Array.from({ length: 30 }, (_, i) => i + 5);
      sample.values = Float32Array.from({ length: 30 }, (_, i) => i / 4);
      const replaced = saveAnalysis(store, wide, { replace: true, largeArrayBytes: 64 });
      expect(store.db.prepare('SELECT count(*) FROM feature_samples WHERE arrays_ref IS NOT NULL').pluck().get()).toBe(
        1,
      );
      expectRoundTrip(store, wide);
      expect(existsSync(join(dir, arraysFileOf(saved)))).toBe(false); // the replaced analysis's file is gone
      expect(readdirSync(join(dir, 'arrays'))).toEqual([arraysFileOf(replaced).slice('arrays/'.length)]);

      // A file no analysis refers to (a killed save) is removed once old enough.
      const orphan = join(dir, 'arrays', 'orphan.safetensors');
      writeFileSync(orphan, 'x');
      expect(removeOrphanArrayFiles(store)).toEqual([]);
      utimesSync(orphan, new Date(Date.now() - 2 * 3_600_000), new Date(Date.now() - 2 * 3_600_000));
      expect(removeOrphanArrayFiles(store)).toEqual(['orphan.safetensors']);
      expectRoundTrip(store, wide);
    });
  });
});

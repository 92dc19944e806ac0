// The streaming state alone, fed synthetic windows (no model): exact statistics and histograms across range
// doublings, the top-N heap against a full sort, quantile samples that are uniform within their bucket even
// when the feature's max keeps growing, non-activating draws, and memory that stops growing once saturated.
import { describe, expect, it } from 'vitest';
import { quantileBucket } from '../../../src/core/analysis/band-reservoirs';
import { FeatureAccumulator } from '../../../src/core/analysis/feature-accumulator';
import { resolveSamplingConfig, type SamplingConfig } from '../../../src/core/analysis/sampling-config';
import { Mt19937 } from '../../../src/core/data/random/mt19937';

const S = 8;
const tokensOf = (w: number) => Int32Array.from({ length: S }, (_, i) => w * S + i);

/** Feeds windows where window w holds (feature, position, value) triples from `entries(w)`. */
function feed(acc: FeatureAccumulator, windows: number, entries: (w: number) => [number, number, number][]): void {
  for (let w = 0; w < windows; w++) {
    const e = entries(w);
    acc.addWindow(
      w,
      tokensOf(w),
      Int32Array.from(e, (x) => x[0]),
      Int32Array.from(e, (x) => x[1]),
      Float32Array.from(e, (x) => x[2]),
      0,
      e.length,
    );
  }
}

const accumulator = (F: number, over: Partial<SamplingConfig> = {}) =>
  new FeatureAccumulator(F, resolveSamplingConfig(over));
const samplesOf = (
  f: { samplings: { name: string; samples: { contextIndex: number; maxActivation: number }[] }[] },
  name: string,
) => f.samplings.find((s) => s.name === name)?.samples ?? [];

describe('FeatureAccumulator', () => {
  it('counts, sums and bins exactly while the range doubles', () => {
    // Dyadic values (k/64) so every bin boundary is exact; the max grows 32× after the first context.
    const values = (w: number) => Array.from({ length: 3 }, (_, i) => ((w * 7 + i * 13) % (2 + w)) / 64 + 1 / 64);
    const acc = accumulator(1, { histogramBins: 8, rangeHeadroom: 2 });
    feed(acc, 64, (w) => values(w).map((v, i) => [0, i, v]));
    const all = Array.from({ length: 64 }, (_, w) => values(w)).flat();
    const [f] = acc.finish(1000).features;
    expect(f!.actCount).toBe(all.length);
    expect(f!.maxActivation).toBe(Math.max(...all));
    expect(f!.meanActivation).toBeCloseTo(all.reduce((a, b) => a + b, 0) / all.length, 12);
    expect(f!.frequency).toBe(all.length / 1000);
    const { edges, counts } = f!.histogram;
    const width = edges[1]! - edges[0]!;
    expect(edges.at(-1)!).toBeGreaterThan(f!.maxActivation);
    const expected = counts.map((_, i) => all.filter((v) => v >= edges[i]! && v < edges[i]! + width).length);
    expect(counts).toEqual(expected);
    expect(Math.round(edges[0]! / width + counts.length) * width).toBeLessThan(2 * f!.maxActivation); // U < 2M
  });

  it('keeps the N strongest contexts per feature, like a full sort', () => {
    const rng = new Mt19937(5);
    const table = Array.from({ length: 500 }, () => Array.from({ length: 3 }, () => rng.nextFloat53() * 10));
    const acc = accumulator(3, { topN: 7 });
    feed(acc, 500, (w) => [
      [0, 1, table[w]![0]!],
      [1, 2, table[w]![1]!],
      [2, 3, table[w]![2]!],
      [2, 5, table[w]![2]! / 2],
    ]);
    const { features } = acc.finish(4000);
    for (let f = 0; f < 3; f++) {
      const expected = Array.from({ length: 500 }, (_, w) => w)
        .sort((a, b) => Math.fround(table[b]![f]!) - Math.fround(table[a]![f]!))
        .slice(0, 7);
      expect(samplesOf(features[f]!, 'top_activations').map((s) => s.contextIndex)).toEqual(expected);
    }
  });

  it('samples each quantile bucket uniformly even when the max keeps growing', () => {
    // Context w's max grows over time (×4 from first to last), forcing range doublings and band merges; a
    // sampler biased to early or late contexts would show it in the share of picks from each half of a bucket.
    const n = 2000;
    const rng = new Mt19937(11);
    const a = Array.from({ length: n }, (_, w) => Math.fround((1 + (3 * w) / n) * (0.05 + 0.95 * rng.nextFloat53())));
    const M = Math.max(...a);
    const buckets = Array.from({ length: 10 }, (_, q) =>
      a.flatMap((v, w) => (quantileBucket(v, M, 10) === q + 1 ? [w] : [])),
    );
    const picksEarly = new Array<number>(10).fill(0);
    const picks = new Array<number>(10).fill(0);
    for (let seed = 0; seed < 200; seed++) {
      const acc = accumulator(1, { seed, topN: 0 });
      feed(acc, n, (w) => [[0, 0, a[w]!]]);
      const [f] = acc.finish(n).features;
      for (let q = 0; q < 10; q++) {
        const got = samplesOf(f!, `quantile_${q + 1}`).map((s) => s.contextIndex);
        expect(got.length).toBe(Math.min(5, buckets[q]!.length));
        const pop = buckets[q]!;
        const mid = pop[Math.floor(pop.length / 2)]!;
        for (const w of got) {
          expect(pop).toContain(w);
          picks[q]!++;
          if (w < mid) picksEarly[q]!++;
        }
      }
    }
    for (let q = 0; q < 10; q++) {
      const share = picksEarly[q]! / picks[q]!;
      const expected = Math.floor(buckets[q]!.length / 2) / buckets[q]!.length;
      expect(Math.abs(share - expected), `bucket ${q + 1}: share of picks from its earlier half`).toBeLessThan(0.06);
    }
  });

  it('draws non-activating contexts among windows where the feature never fired', () => {
    const acc = accumulator(2, { nonActivating: 5, nonActivatingPool: 16 });
    feed(acc, 300, (w) => (w % 3 === 0 ? [[0, 1, 1]] : [[1, 2, 1]]));
    const { features } = acc.finish(2400);
    const silent0 = samplesOf(features[0]!, 'non_activating').map((s) => s.contextIndex);
    const silent1 = samplesOf(features[1]!, 'non_activating').map((s) => s.contextIndex);
    expect(silent0.length).toBe(5);
    expect(silent1.length).toBeGreaterThan(0);
    for (const w of silent0) expect(w % 3).not.toBe(0);
    for (const w of silent1) expect(w % 3).toBe(0);
  });

  it('stops growing once its heaps and reservoirs are full: 4× the windows, the same retained samples', () => {
    const F = 40;
    const cfg = { topN: 5, bands: 4, bandCapacity: 3, samplesPerQuantile: 3, nonActivatingPool: 16 };
    const rng = new Mt19937(2);
    const entries = (): [number, number, number][] =>
      Array.from({ length: F }, (_, f) => [f, f % S, 0.01 + rng.nextFloat53()]);
    const retained = (windows: number) => {
      const acc = accumulator(F, cfg);
      let peak = 0;
      for (let w = 0; w < windows; w++) {
        feed(acc, 1, entries);
        peak = Math.max(peak, acc.retainedSamples);
      }
      return { peak, contexts: acc.retainedContexts, end: acc.retainedSamples };
    };
    const small = retained(1000);
    const large = retained(4000);
    const bound = F * (cfg.topN + cfg.bands * cfg.bandCapacity);
    expect(large.peak).toBeLessThanOrEqual(bound);
    expect(large.contexts).toBeLessThanOrEqual(bound + cfg.nonActivatingPool);
    expect(Math.abs(large.end - small.end) / small.end).toBeLessThan(0.02);
  });

  it('rejects a sampling config it cannot use, naming the field', () => {
    expect(() => resolveSamplingConfig({ bands: 3 })).toThrow(/samplingConfig\.bands: 3 .*even/);
    expect(() => resolveSamplingConfig({ rangeHeadroom: 1 })).toThrow(/samplingConfig\.rangeHeadroom/);
    expect(() => resolveSamplingConfig({ bandCapacity: 2 })).toThrow(
      /samplingConfig\.bandCapacity: 2 .*samplesPerQuantile \(5\)/,
    );
  });
});

describe('quantileBucket', () => {
  it('maps (q−1)M/Q < a ≤ qM/Q to q', () => {
    expect(quantileBucket(10, 10, 10)).toBe(10);
    expect(quantileBucket(1e-9, 10, 10)).toBe(1);
    expect(quantileBucket(1, 10, 10)).toBe(1);
    expect(quantileBucket(1.0000001, 10, 10)).toBe(2);
    expect(quantileBucket(0.3 * 7, 7, 10)).toBe(3);
  });
});

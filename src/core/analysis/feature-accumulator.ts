// The streaming state of the analysis pass for every feature at once, fed one context window at a time with
// that window's non-zero activations. Memory is fixed by the feature count and the sampling config, never by
// the number of tokens: flat per-feature statistics and histograms (feature-stats.ts), a top-N min-heap
// (top-heaps.ts), B band reservoirs of c contexts (band-reservoirs.ts), one shared pool of non-activating
// windows (non-activating-pool.ts), and the tokens of the contexts these still refer to (context-store.ts).
// At most F·(N + B·c) samples and F·(N + B·c) + pool contexts are retained.
import { Mt19937 } from '../data/random/mt19937';
import { BandReservoirs } from './band-reservoirs';
import { ContextStore, unpackSample, type SampleData } from './context-store';
import { FeatureStats } from './feature-stats';
import { NonActivatingPool } from './non-activating-pool';
import type { SamplingConfig } from './sampling-config';
import { TopHeaps } from './top-heaps';
import type { AnalysisContext, FeatureAnalysis, FeatureSample, FeatureSampling } from './types';

export type FeatureActivationSummary = Omit<FeatureAnalysis, 'topLogits' | 'bottomLogits' | 'neighbours'>;

export class FeatureAccumulator {
  readonly store = new ContextStore();
  private readonly stats: FeatureStats;
  private readonly top: TopHeaps;
  private readonly bands: BandReservoirs;
  private readonly pool: NonActivatingPool;
  private readonly rng: Mt19937;
  // Scratch for grouping one window's entries by feature (counting sort over the features it touched).
  private readonly slotOf: Int32Array; // [F], −1 when untouched
  private touched = new Int32Array(256);
  private offsets = new Int32Array(257);
  private groupedPos = new Int32Array(1024);
  private groupedVal = new Float32Array(1024);

  constructor(
    readonly features: number,
    readonly cfg: SamplingConfig,
  ) {
    this.rng = new Mt19937(cfg.seed);
    this.stats = new FeatureStats(features, cfg.histogramBins, cfg.rangeHeadroom);
    this.top = new TopHeaps(features, cfg.topN, this.store);
    this.bands = new BandReservoirs(features, cfg.bands, cfg.bandCapacity, this.store, this.rng);
    this.pool = new NonActivatingPool(cfg.nonActivatingPool, this.store, this.rng);
    this.slotOf = new Int32Array(features).fill(-1);
  }

  /**
   * One window: entries [start, end) of (feature, position, value) are all its non-zero activations (value > 0)
   * at the positions analysed, in any order; `tokens` is the whole window (copied only if a sample keeps it).
   */
  addWindow(
    contextIndex: number,
    tokens: ArrayLike<number>,
    feature: Int32Array,
    position: Int32Array,
    value: Float32Array,
    start: number,
    end: number,
  ): void {
    const nTouched = this.group(feature, position, value, start, end);
    const { touched, offsets, groupedPos: pos, groupedVal: val } = this;
    for (let t = 0; t < nTouched; t++) {
      const f = touched[t]!;
      const a = offsets[t]!;
      const b = offsets[t + 1]!;
      let m = 0;
      for (let i = a; i < b; i++) if (val[i]! > m) m = val[i]!;
      const doublings = this.stats.ensureRange(f, m);
      for (let d = 0; d < doublings; d++) this.bands.doubleRange(f);
      this.stats.add(f, val, a, b);

      let sample: SampleData | undefined;
      if (this.top.accepts(f, m)) {
        sample = this.store.newSample(contextIndex, tokens, pos, val, a, b);
        this.top.push(f, sample);
      }
      const band = this.bands.bandOf(m, this.stats.upper[f]!);
      const slot = this.bands.offer(f, band);
      if (slot >= 0) {
        sample ??= this.store.newSample(contextIndex, tokens, pos, val, a, b);
        this.bands.place(f, band, slot, sample);
      }
    }
    this.pool.offer(contextIndex, tokens, () => touched.slice(0, nTouched));
    for (let t = 0; t < nTouched; t++) this.slotOf[touched[t]!] = -1;
  }

  get retainedSamples(): number {
    return this.store.retainedSamples;
  }

  get retainedContexts(): number {
    return this.store.retainedContexts;
  }

  /** Per-feature statistics and samplings (empty samplings omitted), and every context they refer to. */
  finish(tokensAnalysed: number): { features: FeatureActivationSummary[]; contexts: AnalysisContext[] } {
    const used = new Set<number>();
    const toSample = (s: SampleData): FeatureSample => {
      used.add(s.contextIndex);
      const { positions, values } = unpackSample(s); // (not spread: an object literal of fixed shape is cheaper)
      return { contextIndex: s.contextIndex, positions, values, maxActivation: s.maxActivation };
    };
    const features: FeatureActivationSummary[] = [];
    const { count, sum, max } = this.stats;
    for (let f = 0; f < this.features; f++) {
      const samplings: FeatureSampling[] = [];
      const add = (name: string, samples: FeatureSample[]) => samples.length > 0 && samplings.push({ name, samples });
      const M = max[f]!;
      add('top_activations', this.top.sorted(f).map(toSample));
      if (M > 0) {
        this.bands
          .quantileSamples(f, M, this.cfg.quantiles, this.cfg.samplesPerQuantile)
          .forEach((list, q) => add(`quantile_${q + 1}`, list.map(toSample)));
      }
      add(
        'non_activating',
        this.pool.draw(f, this.cfg.nonActivating).map((contextIndex) => {
          used.add(contextIndex);
          return { contextIndex, positions: new Int32Array(0), values: new Float32Array(0), maxActivation: 0 };
        }),
      );
      const n = count[f]!;
      features.push({
        index: f,
        actCount: n,
        frequency: tokensAnalysed > 0 ? n / tokensAnalysed : 0,
        maxActivation: M,
        meanActivation: n > 0 ? sum[f]! / n : 0,
        histogram: this.stats.histogram(f),
        samplings,
      });
    }
    const contexts = [...used]
      .sort((a, b) => a - b)
      .map((contextIndex) => ({ contextIndex, tokens: Int32Array.from(this.store.tokens(contextIndex)) }));
    return { features, contexts };
  }

  /** Groups entries by feature into groupedPos/groupedVal; returns how many features the window touched. */
  private group(feature: Int32Array, position: Int32Array, value: Float32Array, start: number, end: number): number {
    const n = end - start;
    if (this.groupedPos.length < n) {
      this.groupedPos = new Int32Array(2 * n);
      this.groupedVal = new Float32Array(2 * n);
    }
    let nTouched = 0;
    for (let i = start; i < end; i++) {
      const f = feature[i]!;
      if (this.slotOf[f] === -1) {
        if (nTouched === this.touched.length) {
          const grown = new Int32Array(2 * nTouched);
          grown.set(this.touched);
          this.touched = grown;
          this.offsets = new Int32Array(2 * nTouched + 1);
        }
        this.slotOf[f] = nTouched;
        this.touched[nTouched++] = f;
      }
    }
    const off = this.offsets;
    off.fill(0, 0, nTouched + 1);
    for (let i = start; i < end; i++) off[this.slotOf[feature[i]!]! + 1]!++;
    for (let t = 0; t < nTouched; t++) off[t + 1]! += off[t]!;
    // Scatter with a moving cursor per slot, then shift the cursors back to the group starts.
    for (let i = start; i < end; i++) {
      const at = off[this.slotOf[feature[i]!]!]!++;
      this.groupedPos[at] = position[i]!;
      this.groupedVal[at] = value[i]!;
    }
    for (let t = nTouched; t > 0; t--) off[t] = off[t - 1]!;
    off[0] = 0;
    return nTouched;
  }
}

// Per-feature running statistics of non-zero activations in flat arrays: count, sum, max, and a linear
// histogram over a range that doubles instead of clamping. Feature f's range starts at
// U_f = headroom × (max of the first context it fires on) and doubles (bins 2i, 2i+1 merge into i) whenever an
// activation reaches it, so no value is ever clamped and at the end U_f ∈ [M_f, 2M_f): at least half the bins
// cover [0, M_f]. The same U_f drives the quantile bands (band-reservoirs.ts).

export class FeatureStats {
  readonly count: Float64Array; // [F]
  readonly sum: Float64Array; // [F]
  readonly max: Float32Array; // [F]
  /** U_f, 0 until the feature first fires. */
  readonly upper: Float64Array; // [F]
  private readonly hist: Uint32Array; // [F * H]

  constructor(
    readonly features: number,
    readonly bins: number,
    readonly headroom: number,
  ) {
    this.count = new Float64Array(features);
    this.sum = new Float64Array(features);
    this.max = new Float32Array(features);
    this.upper = new Float64Array(features);
    this.hist = new Uint32Array(features * bins);
  }

  /** Makes U_f > max (setting it on first use); returns how many times it doubled. */
  ensureRange(f: number, max: number): number {
    let u = this.upper[f]!;
    if (u === 0) {
      this.upper[f] = max * this.headroom;
      return 0;
    }
    let doublings = 0;
    while (max >= u) {
      this.mergeBins(f);
      u *= 2;
      doublings++;
    }
    this.upper[f] = u;
    return doublings;
  }

  /** Adds activations values[start, end) of feature f (all > 0 and < U_f). */
  add(f: number, values: ArrayLike<number>, start: number, end: number): void {
    const H = this.bins;
    const scale = H / this.upper[f]!;
    const base = f * H;
    let sum = 0;
    let max = this.max[f]!;
    for (let i = start; i < end; i++) {
      const v = values[i]!;
      sum += v;
      if (v > max) max = v;
      this.hist[base + Math.min(H - 1, Math.floor(v * scale))]!++;
    }
    this.count[f]! += end - start;
    this.sum[f]! += sum;
    this.max[f] = max;
  }

  /** Bins from the first to the last non-empty one; `edges` has one more entry than `counts`. */
  histogram(f: number): { edges: number[]; counts: number[] } {
    const H = this.bins;
    const row = this.hist.subarray(f * H, (f + 1) * H);
    let first = 0;
    while (first < H && row[first] === 0) first++;
    if (first === H) return { edges: [0], counts: [] };
    let last = H - 1;
    while (row[last] === 0) last--;
    const width = this.upper[f]! / H;
    const edges: number[] = [];
    for (let i = first; i <= last + 1; i++) edges.push(i * width);
    return { edges, counts: Array.from(row.subarray(first, last + 1)) };
  }

  private mergeBins(f: number): void {
    const H = this.bins;
    const base = f * H;
    for (let i = 0; i < H / 2; i++) this.hist[base + i] = this.hist[base + 2 * i]! + this.hist[base + 2 * i + 1]!;
    this.hist.fill(0, base + H / 2, base + H);
  }
}

// Quantile-bucket sampling in bounded memory. The buckets are relative to a feature's final max M, unknown
// while streaming, so candidates are kept per fixed activation band instead: feature f's range [0, U_f) is cut
// into B equal bands and each band keeps a uniform reservoir (Vitter's Algorithm R) of the contexts whose max
// fell in it, with the count it has seen. When a context exceeds U_f, U_f doubles and bands 2j, 2j+1 merge into
// band j by an exact reservoir merge (hypergeometric split of the c slots). At the end U_f ∈ [M, 2M), so
// bucket q = ((q−1)M/Q, qM/Q] overlaps a few bands. Its samples are drawn as from the union of those bands'
// populations: one draw at a time, a band is chosen with probability ∝ its population not yet drawn, then one
// of its kept contexts inside the bucket uniformly. That is an exact uniform sample of the bucket when the
// bands lie wholly inside it; a band cut by the bucket edge stands for seen × (share of its kept contexts
// inside the bucket), an unbiased estimate. A bucket can come out short of samples only when its bands kept
// too few contexts inside it (rare with the defaults B = 24, c = 5).
import type { Mt19937 } from '../data/random/mt19937';
import type { ContextStore, SampleData } from './context-store';

export class BandReservoirs {
  private readonly seen: Float64Array; // [F * B]
  private readonly slots: (SampleData | undefined)[]; // [F * B * c]

  constructor(
    readonly features: number,
    readonly bands: number,
    readonly capacity: number,
    private readonly store: ContextStore,
    private readonly rng: Mt19937,
  ) {
    this.seen = new Float64Array(features * bands);
    this.slots = new Array<SampleData | undefined>(features * bands * capacity);
  }

  bandOf(max: number, upper: number): number {
    return Math.min(this.bands - 1, Math.floor((max / upper) * this.bands));
  }

  /** Counts one context in (f, band) and returns the slot it takes, or −1 (Algorithm R). */
  offer(f: number, band: number): number {
    const c = this.capacity;
    if (c === 0) return -1;
    const seen = ++this.seen[f * this.bands + band]!;
    if (seen <= c) return seen - 1;
    const r = Math.floor(this.rng.nextFloat53() * seen);
    return r < c ? r : -1;
  }

  place(f: number, band: number, slot: number, s: SampleData): void {
    const at = (f * this.bands + band) * this.capacity + slot;
    const old = this.slots[at];
    this.store.hold(s);
    if (old) this.store.drop(old);
    this.slots[at] = s;
  }

  /** U_f doubled: bands 2j and 2j+1 become band j; the upper half empties. */
  doubleRange(f: number): void {
    const B = this.bands;
    const c = this.capacity;
    for (let j = 0; j < B / 2; j++) {
      const a = this.take(f, 2 * j);
      const b = this.take(f, 2 * j + 1);
      const merged = this.merge(a.items, a.seen, b.items, b.seen);
      this.seen[f * B + j] = a.seen + b.seen;
      merged.forEach((s, i) => (this.slots[(f * B + j) * c + i] = s));
    }
  }

  /**
   * Up to `perBucket` contexts per bucket q = 1…Q of ((q−1)M/Q, qM/Q], each list strongest first.
   * `maxActivation` of every kept sample is ≤ M.
   */
  quantileSamples(f: number, M: number, Q: number, perBucket: number): SampleData[][] {
    // Per bucket, per band: the band's kept contexts inside the bucket and the population they stand for.
    const groups: { items: SampleData[]; population: number }[][] = Array.from({ length: Q }, () => []);
    const B = this.bands;
    const c = this.capacity;
    for (let j = 0; j < B; j++) {
      const seen = this.seen[f * B + j]!;
      const kept = Math.min(seen, c);
      const byBucket = new Map<number, SampleData[]>();
      for (let i = 0; i < kept; i++) {
        const s = this.slots[(f * B + j) * c + i]!;
        const q = quantileBucket(s.maxActivation, M, Q);
        byBucket.set(q, [...(byBucket.get(q) ?? []), s]);
      }
      for (const [q, items] of byBucket) groups[q - 1]!.push({ items, population: (seen * items.length) / kept });
    }
    return groups.map((g) =>
      this.drawFromBands(g, perBucket).sort(
        (x, y) => y.maxActivation - x.maxActivation || x.contextIndex - y.contextIndex,
      ),
    );
  }

  /**
   * n draws without replacement from the union of the bands' populations (a multivariate hypergeometric over
   * bands, one draw at a time), each realised by a uniform pick among that band's kept contexts.
   */
  private drawFromBands(groups: { items: SampleData[]; population: number }[], n: number): SampleData[] {
    const out: SampleData[] = [];
    const left = groups.map((g) => g.population);
    const items = groups.map((g) => [...g.items]);
    while (out.length < n) {
      let total = 0;
      for (let g = 0; g < groups.length; g++) if (items[g]!.length > 0) total += left[g]!;
      if (total <= 0) break;
      let r = this.rng.nextFloat53() * total;
      let g = -1;
      for (let k = 0; k < groups.length; k++) {
        if (items[k]!.length === 0) continue;
        g = k;
        if (r < left[k]!) break;
        r -= left[k]!;
      }
      const pool = items[g]!;
      const i = Math.floor(this.rng.nextFloat53() * pool.length);
      out.push(pool[i]!);
      pool[i] = pool[pool.length - 1]!;
      pool.pop();
      left[g] = Math.max(0, left[g]! - 1);
    }
    return out;
  }

  private take(f: number, band: number): { items: SampleData[]; seen: number } {
    const at = (f * this.bands + band) * this.capacity;
    const seen = this.seen[f * this.bands + band]!;
    const kept = Math.min(seen, this.capacity);
    const items = this.slots.slice(at, at + kept) as SampleData[];
    for (let i = 0; i < this.capacity; i++) this.slots[at + i] = undefined;
    this.seen[f * this.bands + band] = 0;
    return { items, seen };
  }

  /** A uniform sample of size min(c, n1 + n2) of the union, from uniform samples of each part. */
  private merge(r1: SampleData[], n1: number, r2: SampleData[], n2: number): SampleData[] {
    const c = this.capacity;
    if (n1 + n2 <= c) return [...r1, ...r2];
    // How many of the c draws come from part 1: hypergeometric(c; n1, n2), drawn one by one.
    let k1 = 0;
    for (let i = 0, a = n1, b = n2; i < c; i++) {
      if (this.rng.nextFloat53() * (a + b) < a) {
        k1++;
        a--;
      } else b--;
    }
    const kept = [...this.pick(r1, k1), ...this.pick(r2, c - k1)];
    return kept;
  }

  /** k items of `items` uniformly at random (partial Fisher–Yates); the rest are dropped. */
  private pick(items: SampleData[], k: number): SampleData[] {
    for (let i = 0; i < k; i++) {
      const j = i + Math.floor(this.rng.nextFloat53() * (items.length - i));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    for (let i = k; i < items.length; i++) this.store.drop(items[i]!);
    return items.slice(0, k);
  }
}

/** The bucket q ∈ 1…Q with (q−1)M/Q < a ≤ qM/Q (a in (0, M]). */
export function quantileBucket(a: number, M: number, Q: number): number {
  let q = Math.min(Q, Math.max(1, Math.ceil((a * Q) / M)));
  while (q > 1 && a <= ((q - 1) * M) / Q) q--;
  while (q < Q && a > (q * M) / Q) q++;
  return q;
}

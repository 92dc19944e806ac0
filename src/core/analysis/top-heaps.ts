// One fixed-capacity min-heap per feature, keyed by a context's max activation, in flat arrays (no per-feature
// objects): the root is the weakest kept context, so most candidates are rejected by one comparison.
import type { ContextStore, SampleData } from './context-store';

export class TopHeaps {
  private readonly keys: Float32Array; // [F * N]
  private readonly items: (SampleData | undefined)[]; // [F * N]
  private readonly size: Uint16Array; // [F]

  constructor(
    readonly features: number,
    readonly capacity: number,
    private readonly store: ContextStore,
  ) {
    this.keys = new Float32Array(features * capacity);
    this.items = new Array<SampleData | undefined>(features * capacity);
    this.size = new Uint16Array(features);
  }

  /** Would a context with this max enter feature f's heap? (Ties keep the earlier context.) */
  accepts(f: number, max: number): boolean {
    if (this.capacity === 0) return false;
    return this.size[f]! < this.capacity || max > this.keys[f * this.capacity]!;
  }

  /** Inserts (call only when `accepts`), evicting the weakest context when full. */
  push(f: number, s: SampleData): void {
    const N = this.capacity;
    const base = f * N;
    const n = this.size[f]!;
    this.store.hold(s);
    if (n < N) {
      this.size[f] = n + 1;
      this.siftUp(base, n, s.maxActivation, s);
      return;
    }
    this.store.drop(this.items[base]!);
    this.siftDown(base, N, s.maxActivation, s);
  }

  /** Feature f's kept samples, strongest first (ties: lower context index first). */
  sorted(f: number): SampleData[] {
    const base = f * this.capacity;
    const out = this.items.slice(base, base + this.size[f]!) as SampleData[];
    return out.sort((a, b) => b.maxActivation - a.maxActivation || a.contextIndex - b.contextIndex);
  }

  private siftUp(base: number, i: number, key: number, s: SampleData): void {
    const keys = this.keys;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[base + parent]! <= key) break;
      keys[base + i] = keys[base + parent]!;
      this.items[base + i] = this.items[base + parent];
      i = parent;
    }
    keys[base + i] = key;
    this.items[base + i] = s;
  }

  /** Replaces the root with (key, s) and restores the heap over n items. */
  private siftDown(base: number, n: number, key: number, s: SampleData): void {
    const keys = this.keys;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[base + c + 1]! < keys[base + c]!) c++;
      if (keys[base + c]! >= key) break;
      keys[base + i] = keys[base + c]!;
      this.items[base + i] = this.items[base + c];
      i = c;
    }
    keys[base + i] = key;
    this.items[base + i] = s;
  }
}

// Non-activating contexts without per-feature state: one reservoir (Algorithm R) of windows shared by all
// features, each remembering which features fired on it. A uniform sample of all windows, restricted to those
// where f stayed silent, is a uniform sample of f's non-activating windows, so f's `non_activating` samples are
// drawn from the pool at the end. Memory: pool size × (tokens + features fired), independent of N and of F.
import type { Mt19937 } from '../data/random/mt19937';
import type { ContextStore } from './context-store';

interface PoolEntry {
  contextIndex: number;
  /** Features that fired on the window, ascending. */
  fired: Int32Array;
}

export class NonActivatingPool {
  private readonly entries: PoolEntry[] = [];
  private seen = 0;

  constructor(
    readonly capacity: number,
    private readonly store: ContextStore,
    private readonly rng: Mt19937,
  ) {}

  /** Offers a window; `fired` is read only when it is kept. */
  offer(contextIndex: number, tokens: ArrayLike<number>, fired: () => Int32Array): void {
    if (this.capacity === 0) return;
    const seen = ++this.seen;
    let slot = seen - 1;
    if (seen > this.capacity) {
      slot = Math.floor(this.rng.nextFloat53() * seen);
      if (slot >= this.capacity) return;
      this.store.release(this.entries[slot]!.contextIndex);
    }
    this.store.acquire(contextIndex, tokens);
    this.entries[slot] = { contextIndex, fired: fired().sort() };
  }

  /** Up to n pooled windows on which feature f never fired, uniformly at random, in context order. */
  draw(f: number, n: number): number[] {
    const silent = this.entries.filter((e) => !sortedHas(e.fired, f)).map((e) => e.contextIndex);
    for (let i = 0; i < Math.min(n, silent.length); i++) {
      const j = i + Math.floor(this.rng.nextFloat53() * (silent.length - i));
      [silent[i], silent[j]] = [silent[j]!, silent[i]!];
    }
    return silent.slice(0, n).sort((a, b) => a - b);
  }
}

function sortedHas(a: Int32Array, x: number): boolean {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < a.length && a[lo] === x;
}

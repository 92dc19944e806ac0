// Seeded sampling and shuffling for the scorers' example selection (lm-saes uses Python's random.sample and
// random.shuffle; the same draws without replacement and uniform permutations, from our MT19937).
import { Mt19937 } from '../data/random/mt19937';

export class SeededRandom {
  private readonly mt: Mt19937;

  constructor(seed: number) {
    this.mt = new Mt19937(seed >>> 0);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.mt.nextFloat53() * n);
  }

  /** A uniform permutation, in place (Fisher–Yates). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  /** k distinct items in random order (random.sample). */
  sample<T>(items: readonly T[], k: number): T[] {
    return this.shuffle([...items]).slice(0, Math.min(k, items.length));
  }

  bool(): boolean {
    return this.mt.nextFloat53() < 0.5;
  }
}

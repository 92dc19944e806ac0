import { describe, expect, it } from 'vitest';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import { torchRandperm } from '../../../src/core/data/random/torch-randperm';

describe('MT19937', () => {
  it('matches numpy RandomState (init_genrand seeding) bit for bit', () => {
    // np.random.RandomState(s).randint(0, 2**32, size=5, dtype=np.uint64)
    const take = (seed: number) => {
      const rng = new Mt19937(seed);
      return Array.from({ length: 5 }, () => rng.nextUint32());
    };
    expect(take(5489)).toEqual([3499211612, 581869302, 3890346734, 3586334585, 545404204]);
    expect(take(0)).toEqual([2357136044, 2546248239, 3071714933, 3626093760, 2588848963]);
  });

  it('draws 53-bit doubles like numpy random_sample', () => {
    const rng = new Mt19937(0);
    expect([rng.nextFloat53(), rng.nextFloat53(), rng.nextFloat53()]).toEqual([
      0.5488135039273248, 0.7151893663724195, 0.6027633760716439,
    ]);
  });

  it('rejects seeds outside 32 bits', () => {
    expect(() => new Mt19937(-1)).toThrow(/seed -1/);
    expect(() => new Mt19937(2 ** 32)).toThrow(/seed/);
  });
});

describe('torchRandperm', () => {
  it('is a permutation, the same for the same seed', () => {
    const p = torchRandperm(1000, 7);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(torchRandperm(1000, 7)).toEqual(p);
    expect(torchRandperm(1000, 8)).not.toEqual(p);
    expect([...torchRandperm(1, 0)]).toEqual([0]);
    expect(torchRandperm(0, 0).length).toBe(0);
  });

  it('swaps forward with mt19937() % (n - i), as randperm_cpu does', () => {
    const rng = new Mt19937(0);
    const r = [0, 1, 2, 3, 4];
    for (let i = 0; i < 4; i++) {
      const j = i + (rng.nextUint32() % (5 - i));
      [r[i], r[j]] = [r[j]!, r[i]!];
    }
    expect([...torchRandperm(5, 0)]).toEqual(r);
  });
});

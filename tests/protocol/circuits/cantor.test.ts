// Cantor pairing of (layer, feature index) for the graph JSON's `feature` field (spec §8.7).
import { describe, expect, it } from 'vitest';
import { cantorPair, cantorUnpair } from '../../../src/protocol/circuits/cantor';

describe('cantor pairing', () => {
  it('round-trips every (L, idx) with L < 64 and idx < 4096, and is a bijection onto 0…', () => {
    const seen = new Set<number>();
    for (let layer = 0; layer < 64; layer++) {
      for (let index = 0; index < 4096; index++) {
        const z = cantorPair(layer, index);
        const back = cantorUnpair(z);
        if (back.layer !== layer || back.index !== index) expect(back).toEqual({ layer, index });
        seen.add(z);
      }
    }
    expect(seen.size).toBe(64 * 4096);
  });

  it('decodes every z below 200,000 to a pair that encodes it', () => {
    for (let z = 0; z < 200_000; z++) {
      const { layer, index } = cantorUnpair(z);
      if (cantorPair(layer, index) !== z) expect({ z, pair: cantorPair(layer, index) }).toEqual({ z, pair: z });
    }
  });

  it('matches circuit-tracer: (L + idx)(L + idx + 1)/2 + idx, e.g. layer 0 feature 928 → 431984', () => {
    expect(cantorPair(0, 928)).toBe(431984);
    expect(cantorPair(25, 16383)).toBe(((25 + 16383) * (25 + 16384)) / 2 + 16383);
    expect(cantorUnpair(431984)).toEqual({ layer: 0, index: 928 });
  });

  it('stays exact near 2^53, where √(8z+1) rounds', () => {
    for (const [layer, index] of [
      [5, 134_217_000],
      [134_217_000, 3],
      [67_000_000, 67_000_000],
    ] as const) {
      expect(cantorUnpair(cantorPair(layer, index))).toEqual({ layer, index });
    }
  });

  it('refuses negative, fractional and unsafe inputs', () => {
    expect(() => cantorPair(-1, 0)).toThrow('layer must be a non-negative integer, got -1');
    expect(() => cantorPair(0, 1.5)).toThrow('index must be a non-negative integer, got 1.5');
    expect(() => cantorUnpair(-3)).toThrow('feature must be a non-negative integer, got -3');
    expect(() => cantorPair(2 ** 30, 2 ** 30)).toThrow(/exceeds 2\^53/);
  });
});

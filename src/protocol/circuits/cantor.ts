// The Cantor pairing that packs (layer, feature index) into the graph JSON's `feature` field (schema_version 1,
// circuit-tracer and Neuronpedia; spec §6.6, §8.7): z = (L + idx)(L + idx + 1)/2 + idx.

/** Largest z for which pairing and decoding stay exact in float64 arithmetic. */
export const MAX_CANTOR = Number.MAX_SAFE_INTEGER;

function checkIndex(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`cantor pairing: ${name} must be a non-negative integer, got ${value}`);
  }
}

export function cantorPair(layer: number, index: number): number {
  checkIndex(layer, 'layer');
  checkIndex(index, 'index');
  const w = layer + index;
  const z = (w * (w + 1)) / 2 + index;
  if (!Number.isSafeInteger(z)) throw new RangeError(`cantor pairing: (${layer}, ${index}) exceeds 2^53`);
  return z;
}

/**
 * The inverse: w = ⌊(√(8z + 1) − 1)/2⌋, t = w(w + 1)/2, index = z − t, layer = w − index. The square root is
 * corrected by ±1 steps, so the result is exact for every safe integer z.
 */
export function cantorUnpair(z: number): { layer: number; index: number } {
  checkIndex(z, 'feature');
  let w = Math.floor((Math.sqrt(8 * z + 1) - 1) / 2);
  while ((w * (w + 1)) / 2 > z) w--;
  while (((w + 1) * (w + 2)) / 2 <= z) w++;
  const index = z - (w * (w + 1)) / 2;
  return { layer: w - index, index };
}

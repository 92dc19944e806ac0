// Decoder cosine neighbours: duplicated (and rescaled) rows find each other, a row never lists itself, zero rows
// give cosine 0, and block-wise results match the plain reference.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { decoderNeighbours } from '../../../src/core/analysis/decoder-neighbours';
import { referenceCosine } from '../../../src/core/analysis/reference';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { tensorCount } from './helpers';

const F = 50;
const d = 16;

function decoder(): Float32Array {
  const rng = new Mt19937(4);
  const W = Float32Array.from({ length: F * d }, () => rng.nextFloat53() * 2 - 1);
  const copy = (to: number, from: number, k: number) =>
    W.set(
      W.subarray(from * d, (from + 1) * d).map((v) => k * v),
      to * d,
    );
  copy(17, 5, 1); // duplicate
  copy(30, 9, 3); // rescaled duplicate
  copy(40, 2, -1); // opposite: the least similar, never a neighbour
  W.fill(0, 0, d); // a dead row
  return W;
}

describeEachBackend('decoder neighbours', () => {
  it('pairs duplicated rows, never lists a row itself, and matches the reference block by block', async () => {
    const W = decoder();
    const t = tf.tensor2d(W, [F, d]);
    const before = tensorCount();
    const nb = await decoderNeighbours(t, { m: 4, blockElements: 7 * F }); // 7 rows per block
    expect(tensorCount()).toBe(before);
    t.dispose();
    const list = (f: number) => Array.from(nb.index.subarray(f * 4, f * 4 + 4));
    const cos = (f: number) => nb.cosine.subarray(f * 4, f * 4 + 4);
    for (const [a, b] of [
      [5, 17],
      [17, 5],
      [9, 30],
      [30, 9],
    ] as const) {
      expect(list(a)[0], `${a}'s nearest`).toBe(b);
      expect(cos(a)[0]).toBeCloseTo(1, 5);
    }
    expect(list(2)).not.toContain(40);
    for (let f = 0; f < F; f++) expect(list(f)).not.toContain(f);
    expectClose(cos(0), [0, 0, 0, 0], { rtol: 0, label: 'dead row cosines' });
    for (let f = 1; f < F; f++) {
      const ref = Array.from({ length: F }, (_, j) => (j === f ? -Infinity : referenceCosine(W, d, f, j)));
      const order = Array.from({ length: F }, (_, j) => j).sort((a, b) => ref[b]! - ref[a]!);
      expectClose(
        cos(f),
        order.slice(0, 4).map((j) => ref[j]!),
        { rtol: 1e-5, label: `row ${f} cosines` },
      );
      for (const [i, j] of list(f).entries()) expect(Math.abs(ref[j]! - cos(f)[i]!)).toBeLessThan(1e-5);
    }
  });

  it('caps m at F − 1', async () => {
    const t = tf.tensor2d(decoder().subarray(0, 3 * d), [3, d]);
    const nb = await decoderNeighbours(t, { m: 10 });
    t.dispose();
    expect(nb.m).toBe(2);
    expect(Array.from(nb.index.subarray(0, 2)).sort()).toEqual([1, 2]);
  });
});

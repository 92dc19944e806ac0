// Comparing two decoders on hand-made directions: a feature of A split into two of B, a new feature of B, one of A
// gone, mutual-nearest pairs; the block-wise tensor path matches the plain reference on random decoders.
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { compareDecoders, referenceBestMatches } from '../../../src/core/analysis/compare-decoders';
import { Mt19937 } from '../../../src/core/data/random/mt19937';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';

const d = 8;
const e = (i: number, scale = 1) => Array.from({ length: d }, (_, j) => (j === i ? scale : 0));
const add = (x: number[], y: number[]) => x.map((v, j) => v + y[j]!);

// A: four basis directions. B: e0 again (rescaled), e1 split into e1 + 0.3·e4 and e1 + 0.4·e5, e2 again, and e6
// (new: orthogonal to all of A). A's e3 has no counterpart in B.
const A = [e(0), e(1), e(2), e(3)];
const B = [e(0, 3), add(e(1), e(4, 0.3)), add(e(1), e(5, 0.4)), add(e(2, 2), e(7, 0.05)), e(6)];

describeEachBackend('compareDecoders', () => {
  it('finds the split, the new feature, the gone one and the mutual pairs', async () => {
    const before = tf.memory().numTensors;
    const [ta, tb] = [tf.tensor2d(A), tf.tensor2d(B)];
    const c = await compareDecoders(ta, tb, { threshold: 0.7, blockElements: 3 }); // blocks of one row
    tf.dispose([ta, tb]);
    expect(tf.memory().numTensors).toBe(before);
    expect(c.splits).toHaveLength(1);
    expect(c.splits[0]?.a).toBe(1);
    expect(c.splits[0]?.children.map((x) => x.b)).toEqual([1, 2]);
    expect(c.splits[0]?.children[0]?.cosine).toBeCloseTo(1 / Math.sqrt(1.09), 5);
    expect(c.splits[0]?.children[1]?.cosine).toBeCloseTo(1 / Math.sqrt(1.16), 5);
    expect(c.newInB.map((x) => x.b)).toEqual([4]);
    expect(c.newInB[0]?.cosine).toBeCloseTo(0, 6);
    expect(c.goneFromA.map((x) => x.a)).toEqual([3]);
    expect(c.mutual.map((p) => [p.a, p.b])).toEqual([
      [0, 0],
      [2, 3],
      [1, 1],
    ]);
    expect(Array.from(c.bToA.index.slice(0, 4))).toEqual([0, 1, 1, 2]);
  });

  it('matches the Float32Array reference on random decoders', async () => {
    const rng = new Mt19937(7);
    const rand = (n: number) => Float32Array.from({ length: n * 16 }, () => rng.nextFloat53() * 2 - 1);
    const [a, b] = [rand(37), rand(53)];
    const [ta, tb] = [tf.tensor2d(a, [37, 16]), tf.tensor2d(b, [53, 16])];
    const c = await compareDecoders(ta, tb, { threshold: 0.5, blockElements: 200 });
    tf.dispose([ta, tb]);
    const refAB = referenceBestMatches(a, b, 16);
    const refBA = referenceBestMatches(b, a, 16);
    expect(Array.from(c.aToB.index)).toEqual(Array.from(refAB.index));
    expect(Array.from(c.bToA.index)).toEqual(Array.from(refBA.index));
    expectClose(c.aToB.cosine, refAB.cosine, { rtol: 1e-4, label: 'cosine A→B' });
    expectClose(c.bToA.cosine, refBA.cosine, { rtol: 1e-4, label: 'cosine B→A' });
  });
});

it('refuses decoders of different widths in one line', async () => {
  const [ta, tb] = [tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([2, 5]) as tf.Tensor2D];
  await expect(compareDecoders(ta, tb)).rejects.toThrow(/d_model 4 and 5/);
  tf.dispose([ta, tb]);
});

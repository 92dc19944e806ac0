import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  averageNormOfStream,
  createModelActivationStream,
  datasetNormScale,
  estimateAverageNorm,
} from '../../../src/core/activations';
import { addRowsAndNorms } from '../../../src/core/activations/average-norm';
import { keptPositions, tokenMask } from '../../../src/core/data/masks';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import { initBackend } from '../../../src/core/tensor/backend';
import { archFixture } from '../../helpers/fixtures';
import { BOS, PAD, syntheticWindows, take } from './helpers';

const A = 'blocks.0.hook_resid_post';
const B = 'blocks.1.hook_resid_post';
const windows = syntheticWindows(12, 32);
const mask = { bosId: BOS, padId: PAD };

describe('dataset-wise average norm', () => {
  let model: HookedTransformer;
  beforeAll(async () => {
    await initBackend('wasm');
    model = loadModel(archFixture('gpt2')).model;
  });
  afterAll(() => model.dispose());

  /** Plain reference: one forward pass over all windows, norms of the first n kept tokens in window order. */
  async function direct(hook: string, n: number): Promise<number> {
    const { cache } = model.runWithCache(windows, [hook]);
    const acts = (await cache[hook]!.data()) as Float32Array;
    tf.dispose(Object.values(cache));
    const kept = keptPositions(tokenMask(windows, mask), windows.seq);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const at = kept.window[i]! * windows.seq + kept.position[i]!;
      let sq = 0;
      for (let j = 0; j < 64; j++) sq += acts[at * 64 + j]! ** 2;
      total += Math.sqrt(sq);
    }
    return total / n;
  }

  it('equals a direct computation over the first n kept tokens, per hook point', async () => {
    for (const n of [1, 100, 250]) {
      const est = await estimateAverageNorm({
        model,
        windows,
        hookPoints: [A, B],
        mask,
        nTokens: n,
        modelBatchSize: 5,
      });
      expect(est.tokens).toBe(n);
      expect(est.norms[A]).toBeCloseTo(await direct(A, n), 4);
      expect(est.norms[B]).toBeCloseTo(await direct(B, n), 4);
    }
    const all = await estimateAverageNorm({ model, windows, hookPoints: [A], mask, nTokens: 1e9, modelBatchSize: 5 });
    expect(all.tokens).toBe(keptPositions(tokenMask(windows, mask), 32).window.length);
  });

  it('also gives the mean activation vector of the same tokens, per hook point (for a b_D initialisation)', async () => {
    const n = 150;
    const est = await estimateAverageNorm({ model, windows, hookPoints: [A, B], mask, nTokens: n, modelBatchSize: 5 });
    for (const hook of [A, B]) {
      const { cache } = model.runWithCache(windows, [hook]);
      const acts = (await cache[hook]!.data()) as Float32Array;
      tf.dispose(Object.values(cache));
      const kept = keptPositions(tokenMask(windows, mask), windows.seq);
      const want = new Float64Array(64);
      for (let i = 0; i < n; i++) {
        const at = kept.window[i]! * windows.seq + kept.position[i]!;
        for (let j = 0; j < 64; j++) want[j]! += acts[at * 64 + j]! / n;
      }
      expect(est.means[hook]!.length).toBe(64);
      est.means[hook]!.forEach((v, j) => expect(v).toBeCloseTo(want[j]!, 5));
    }
  });

  it('gives the same mean from an unshuffled stream, and the lm-saes scale sqrt(d) / mean', async () => {
    const est = await estimateAverageNorm({ model, windows, hookPoints: [B], mask, nTokens: 200, modelBatchSize: 4 });
    const stream = await createModelActivationStream({
      model,
      windows,
      hookPoints: [B],
      mask,
      batchSize: 64,
      groupWindows: 3,
      modelBatchSize: 4,
      seed: 0,
      shuffle: false,
    });
    const fromStream = await averageNormOfStream(stream, 200);
    expect(fromStream.tokens).toBe(200);
    expect(fromStream.norms[B]).toBeCloseTo(est.norms[B]!, 5);
    expect(datasetNormScale(est.norms[B]!, 64)).toBeCloseTo(8 / est.norms[B]!, 10);
    expect(() => datasetNormScale(0, 64)).toThrow(/expected a finite number > 0/);
  });

  it('does not disturb a training stream created beside it', async () => {
    const opts = { model, windows, hookPoints: [B], mask, batchSize: 64, groupWindows: 3, modelBatchSize: 4, seed: 5 };
    const s1 = await createModelActivationStream(opts);
    const first = await take(s1, 2);
    await estimateAverageNorm({ model, windows, hookPoints: [B], mask, nTokens: 300, modelBatchSize: 4 });
    const rest = await take(s1);
    const s2 = await take(await createModelActivationStream(opts));
    expect([...first, ...rest].map((b) => Array.from(b.origin!))).toEqual(s2.map((b) => Array.from(b.origin!)));
  });

  it('sums norms and rows in one loop exactly as two loops of their own do (bit for bit)', () => {
    for (const [d, rows] of [
      [64, 37],
      [257, 5],
      [1, 9],
    ] as const) {
      const acts = new Float32Array((rows + 3) * d).map((_, i) => Math.sin(i * 12.9898) * 43758.5453);
      let norms = 0; // reference: Σ ‖row‖₂ then Σ row, each in float64, over the first `rows` rows
      for (let r = 0; r < rows; r++) {
        let sq = 0;
        for (const v of acts.subarray(r * d, (r + 1) * d)) sq += v * v;
        norms += Math.sqrt(sq);
      }
      const sum = new Float64Array(d).fill(0.25);
      for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) sum[j]! += acts[r * d + j]!;
      const acc = new Float64Array(d).fill(0.25);
      expect(addRowsAndNorms(acc, acts, d, rows)).toBe(norms);
      expect(Buffer.from(acc.buffer)).toEqual(Buffer.from(sum.buffer));
    }
  });
});

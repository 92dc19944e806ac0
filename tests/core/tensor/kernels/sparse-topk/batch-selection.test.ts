// BatchTopK's selection (tensor/kernels/sparse-topk/batch-selection.ts) in plain TypeScript, against sorts of the
// whole batch: the r-th largest by radix select, the passes that list every activation of the batch's B·k largest,
// and the codes laid out for the decoder.
import { describe, expect, it } from 'vitest';
import { normalGenerator } from '../../../../../src/core/lm/random-params';
import {
  batchCodes,
  rthLargestNonNegative,
  selectBatch,
  type RowsEncoder,
} from '../../../../../src/core/tensor/kernels/sparse-topk/batch-selection';

describe('BatchTopK selection', () => {
  it('finds the r-th largest of non-negative floats', () => {
    const n = normalGenerator(7);
    const v = new Float32Array(5000).map(() => Math.max(0, n()) * (n() > 1 ? 1e-30 : 1));
    // zeros (−0 too) and ties
    v[10] = 0;
    v[11] = 3.5;
    v[12] = 3.5;
    v[13] = -0;
    const sorted = [...v].sort((p, q) => q - p);
    for (const r of [1, 2, 3, 100, 2500, 4999, 5000])
      expect(rthLargestNonNegative(v, r) + 0, `r ${r}`).toBe(sorted[r - 1]! + 0); // (+ 0: −0 → 0)
    expect(() => rthLargestNonNegative(v, 0)).toThrow(/rank 0/);
  });

  /** An encoder over a dense [B, F] matrix: each asked row's top `width` by value (ties to the lower latent), in
   * latent order as the kernels give them; records the calls. */
  const denseEncoder =
    (m: Float32Array[], calls: Array<[number, number]>): RowsEncoder =>
    (rows, width) => {
      const ids = rows ?? m.map((_, r) => r);
      calls.push([ids.length, width]);
      const values = new Float32Array(ids.length * width),
        indices = new Int32Array(ids.length * width);
      ids.forEach((r, i) => {
        const top = Array.from(m[r]!, (v, j) => [Math.max(0, v), j] as const)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, width)
          .sort((a, b) => a[1] - b[1]);
        top.forEach(([v, j], s) => ((values[i * width + s] = v), (indices[i * width + s] = j)));
      });
      return { values, indices };
    };

  it("lists every activation of the batch's B·k largest, re-encoding only the tokens that may hold more", () => {
    const n = normalGenerator(9);
    const B = 64,
      F = 200,
      k = 4;
    // most rows ordinary, three "loud" ones scaled up: they hold far more than 2k of the batch's largest
    const m = Array.from({ length: B }, (_, r) => new Float32Array(F).map(() => n() * (r < 3 ? 5 : 1)));
    const calls: Array<[number, number]> = [];
    const sel = selectBatch(B, F, k, denseEncoder(m, calls));
    const all = m.flatMap((row) => Array.from(row, (v) => Math.max(0, v))).sort((a, b) => b - a);
    expect(sel.threshold).toBe(Math.fround(all[B * k - 1]!));
    for (let r = 0; r < B; r++) {
      const want = Array.from(m[r]!).flatMap((v, j) => (v > 0 && Math.fround(v) >= sel.threshold ? [j] : []));
      const got = Array.from(sel.indices[r]!).filter(
        (_, s) => sel.values[r]![s]! > 0 && sel.values[r]![s]! >= sel.threshold,
      );
      expect(got, `row ${r}`).toEqual(want);
    }
    expect(calls[0]).toEqual([B, 1.5 * k]); // every token at 1.5k first
    expect(calls.length).toBeGreaterThan(1); // the loud rows needed more
    for (let c = 1; c < calls.length; c++) {
      // then only tokens still short, at twice the slots each time
      expect(calls[c]![0], JSON.stringify(calls)).toBeLessThanOrEqual(c === 1 ? B / 2 : calls[c - 1]![0]);
      expect(calls[c]![1]).toBe(Math.min(F, 2 * calls[c - 1]![1]));
    }
  });

  it('takes a threshold of 0 when fewer than B·k activations are positive, keeps ties, and stops at d_sae slots', () => {
    // 8 positive activations for B·k = 12: the threshold is 0 and every positive one is kept
    const few = [
      Float32Array.of(5, -1, -1, -1, -1, -1),
      Float32Array.of(-1, 2, -1, -1, -1, -1),
      new Float32Array(6).fill(-1),
      new Float32Array(6).fill(1),
    ];
    const a = selectBatch(4, 6, 3, denseEncoder(few, [])); // (5 slots first, then all 6 for the row of 1s)
    expect(a.threshold).toBe(0);
    expect(a.values.map((v) => Array.from(v).filter((x) => x > 0).length)).toEqual([1, 1, 0, 6]);
    // B·k = 4 of which the first token holds eight equal values: all eight are kept (≥ t, as the dense mask), and
    // finding them takes the token's whole row (d_sae = 8 slots: 3, then 6, then 8), after which nothing can be
    // left out
    const calls: Array<[number, number]> = [];
    const b = selectBatch(
      2,
      8,
      2,
      denseEncoder([new Float32Array(8).fill(10), Float32Array.of(1, 2, -1, -1, -1, -1, -1, -1)], calls),
    );
    expect(b.threshold).toBe(10);
    expect(Array.from(b.values[0]!)).toEqual(new Array(8).fill(10));
    expect(calls).toEqual([
      [2, 3],
      [1, 6],
      [1, 8],
    ]);
  });

  it('lays the codes out by latent, kept first, the zeros on latents the token did not keep', () => {
    // token 0 keeps latents 4 and 1 (listed out of order, as the sgemm path's heap leaves them); token 1 keeps none
    const sel = {
      threshold: 2,
      values: [Float32Array.of(3, 1, 2.5), Float32Array.of(1.5, 0, 0)],
      indices: [Int32Array.of(4, 0, 1), Int32Array.of(2, 3, 5)],
    };
    const W = 4,
      F = 6;
    const v = new Float32Array(2 * W),
      idx = new Int32Array(2 * W),
      counts = new Float32Array(F);
    batchCodes(sel, W, v, idx, counts);
    expect(Array.from(v)).toEqual([2.5, 3, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(idx.subarray(0, 2))).toEqual([1, 4]);
    for (let r = 0; r < 2; r++)
      expect(new Set(idx.subarray(r * W, (r + 1) * W)).size, `row ${r}: no latent twice`).toBe(W);
    expect(Array.from(counts)).toEqual([0, 1, 0, 0, 1, 0]);
  });
});

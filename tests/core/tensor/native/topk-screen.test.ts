// The screened TopK encoder (native/src/topk_screen.c: 8-bit integer approximations with a rigorous error bound,
// fp32 recomputation of the candidates) against the sgemm path and against a float64 reference: it must select the
// same latents — the top-k of the pre-activations — on random data, exact ties, near-ties finer than the
// approximation, errors of the approximation aimed against the answer, rows of zeros, huge and tiny magnitudes,
// ragged shapes, and must step aside for non-finite inputs and d > 8192.
import { afterAll, describe, expect, it } from 'vitest';
import type { SparseTopKKernels } from '../../../../src/core/tensor/kernels/sparse-topk/host-batch-encode';
import { nativeLoad, randomArray, skipReason } from './helpers';

const K = nativeLoad.blas as unknown as
  (SparseTopKKernels & { topkScreening(on?: boolean): boolean; topkScreenStats(): number[] }) | null;
const screenable = !!K && typeof K.topkScreening === 'function' && K.topkScreening(true);

interface Case {
  x: Float32Array;
  W_E: Float32Array; // [d, F]
  b_E: Float32Array;
  bDec: Float32Array | null;
  B: number;
  d: number;
  F: number;
  k: number;
}

function encode(c: Case, screening: boolean) {
  K!.topkScreening(screening);
  const values = new Float32Array(c.B * c.k),
    indices = new Int32Array(c.B * c.k),
    fired = new Float32Array(c.F);
  K!.topkEncode(c.x, c.bDec, c.W_E, c.b_E, c.B, c.d, c.F, c.k, null, values, indices, fired);
  return { values, indices, fired };
}

/** pre = (x − b_dec) W_E + b_E in float64 for one token. */
function reference(c: Case, b: number): Float64Array {
  const pre = new Float64Array(c.F);
  for (let j = 0; j < c.F; j++) {
    let s = 0;
    for (let i = 0; i < c.d; i++) s += (c.x[b * c.d + i]! - (c.bDec ? c.bDec[i]! : 0)) * c.W_E[i * c.F + j]!;
    pre[j] = s + c.b_E[j]!;
  }
  return pre;
}

/**
 * The selected latents are a top-k of the float64 pre-activations, up to fp32 rounding: no latent left out
 * exceeds a selected one by more than `slack` (relative to the row's scale), and values match to that slack.
 */
function expectTopK(c: Case, out: { values: Float32Array; indices: Int32Array }, slack = 1e-5): void {
  for (let b = 0; b < c.B; b++) {
    const pre = reference(c, b);
    const scale = Math.max(1e-30, ...Array.from(pre, Math.abs));
    const chosen = new Set<number>();
    let weakest = Infinity;
    for (let j = 0; j < c.k; j++) {
      const idx = out.indices[b * c.k + j]!;
      expect(chosen.has(idx), `token ${b}: latent ${idx} chosen twice`).toBe(false);
      chosen.add(idx);
      weakest = Math.min(weakest, pre[idx]!);
      expect(
        Math.abs(out.values[b * c.k + j]! - Math.max(0, pre[idx]!)),
        `token ${b}, latent ${idx}: value`,
      ).toBeLessThanOrEqual(slack * scale);
    }
    for (let j = 0; j < c.F; j++)
      if (!chosen.has(j))
        expect(pre[j]! - weakest, `token ${b}: latent ${j} (${pre[j]}) left out above ${weakest}`).toBeLessThanOrEqual(
          slack * scale,
        );
  }
}

/** The same latents per token as the sgemm path (as sets), values within fp32 rounding. */
function expectSameAsExact(c: Case): void {
  const a = encode(c, false),
    s = encode(c, true);
  for (let b = 0; b < c.B; b++) {
    const row = (o: typeof a) =>
      new Map(Array.from({ length: c.k }, (_, j) => [o.indices[b * c.k + j]!, o.values[b * c.k + j]!]));
    const ra = row(a),
      rs = row(s);
    expect(
      [...rs.keys()].sort((p, q) => p - q),
      `token ${b}`,
    ).toEqual([...ra.keys()].sort((p, q) => p - q));
    for (const [j, v] of ra) expect(Math.abs(rs.get(j)! - v)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)));
  }
  expect(Array.from(s.fired)).toEqual(Array.from(a.fired));
}

function randomCase(
  B: number,
  d: number,
  F: number,
  k: number,
  seed: number,
  opts: { bias?: boolean; bDec?: boolean } = {},
): Case {
  const scale = 1 / Math.sqrt(d);
  return {
    B,
    d,
    F,
    k,
    x: randomArray(B * d, seed).map((v) => v * 3),
    W_E: randomArray(d * F, seed + 1).map((v) => v * scale),
    b_E: opts.bias === false ? new Float32Array(F) : randomArray(F, seed + 2).map((v) => v * 0.1),
    bDec: opts.bDec === false ? null : randomArray(d, seed + 3).map((v) => v * 0.1),
  };
}

afterAll(() => K?.topkScreening(true));

describe.skipIf(!K)(`screened TopK encoder: activation and random data${skipReason}`, () => {
  it(`is active where the CPU has AVX-512 VNNI (here: ${screenable ? 'yes' : 'no, so both paths below are the sgemm path'})`, () => {
    expect(K!.topkScreening(false)).toBe(false);
    expect(K!.topkScreening(true)).toBe(screenable);
  });

  it('selects the float64 top-k on random data, over ragged shapes', () => {
    const shapes = [
      [37, 33, 130, 7],
      [64, 256, 4096, 32],
      [5, 7, 70, 64],
      [16, 16, 64, 63],
      [9, 3, 1000, 1],
      [50, 256, 777, 200],
      [1, 2048, 512, 8],
      [3, 1, 100, 5],
    ] as const;
    for (const [B, d, F, k] of shapes) {
      const c = randomCase(B, d, F, k, B * 7 + F);
      expectTopK(c, encode(c, true));
      expectSameAsExact(c);
    }
  });
});

describe.skipIf(!K)(`screened TopK encoder: ties, near-ties and errors of the approximation${skipReason}`, () => {
  it('breaks exact ties like tf.topk: the lower latents', () => {
    // Small integers: every path computes the same exact values, so many latents tie exactly.
    const B = 24,
      d = 6,
      F = 200,
      k = 9;
    const ints = (n: number, seed: number, m: number) => randomArray(n, seed).map((v) => Math.round(v * m));
    const c: Case = { B, d, F, k, x: ints(B * d, 1, 2), W_E: ints(d * F, 2, 1), b_E: new Float32Array(F), bDec: null };
    const s = encode(c, true),
      e = encode(c, false);
    for (let b = 0; b < B; b++) {
      const sorted = (o: typeof s) => Array.from(o.indices.subarray(b * k, (b + 1) * k)).sort((p, q) => p - q);
      expect(sorted(s), `token ${b}`).toEqual(sorted(e));
    }
    expectTopK(c, s, 0);
  });

  it('resolves near-ties finer than the approximation (pre-activations 1e-6 apart) exactly', () => {
    // Every latent is one base column plus a perturbation far below 8-bit resolution (2⁻⁷): the screen cannot
    // order them, so nearly all become candidates and the fp32 recomputation decides.
    const B = 16,
      d = 64,
      F = 512,
      k = 16;
    const base = randomArray(d, 11);
    const jitter = randomArray(d * F, 12);
    const W_E = new Float32Array(d * F);
    for (let i = 0; i < d; i++) for (let j = 0; j < F; j++) W_E[i * F + j] = base[i]! + jitter[i * F + j]! * 1e-6;
    const c: Case = { B, d, F, k, x: randomArray(B * d, 13), W_E, b_E: new Float32Array(F), bDec: null };
    expectTopK(c, encode(c, true), 1e-6);
  });

  it('selects exactly where the approximation errs by a large part of its bound, in both directions', () => {
    // Each latent is w_j = c_j·x/‖x‖² ± u, u the unit direction of x's 8-bit rounding residual δx (orthogonal part):
    // its exact pre-activation is c_j (1e-4 apart, shuffled), while the screen's approximation x̃·w̃ is off by
    // ∓δx·u ≈ ∓‖δx‖ — the bound's own first term, ~40% of it here — lowering the latents that belong in the top-k
    // and raising the rest. Only a bound that holds keeps them; one shrunk to 0.3 of its size loses some.
    const d = 64,
      F = 1024,
      k = 24;
    for (let seed = 0; seed < 6; seed++) {
      const x = randomArray(d, 100 + seed).map((v) => v * 2);
      const xx = x.reduce((s, v) => s + v * v, 0);
      const sx = Math.max(...Array.from(x, Math.abs)) / 127;
      const r = Array.from(x, (v) => v - sx * Math.round(v / sx));
      const rx = r.reduce((s, v, i) => s + v * x[i]!, 0) / xx;
      const u = r.map((v, i) => v - rx * x[i]!);
      const un = Math.sqrt(u.reduce((s, v) => s + v * v, 0));
      const rank = Array.from({ length: F }, (_, j) => j).sort(
        (p, q) => Math.sin(p * 12.9898 + seed) - Math.sin(q * 12.9898 + seed),
      );
      const W_E = new Float32Array(d * F);
      for (let j = 0; j < F; j++) {
        const c = 1 + rank[j]! * 1e-4,
          sign = rank[j]! >= F - 2 * k ? 1 : -1; // the top 2k pushed down, the rest up
        for (let i = 0; i < d; i++) W_E[i * F + j] = (c / xx) * x[i]! + (sign * u[i]!) / un;
      }
      const c: Case = { B: 1, d, F, k, x, W_E, b_E: new Float32Array(F), bDec: null };
      expectTopK(c, encode(c, true), 1e-6); // a latent left out would be 1e-4 above one chosen
      expectSameAsExact(c);
    }
  });
});

describe.skipIf(!K)(`screened TopK encoder: zeros, magnitudes, non-finite inputs and large d${skipReason}`, () => {
  it('handles rows of zeros, all-equal pre-activations, and magnitudes from 1e-20 to 1e12', () => {
    const zeros = randomCase(8, 32, 300, 10, 21);
    zeros.x.fill(0, 0, 4 * 32); // four tokens of zeros: pre = b_E
    expectTopK(zeros, encode(zeros, true));
    expectSameAsExact(zeros);

    const flat: Case = {
      B: 4,
      d: 8,
      F: 100,
      k: 5,
      x: randomArray(32, 22),
      W_E: new Float32Array(800),
      b_E: new Float32Array(100).fill(0.5),
      bDec: null,
    };
    const out = encode(flat, true);
    for (let b = 0; b < 4; b++)
      expect(Array.from(out.indices.subarray(b * 5, b * 5 + 5)).sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4]);

    for (const m of [1e-20, 1e-3, 1e6, 1e12]) {
      const c = randomCase(12, 40, 333, 12, 30, { bDec: false });
      c.x = c.x.map((v) => v * m);
      c.b_E = c.b_E.map((v) => v * m);
      expectTopK(c, encode(c, true));
    }
  });

  it('steps aside for non-finite inputs: the sgemm path gives the answer', () => {
    const c = randomCase(6, 16, 128, 4, 40);
    c.x[5] = Number.NaN;
    c.W_E[17] = Number.POSITIVE_INFINITY;
    const s = encode(c, true),
      e = encode(c, false);
    expect(Array.from(s.indices)).toEqual(Array.from(e.indices));
    expect(Array.from(s.values)).toEqual(Array.from(e.values));
  });

  it('screens up to d 8192 and leaves larger inputs to the sgemm path, with the same answer', () => {
    for (const d of [8192, 8200]) {
      const c = randomCase(2, d, 96, 8, d);
      expectTopK(c, encode(c, true));
      expectSameAsExact(c);
    }
  });
});

describe.skipIf(!K)(`screened TopK encoder: candidate lists across calls${skipReason}`, () => {
  it('stays exact when near-ties on a large dictionary push the lists to their memory cap', () => {
    // d 520 × F 16448 packs to more than 8 MB, so a block is a whole super-block of 384 tokens and the lists' trigger
    // is capped (64 MB per thread); near-equal latents make every token give up, and the trigger doubles each call
    // until it meets the cap. Every call must still give the sgemm path's answer.
    const d = 520,
      F = 16448,
      k = 8,
      B = 6;
    const c = randomCase(B, d, F, k, 60, { bDec: false });
    for (let i = 0; i < d; i++) for (let j = 1; j < F; j++) c.W_E[i * F + j] = c.W_E[i * F]! * (1 + 1e-5 * Math.cos(j));
    expectTopK(c, encode(c, true));
    for (let call = 0; call < 5; call++) expectSameAsExact(c);
  });

  it("gives the same answer when called again (the lists' size is learned between calls; no other state)", () => {
    const big = randomCase(100, 64, 1024, 16, 50);
    const small = randomCase(3, 8, 80, 2, 51);
    // near-equal latents: most of them candidates, so the first call's lists overflow and the next ones are longer
    const ties = randomCase(40, 32, 2048, 8, 52);
    for (let i = 0; i < 32; i++)
      for (let j = 0; j < 2048; j++) ties.W_E[i * 2048 + j] = ties.W_E[i * 2048]! * (1 + 1e-5 * Math.sin(j));
    const first = encode(big, true),
      firstTies = encode(ties, true);
    expectTopK(ties, firstTies);
    for (let round = 0; round < 3; round++) {
      encode(small, true); // scratch buffers shrink nothing, grow as needed
      const again = encode(big, true);
      expect(Array.from(again.indices)).toEqual(Array.from(first.indices));
      expect(Array.from(again.values)).toEqual(Array.from(first.values));
      for (let twice = 0; twice < 2; twice++) {
        // the second call runs with what the first learned
        const tiesAgain = encode(ties, true);
        expect(Array.from(tiesAgain.indices)).toEqual(Array.from(firstTies.indices));
        expect(Array.from(tiesAgain.values)).toEqual(Array.from(firstTies.values));
      }
    }
  });

  it('stays exact when some tokens keep hundreds of candidates beside tokens with few, and counts them', () => {
    // 300 of 1024 latents nearly equal: the tokens along their shared column, and the random ones that meet it at
    // a positive angle, rank all 300 within the bound, the rest a few dozen. The first call's lists overflow (every
    // token gives up); the later ones prune first at twice the previous call's mean candidates, then as each list
    // doubles: three different schedules, the same cut at L, so the same candidates, and the sgemm path's answer.
    const B = 96,
      d = 64,
      F = 1024,
      k = 16;
    const c = randomCase(B, d, F, k, 70, { bDec: false, bias: false });
    for (let i = 0; i < d; i++)
      for (let j = 1; j < 300; j++) c.W_E[i * F + j] = c.W_E[i * F]! * (1 + 1e-3 * Math.sin(j));
    for (let b = 0; b < B; b += 8) for (let i = 0; i < d; i++) c.x[b * d + i] = c.W_E[i * F]! * 40;
    K!.topkScreenStats();
    const counts: number[] = [];
    for (let call = 0; call < 4; call++) {
      expectSameAsExact(c);
      K!.topkScreening(true);
      const [calls, tokens, candidates, gaveUp, , trigger] = K!.topkScreenStats() as [
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      if (!screenable) continue;
      expect([calls, tokens]).toEqual([1, B]);
      expect(gaveUp).toBe(call === 0 ? B : 0);
      // the aligned tokens: all 300 near-equal latents; every other token at least k
      expect(candidates).toBeGreaterThanOrEqual((B / 8) * 300 + (B - B / 8) * k);
      expect(candidates).toBeLessThanOrEqual(B * F);
      expect(trigger).toBeGreaterThanOrEqual(2 * k + 64);
      counts.push(candidates);
    }
    if (screenable) expect(counts.slice(2)).toEqual([counts[1], counts[1]]);
    expect(K!.topkScreenStats().slice(0, 5)).toEqual([0, 0, 0, 0, 0]); // read and reset
  });
});

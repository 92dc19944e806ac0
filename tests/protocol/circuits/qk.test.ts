// QK tracing closed forms on random linear Q and K (as lm-saes's test_compute_qk_tracing): every source s has a
// value v_s and linear maps W_Q^s, W_K^s; q̃ = Σ v_s W_Q^s + b_Q, k̃ = Σ v_s W_K^s + b_K. The marginals and pairs
// are checked against the sums of §8.8 and against perturbations of the sources through the maps themselves.
import { describe, expect, it } from 'vitest';
import {
  bilinearColumn,
  bilinearRow,
  qkMarginals,
  traceQk,
  type QkComponents,
} from '../../../src/protocol/circuits/qk';
import { random } from './graphs';

interface LinearQk {
  nSources: number;
  dQk: number;
  /** v_s (dimension dIn each). */
  values: Float64Array[];
  wQ: Float64Array[];
  wK: Float64Array[];
  bQ: Float64Array;
  bK: Float64Array;
}

function linearQk(seed: number, nSources = 9, dQk = 4, dIn = 3): LinearQk {
  const rand = random(seed);
  const vec = (len: number) => Float64Array.from({ length: len }, () => rand() * 2 - 1);
  return {
    nSources,
    dQk,
    values: Array.from({ length: nSources }, () => vec(dIn)),
    wQ: Array.from({ length: nSources }, () => vec(dIn * dQk)),
    wK: Array.from({ length: nSources }, () => vec(dIn * dQk)),
    bQ: vec(dQk),
    bK: vec(dQk),
  };
}

/** v·W for v of length dIn and W [dIn, dQk]. */
function apply(v: Float64Array, w: Float64Array, dQk: number): Float64Array {
  const out = new Float64Array(dQk);
  v.forEach((x, a) => {
    for (let b = 0; b < dQk; b++) out[b]! += x * w[a * dQk + b]!;
  });
  return out;
}

/** The score with source values scaled per side: q̃ = Σ αQ_s v_s W_Q^s + b_Q, likewise k̃. */
function scoreOf(m: LinearQk, alphaQ: (s: number) => number, alphaK: (s: number) => number): number {
  const q = Float64Array.from(m.bQ);
  const k = Float64Array.from(m.bK);
  for (let s = 0; s < m.nSources; s++) {
    apply(m.values[s]!, m.wQ[s]!, m.dQk).forEach((x, b) => (q[b]! += alphaQ(s) * x));
    apply(m.values[s]!, m.wK[s]!, m.dQk).forEach((x, b) => (k[b]! += alphaK(s) * x));
  }
  return q.reduce((acc, x, b) => acc + x * k[b]!, 0);
}

function componentsOf(m: LinearQk): QkComponents {
  const q = new Float64Array(m.nSources * m.dQk);
  const k = new Float64Array(m.nSources * m.dQk);
  for (let s = 0; s < m.nSources; s++) {
    q.set(apply(m.values[s]!, m.wQ[s]!, m.dQk), s * m.dQk);
    k.set(apply(m.values[s]!, m.wK[s]!, m.dQk), s * m.dQk);
  }
  return { q, k, dQk: m.dQk, qConstant: m.bQ, kConstant: m.bK };
}

const one = () => 1;
const dot = (x: ArrayLike<number>, y: ArrayLike<number>) => Array.from(x).reduce((a, v, i) => a + v * y[i]!, 0);

describe('QK tracing closed forms (§8.8)', () => {
  it.each([1, 2, 3])('Σ a_Q + q_const·k̃ = Σ a_K + k_const·q̃ = score (seed %i)', (seed) => {
    const lin = linearQk(seed);
    const m = qkMarginals(componentsOf(lin));
    expect(m.score).toBeCloseTo(scoreOf(lin, one, one), 12);
    expect(m.aQ.reduce((a, v) => a + v, 0) + m.constantQ).toBeCloseTo(m.score, 12);
    expect(m.aK.reduce((a, v) => a + v, 0) + m.constantK).toBeCloseTo(m.score, 12);
  });

  it('Σ_ij T + the cross terms with the constants = score; rows and columns sum to the marginals', () => {
    const lin = linearQk(4);
    const c = componentsOf(lin);
    const m = qkMarginals(c);
    const d = c.dQk;
    let sum = dot(lin.bQ, lin.bK);
    for (let i = 0; i < lin.nSources; i++) {
      const row = bilinearRow(c, i);
      const qi = c.q.subarray(i * d, (i + 1) * d);
      const ki = c.k.subarray(i * d, (i + 1) * d);
      sum += row.reduce((a, v) => a + v, 0) + dot(qi, lin.bK) + dot(lin.bQ, ki);
      expect(row.reduce((a, v) => a + v, 0) + dot(qi, lin.bK)).toBeCloseTo(m.aQ[i]!, 12);
      const column = bilinearColumn(c, i);
      expect(column.reduce((a, v) => a + v, 0) + dot(lin.bQ, ki)).toBeCloseTo(m.aK[i]!, 12);
    }
    expect(sum).toBeCloseTo(m.score, 12);
  });

  it('equals the perturbations of the sources through the linear maps: a_Q, a_K first order, T mixed', () => {
    const lin = linearQk(5);
    const c = componentsOf(lin);
    const m = qkMarginals(c);
    const base = scoreOf(lin, one, one);
    const twice = (s: number) => (x: number) => (x === s ? 2 : 1);
    for (let s = 0; s < lin.nSources; s++) {
      expect(scoreOf(lin, twice(s), one) - base).toBeCloseTo(m.aQ[s]!, 12);
      expect(scoreOf(lin, one, twice(s)) - base).toBeCloseTo(m.aK[s]!, 12);
    }
    for (const [i, j] of [
      [0, 3],
      [2, 2],
      [7, 1],
    ] as const) {
      const mixed = scoreOf(lin, twice(i), twice(j)) - base - m.aQ[i]! - m.aK[j]!;
      expect(bilinearRow(c, i)[j]).toBeCloseTo(mixed, 12);
    }
  });
});

describe('traceQk top-k', () => {
  it('keeps the top-k pairs among Q-pick rows and K-pick columns, each pair once, zeros dropped', () => {
    const lin = linearQk(6, 12);
    const c = componentsOf(lin);
    const m = qkMarginals(c);
    const topk = 5;
    const r = traceQk(c, { topk });
    const n = lin.nSources;
    const merged = [...m.aQ, ...m.aK];
    const picks = [...merged.keys()].sort((x, y) => merged[y]! - merged[x]!).slice(0, topk);
    const qPicks = new Set(picks.filter((p) => p < n));
    const kPicks = new Set(picks.filter((p) => p >= n).map((p) => p - n));
    const all: { q: number; k: number; value: number }[] = [];
    for (let i = 0; i < n; i++) {
      const row = bilinearRow(c, i);
      for (let j = 0; j < n; j++) if (qPicks.has(i) || kPicks.has(j)) all.push({ q: i, k: j, value: row[j]! });
    }
    const expected = all.sort((x, y) => y.value - x.value).slice(0, topk);
    expect(r.pairs).toEqual(expected);
    expect(new Set(r.pairs.map((p) => `${p.q},${p.k}`)).size).toBe(r.pairs.length);
    expect(r.qMarginal.map((x) => x.source)).toEqual(
      [...m.aQ.keys()].sort((x, y) => m.aQ[y]! - m.aQ[x]!).slice(0, topk),
    );
    expect(r.score).toBeCloseTo(m.score, 14);
  });

  it('counts a pair that is both a Q-pick row and a K-pick column once', () => {
    // Source 0 dominates the Q side and source 1 the K side: both are picked, and T[0, 1] is the top pair.
    const c: QkComponents = {
      q: Float64Array.from([5, 0, 0.1, 0, 0, 0.1]),
      k: Float64Array.from([0, 0.1, 4, 0, 0, 0.1]),
      dQk: 2,
    };
    const r = traceQk(c, { topk: 4 });
    expect(r.pairs.filter((p) => p.q === 0 && p.k === 1)).toEqual([{ q: 0, k: 1, value: 20 }]);
    expect(r.pairs.every((p) => p.value !== 0)).toBe(true);
  });

  it('surfaces a strongly negative contributor only with the |value| ranking', () => {
    // q components: source 2 points against k̃.
    const c: QkComponents = {
      q: Float64Array.from([1, 0, 0.5, 0, -6, 0]),
      k: Float64Array.from([1, 0, 1, 0, 0.2, 0]),
      dQk: 2,
    };
    const signed = traceQk(c, { topk: 2 });
    const abs = traceQk(c, { topk: 2, ranking: 'abs' });
    expect(signed.qMarginal.map((x) => x.source)).toEqual([0, 1]);
    expect(abs.qMarginal[0]).toEqual({ source: 2, value: -6 * 2.2 });
    expect(abs.pairs.some((p) => p.q === 2 && p.value < 0)).toBe(true);
    expect(signed.pairs.every((p) => p.value > 0)).toBe(true);
  });

  it('refuses mismatched shapes and a bad topk', () => {
    expect(() => qkMarginals({ q: new Float64Array(6), k: new Float64Array(4), dQk: 2 })).toThrow(
      'q has 6 and k 4 values, expected [n_sources, 2] each',
    );
    expect(() => traceQk({ q: new Float64Array(2), k: new Float64Array(2), dQk: 2 }, { topk: 0 })).toThrow(/topk/);
  });
});

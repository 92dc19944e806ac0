// QK tracing from per-source components (spec §7 steps 5–7, §8.8; lm-saes circuits `compute_qk_tracing`): the
// attention score of a Lorsa head at its argmax key is q̃·k̃ with q̃ = Σ_s q_s + q_const and k̃ = Σ_s k_s + k_const,
// every q_s, k_s being the part of q̃, k̃ due to one source under frozen norms. Then, exactly and without a double
// backward: Q-marginal a_Q[s] = q_s·k̃, K-marginal a_K[s] = k_s·q̃, bilinear pairs T[i, j] = q_i·k_j.

export type QkVectors = Float32Array | Float64Array;

export interface QkComponents {
  /** Per-source q components q_s, [nSources, dQk] row-major. */
  q: QkVectors;
  /** Per-source k components k_s, [nSources, dQk] row-major. */
  k: QkVectors;
  dQk: number;
  /** The constant part of q̃ (biases, through frozen norms); zero when omitted. */
  qConstant?: ArrayLike<number>;
  /** The constant part of k̃; zero when omitted. */
  kConstant?: ArrayLike<number>;
}

export interface QkMarginals {
  /** q̃ and k̃ (components summed, constants added). */
  q: Float64Array;
  k: Float64Array;
  /** q̃·k̃: the traced pre-softmax score. */
  score: number;
  /** a_Q[s] = q_s·k̃. */
  aQ: Float64Array;
  /** a_K[s] = k_s·q̃. */
  aK: Float64Array;
  /** q_const·k̃ and k_const·q̃: score = Σ a_Q + constantQ = Σ a_K + constantK. */
  constantQ: number;
  constantK: number;
}

function sourceCount(c: QkComponents): number {
  const { q, k, dQk } = c;
  if (!Number.isInteger(dQk) || dQk <= 0) throw new Error(`QK tracing: d_qk must be a positive integer, got ${dQk}`);
  if (q.length !== k.length || q.length % dQk !== 0) {
    throw new Error(`QK tracing: q has ${q.length} and k ${k.length} values, expected [n_sources, ${dQk}] each`);
  }
  for (const [name, v] of [
    ['qConstant', c.qConstant],
    ['kConstant', c.kConstant],
  ] as const) {
    if (v !== undefined && v.length !== dQk)
      throw new Error(`QK tracing: ${name} has ${v.length} values, expected ${dQk}`);
  }
  return q.length / dQk;
}

function dotRow(x: QkVectors, row: number, y: ArrayLike<number>, d: number): number {
  let sum = 0;
  for (let i = 0; i < d; i++) sum += x[row * d + i]! * y[i]!;
  return sum;
}

function total(v: QkVectors, n: number, d: number, constant?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(d);
  if (constant) for (let i = 0; i < d; i++) out[i] = constant[i]!;
  for (let s = 0; s < n; s++) for (let i = 0; i < d; i++) out[i]! += v[s * d + i]!;
  return out;
}

export function qkMarginals(c: QkComponents): QkMarginals {
  const n = sourceCount(c);
  const d = c.dQk;
  const q = total(c.q, n, d, c.qConstant);
  const k = total(c.k, n, d, c.kConstant);
  const aQ = new Float64Array(n);
  const aK = new Float64Array(n);
  for (let s = 0; s < n; s++) {
    aQ[s] = dotRow(c.q, s, k, d);
    aK[s] = dotRow(c.k, s, q, d);
  }
  let score = 0;
  for (let i = 0; i < d; i++) score += q[i]! * k[i]!;
  const constantQ = c.qConstant ? dotRow(Float64Array.from(c.qConstant), 0, k, d) : 0;
  const constantK = c.kConstant ? dotRow(Float64Array.from(c.kConstant), 0, q, d) : 0;
  return { q, k, score, aQ, aK, constantQ, constantK };
}

/** Row i of the bilinear matrix: T[i, j] = q_i·k_j for every source j. */
export function bilinearRow(c: QkComponents, i: number): Float64Array {
  const n = sourceCount(c);
  const d = c.dQk;
  const qi = c.q.subarray(i * d, (i + 1) * d);
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) out[j] = dotRow(c.k, j, qi, d);
  return out;
}

/** Column j of the bilinear matrix: T[i, j] = q_i·k_j for every source i. */
export function bilinearColumn(c: QkComponents, j: number): Float64Array {
  const n = sourceCount(c);
  const d = c.dQk;
  const kj = c.k.subarray(j * d, (j + 1) * d);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = dotRow(c.q, i, kj, d);
  return out;
}

/** 'signed' ranks by value (lm-saes: hides strongly negative contributors); 'abs' by |value|. */
export type QkRanking = 'signed' | 'abs';

export interface QkContribution {
  /** Index into the sources of the components. */
  source: number;
  value: number;
}

export interface QkPair {
  /** The source on the query side. */
  q: number;
  /** The source on the key side. */
  k: number;
  value: number;
}

export interface QkTracingResult {
  ranking: QkRanking;
  score: number;
  /** Top-k a_Q (ranked, zeros dropped). */
  qMarginal: QkContribution[];
  /** Top-k a_K (ranked, zeros dropped). */
  kMarginal: QkContribution[];
  /** Top-k bilinear pairs T[q, k] (ranked, zeros dropped, no pair twice). */
  pairs: QkPair[];
}

export interface TraceQkOptions {
  /** How many marginals, picks and pairs to keep (lm-saes qk_tracing_topk, default 10). */
  topk?: number;
  ranking?: QkRanking;
}

const rankKey = (ranking: QkRanking) => (v: number) => (ranking === 'abs' ? Math.abs(v) : v);

function topContributions(values: Float64Array, topk: number, ranking: QkRanking): QkContribution[] {
  const key = rankKey(ranking);
  return [...values.keys()]
    .sort((x, y) => key(values[y]!) - key(values[x]!) || x - y)
    .slice(0, topk)
    .filter((s) => values[s] !== 0)
    .map((source) => ({ source, value: values[source]! }));
}

/**
 * The top-k of each kind, after lm-saes `_extract_topk_pairwise_attributions`:
 *   1. pick the top-k of [a_Q ‖ a_K] (a pick in the first half is a Q-pick i, in the second a K-pick j);
 *   2. the candidates are the rows T[i, :] of the Q-picks and the columns T[:, j] of the K-picks;
 *   3. a K-pick column drops its entries T[i, j] whose query source i is a Q-pick (already in row i), so no pair
 *      is counted twice;
 *   4. keep the top-k candidates, zeros dropped. The marginals are the top-k of a_Q and of a_K, zeros dropped.
 * Ties go to the lower index. lm-saes takes min(k, #nonzero) before ranking, which can keep a zero ahead of a
 * negative value; here zeros are simply never kept.
 */
export function traceQk(c: QkComponents, options: TraceQkOptions = {}): QkTracingResult {
  const topk = options.topk ?? 10;
  const ranking = options.ranking ?? 'signed';
  if (!Number.isInteger(topk) || topk <= 0) throw new Error(`QK tracing: topk must be a positive integer, got ${topk}`);
  const m = qkMarginals(c);
  const n = m.aQ.length;
  const merged = new Float64Array(2 * n);
  merged.set(m.aQ, 0);
  merged.set(m.aK, n);
  const key = rankKey(ranking);
  const picks = [...merged.keys()].sort((x, y) => key(merged[y]!) - key(merged[x]!) || x - y).slice(0, topk);
  const qPicks = picks.filter((p) => p < n);
  const kPicks = picks.filter((p) => p >= n).map((p) => p - n);
  const isQPick = new Set(qPicks);
  const candidates: QkPair[] = [];
  for (const i of qPicks) bilinearRow(c, i).forEach((value, j) => candidates.push({ q: i, k: j, value }));
  for (const j of kPicks) {
    bilinearColumn(c, j).forEach((value, i) => {
      if (!isQPick.has(i)) candidates.push({ q: i, k: j, value });
    });
  }
  const pairs = candidates
    .filter((p) => p.value !== 0)
    .sort((x, y) => key(y.value) - key(x.value) || x.q - y.q || x.k - y.k)
    .slice(0, topk);
  return {
    ranking,
    score: m.score,
    qMarginal: topContributions(m.aQ, topk, ranking),
    kMarginal: topContributions(m.aK, topk, ranking),
    pairs,
  };
}

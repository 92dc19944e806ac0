// A Lorsa head's q̃ and k̃ as readouts of its input (spec §7 step 3): with its QK-norm scale frozen, q̃(p) =
// (Rot_p · Rep · diag(w/σ_p) · (W_Q^gᵀ c_in(p) x_in(p) + b_Q^g)) / √attn_scale is affine in the site's raw input
// x_in at one position — the same shape as a transcoder feature's pre-activation c_in·x·e + b. So each coordinate
// of q̃ and k̃ gets an "encoder row" M_j [d] (the linear part, without c_in) and a constant (the Lorsa's own b_Q or
// b_K through the same map), and the engine's reverse pass reads it like a feature row (see readoutState).
import { lorsaRepeat, lorsaRotWidth } from '../dictionary/kinds/lorsa-math';
import type { LorsaConfig } from '../../protocol/kind-configs/lorsa';
import type { FrozenState } from './frozen-state';
import type { RowView } from './site-weights';

/** One traced scalar: the score of QK head g of a Lorsa site between a query and its argmax key. */
export interface QkSlot {
  site: number;
  head: number;
  query: number;
  key: number;
}

/** A side of a slot (q̃ at the query or k̃ at the key) as a readout of the site input at one position. */
export interface QkReadout {
  pos: number;
  /** The linear part [dr, d]: q̃_j = c_in(pos)·x_in(pos)·M_j + bias_j + (what x_in carries of the sources). */
  rows: Float64Array;
  /** The Lorsa's b_Q (or b_K) through the map [dr]. */
  bias: Float64Array;
}

export const lorsaConfigOf = (state: FrozenState, site: number): LorsaConfig =>
  state.rm.sites[site]!.cfg as unknown as LorsaConfig;

/** A Lorsa parameter's host data (float32, read in doubles). */
const param = (state: FrozenState, site: number, name: string): ArrayLike<number> =>
  state.rm.sites[site]!.params[name]!.data;

/**
 * Rot_p·Rep as a [dr, dq] matrix: lm-saes's repeat_interleave by rotary_scale, then the rotation of the first
 * rotary_dim entries at position p (out = x·cos + rot(x)·sin; rot pairs (x0, x1) → (−x1, x0) with adjacent pairs,
 * else swaps the halves with a sign), from the site's own rotary_sin / rotary_cos tables.
 */
function rotaryMatrix(cfg: LorsaConfig, state: FrozenState, site: number, p: number): Float64Array {
  const dq = cfg.d_qk_head;
  const dr = lorsaRotWidth(cfg);
  const rs = lorsaRepeat(cfg);
  const out = new Float64Array(dr * dq);
  const r = cfg.positional_embedding_type === 'rotary' ? cfg.rotary_dim : 0;
  const params = state.rm.sites[site]!.params;
  const sin = r > 0 ? params['rotary_sin']!.data : null;
  const cos = r > 0 ? params['rotary_cos']!.data : null;
  const h = r / 2;
  for (let j = 0; j < dr; j++) {
    if (j >= r) {
      out[j * dq + Math.floor(j / rs)] = 1;
      continue;
    }
    // out[j] = u[j]·cos + sign·u[partner]·sin, u = Rep(x).
    const [partner, sign] = cfg.rotary_adjacent_pairs
      ? j % 2 === 0
        ? [j + 1, -1]
        : [j - 1, 1]
      : j < h
        ? [j + h, -1]
        : [j - h, 1];
    out[j * dq + Math.floor(j / rs)]! += cos![p * r + j]!;
    out[j * dq + Math.floor(partner / rs)]! += sign * sin![p * r + j]!;
  }
  return out;
}

/** q̃ (side 'Q') or k̃ ('K') of QK head g at position p as a readout of the site's input (see the header). */
export function qkReadout(state: FrozenState, site: number, g: number, p: number, side: 'Q' | 'K'): QkReadout {
  const cfg = lorsaConfigOf(state, site);
  const { d } = state;
  const dq = cfg.d_qk_head;
  const dr = lorsaRotWidth(cfg);
  const W = param(state, site, `W_${side}`); // [H, d, dq]
  const b = param(state, site, `b_${side}`); // [H, dq]
  const fs = state.sites[site]!;
  // Per-coordinate factor before the rotation: the frozen QK RMSNorm's w/σ (σ from the real pass), else 1.
  const factor = new Float64Array(dq).fill(1 / Math.sqrt(cfg.attn_scale!));
  if (cfg.use_post_qk_ln) {
    const lnW = param(state, site, side === 'Q' ? 'ln_q.w' : 'ln_k.w');
    const x = fs.input[0]!;
    const cIn = fs.cIn[0]![p]!;
    let ms = 0;
    for (let m = 0; m < dq; m++) {
      let h = b[g * dq + m]!;
      for (let c = 0; c < d; c++) h += x[p * d + c]! * cIn * W[(g * d + c) * dq + m]!;
      ms += (h * h) / dq;
    }
    const sigma = Math.sqrt(ms + cfg.eps);
    for (let m = 0; m < dq; m++) factor[m] = (factor[m]! * lnW[g * dq + m]!) / sigma;
  }
  const R = rotaryMatrix(cfg, state, site, p); // [dr, dq]
  const rows = new Float64Array(dr * d);
  const bias = new Float64Array(dr);
  for (let j = 0; j < dr; j++)
    for (let m = 0; m < dq; m++) {
      const coef = R[j * dq + m]! * factor[m]!;
      if (coef === 0) continue;
      bias[j]! += coef * b[g * dq + m]!;
      for (let c = 0; c < d; c++) rows[j * d + c]! += coef * W[(g * d + c) * dq + m]!;
    }
  return { pos: p, rows, bias };
}

/** The real pass's q̃ (or k̃) of head g at p: the frozen state's post-norm, post-rotary q (k) / √attn_scale. */
export function realQk(state: FrozenState, site: number, g: number, p: number, side: 'Q' | 'K'): Float64Array {
  const cfg = lorsaConfigOf(state, site);
  const dr = lorsaRotWidth(cfg);
  const H = cfg.n_qk_heads;
  const src = side === 'Q' ? state.sites[site]!.lorsaQK!.q : state.sites[site]!.lorsaQK!.k;
  const o = (p * H + g) * dr;
  return src.slice(o, o + dr).map((v) => v / Math.sqrt(cfg.attn_scale!));
}

/** The causal key with the largest score q̃(q)·k̃(k) for head g (the lowest on ties). */
export function argmaxKey(state: FrozenState, site: number, g: number, query: number): number {
  const q = realQk(state, site, g, query, 'Q');
  let best = 0;
  let bestScore = -Infinity;
  for (let k = 0; k <= query; k++) {
    const kv = realQk(state, site, g, k, 'K');
    let s = 0;
    for (let j = 0; j < q.length; j++) s += q[j]! * kv[j]!;
    if (s > bestScore) [best, bestScore] = [k, s];
  }
  return best;
}

/**
 * The frozen state with the encoders of the given Lorsa sites replaced by readout rows (as if each were a
 * transcoder-shaped readout of its input, no pattern): a reverse-pass 'feature' target (site, 0, pos, index) then
 * yields the row of readout `index` at `pos` — the per-source components of one coordinate of q̃ or k̃. Only the
 * encoder side changes; the sources' vectors (decoders, errors) and the frozen map are the real ones.
 */
export function readoutState(state: FrozenState, rowsBySite: ReadonlyMap<number, Float64Array>): FrozenState {
  return {
    ...state,
    sites: state.sites.map((fs, i) => {
      const rows = rowsBySite.get(i);
      if (!rows) return fs;
      const view: RowView = { data: rows, offset: 0, rowStride: state.d, colStride: 1 };
      return { ...fs, weights: { ...fs.weights, enc: [view], lorsaGroup: 0 } };
    }),
  };
}

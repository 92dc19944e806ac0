// The frozen replacement model's q̃ and k̃ by an independent route, for the QK-tracing tests: the engine's frozen
// forward pass reads a Lorsa's input (its encoder swapped for identity rows, its pattern for the identity), then
// lorsa-math's projectQk makes q and k with the QK norm's σ frozen at the real pass's value.
import type { AttributionRun } from '../../../src/core/circuits/attribute';
import { frozenForward, realLeaves, type Leaves } from '../../../src/core/circuits/frozen-forward';
import type { FrozenState } from '../../../src/core/circuits/frozen-state';
import type { QkSlot } from '../../../src/core/circuits/qk-readout';
import { projectQk } from '../../../src/core/dictionary/kinds/lorsa-math';
import type { BiasKind } from '../../../src/protocol/circuits/node-ids';
import type { LorsaConfig } from '../../../src/protocol/kind-configs/lorsa';

export const rel = (got: number, want: number, scale: number) =>
  Math.abs(got - want) / Math.max(Math.abs(scale), 1e-30);
export const norm = (v: ArrayLike<number>) => Math.hypot(...Array.from(v));
export const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, j) => v - b[j]!);
export const dot = (x: ArrayLike<number>, y: ArrayLike<number>) => Array.from(x).reduce((a, v, j) => a + v * y[j]!, 0);
export const sum = (x: ArrayLike<number>) => Array.from(x).reduce((a, b) => a + b, 0);

/**
 * c_in·x_in [S, d] of a Lorsa site under `leaves`, from the frozen forward pass: the site's encoder swapped for
 * identity rows (32 coordinates per pass) and its pattern for the identity, so its "pre-activations" are its input.
 */
export function frozenInput(run: AttributionRun, leaves: Leaves, site: number, state = run.state): Float64Array {
  const { S, d } = state;
  const F = state.sites[site]!.weights.F;
  const eye = new Float64Array(S * S);
  for (let p = 0; p < S; p++) eye[p * S + p] = 1;
  const out = new Float64Array(S * d);
  for (let c0 = 0; c0 < d; c0 += F) {
    const rows = new Float64Array(F * d);
    for (let i = 0; i < F && c0 + i < d; i++) rows[i * d + c0 + i] = 1;
    const fs = state.sites[site]!;
    const weights = {
      ...fs.weights,
      enc: [{ data: rows, offset: 0, rowStride: d, colStride: 1 }],
      encBias: [new Float64Array(F)],
      lorsaGroup: F,
    };
    const probe = {
      ...state,
      sites: state.sites.map((s, j) => (j === site ? { ...s, weights, lorsaPattern: eye } : s)),
    };
    const pre = frozenForward(probe, leaves).pre[site]!; // [S, F]
    for (let p = 0; p < S; p++) for (let i = 0; i < F && c0 + i < d; i++) out[p * d + c0 + i] = pre[p * F + i]!;
  }
  return out;
}

/** q̃ or k̃ of head g at p from the site's input c_in·x_in [S, d] (projectQk, the QK norm's σ of the real pass). */
export function frozenQk(
  run: AttributionRun,
  input: Float64Array,
  s: QkSlot,
  side: 'Q' | 'K',
  zeroBias = false,
): Float64Array {
  const { state } = run;
  const { S } = state;
  const site = state.rm.sites[s.site]!;
  const cfg = site.cfg as unknown as LorsaConfig;
  const p64: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(site.params)) p64[k] = Float64Array.from(v.data);
  const pos = side === 'Q' ? s.query : s.key;
  const { d_qk_head: dq, n_qk_heads: H, d_model: d } = cfg;
  let useCfg = cfg;
  const params = { ...p64 };
  if (cfg.use_post_qk_ln) {
    // Frozen σ: fold w/σ_real(pos, g) into W and b and run projectQk without its norm.
    // σ of the real pass: from the site's recorded input (the frozen pass recomputes it to float32 rounding only).
    const fs = state.sites[s.site]!;
    const real = fs.input[0]!.map((v, j) => v * fs.cIn[0]![Math.floor(j / d)]!);
    const W = p64[`W_${side}`]!;
    const b = p64[`b_${side}`]!;
    const lnW = p64[side === 'Q' ? 'ln_q.w' : 'ln_k.w']!;
    const Wf = Float64Array.from(W);
    const bf = Float64Array.from(b);
    for (let g = 0; g < H; g++) {
      const h = Array.from({ length: dq }, (_, m) => {
        let v = b[g * dq + m]!;
        for (let c = 0; c < d; c++) v += real[pos * d + c]! * W[(g * d + c) * dq + m]!;
        return v;
      });
      const sigma = Math.sqrt(h.reduce((a, v) => a + (v * v) / dq, 0) + cfg.eps);
      for (let m = 0; m < dq; m++) {
        const f = lnW[g * dq + m]! / sigma;
        bf[g * dq + m]! *= f;
        for (let c = 0; c < d; c++) Wf[(g * d + c) * dq + m]! *= f;
      }
    }
    params[`W_${side}`] = Wf;
    params[`b_${side}`] = bf;
    useCfg = { ...cfg, use_post_qk_ln: false };
  }
  if (zeroBias) params[`b_${side}`] = new Float64Array(H * dq); // the Lorsa's own b_Q (b_K) leaf removed, σ kept
  const y = projectQk(useCfg, params, input, 1, S, side); // [S, H, dr]
  const dr = y.length / (S * H);
  return y.slice((pos * H + s.head) * dr, (pos * H + s.head + 1) * dr).map((v) => v / Math.sqrt(cfg.attn_scale!));
}

/** The leaves with source column `col` (a feature, error or embedding of run.layout) scaled by (1 + α). */
export function scaled(run: AttributionRun, col: number, alpha: number): Leaves {
  const { state, layout } = run;
  const leaves = realLeaves(state);
  const d = state.d;
  const nF = layout.features.length;
  if (col >= layout.nCols) throw new Error(`column ${col} is not a node source (the layout has ${layout.nCols})`);
  if (col < nF) {
    const f = layout.features[col]!;
    const A = state.rm.sites[f.site]!.slots.length;
    leaves.acts[f.site]![(f.pos * A + f.slot) * state.sites[f.site]!.weights.F + f.index]! *= 1 + alpha;
  } else if (col < layout.embedCol) {
    const e = layout.errors[col - nF]!;
    for (let c = 0; c < d; c++) leaves.errors[e.site]![e.slot]![e.pos * d + c]! *= 1 + alpha;
  } else for (let c = 0; c < d; c++) leaves.embed[(col - layout.embedCol) * d + c]! *= 1 + alpha;
  return leaves;
}

/** The frozen state with one kind of bias leaf zeroed (decoder biases of transcoders or Lorsas; attention b_O, b_V). */
export function withoutBias(state: FrozenState, kind: BiasKind): FrozenState {
  return {
    ...state,
    sites: state.sites.map((fs, i) => {
      const lorsaSite = state.rm.sites[i]!.role === 'lorsa';
      if ((kind === 'tc_bD' && !lorsaSite) || (kind === 'lorsa_bD' && lorsaSite))
        return {
          ...fs,
          weights: { ...fs.weights, decBias: fs.weights.decBias.map((b) => new Float64Array(b.length)) },
        };
      return fs;
    }),
    layers:
      kind === 'attn_bO'
        ? state.layers.map((L) => ({ ...L, attention: { ...L.attention, b_O: null, b_V: null } }))
        : state.layers,
  };
}

// The frozen replacement model's forward pass (spec §6.1): affine in its leaves — token embeddings, feature
// activations, error vectors — with every norm scale and attention pattern frozen at the real pass's values. With
// the real leaves it reproduces the real model (up to rounding); the exact checks (§8) perturb or zero the leaves.
// Float64 throughout: it is the reference the reverse pass (reverse-pass.ts) is checked against.
import { attentionForward, normForward, type Vec } from './frozen-ops';
import type { FrozenState } from './frozen-state';
import { dotRow } from './site-weights';

const alloc = (n: number) => new Float64Array(n);

/** The values the graph's sources take: embed [S, d]; per site acts [S, A, F]; per site and slot errors [S, d]. */
export interface Leaves {
  embed: Float64Array;
  acts: Float64Array[];
  errors: Float64Array[][];
}

export interface FrozenValues {
  /** The last position's logits [V] before any final softcap. */
  logits: Float64Array;
  /** Per site: every feature's pre-activation [S, A, F] (a Lorsa: z through its frozen pattern). */
  pre: Float64Array[];
}

/** The real pass's leaves (copies, free to change). */
export function realLeaves(state: FrozenState): Leaves {
  return {
    embed: Float64Array.from(state.embed),
    acts: state.sites.map((s) => Float64Array.from(s.acts)),
    errors: state.sites.map((s) => s.error.map((e) => Float64Array.from(e))),
  };
}

function add(a: Vec, b: Vec): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** A site slot's raw output: (Σ_{s≤t} Σ_i f_s,i d_t,s,i + b_D(t)) / c_out(t) + error(t). */
function decode(state: FrozenState, site: number, t: number, leaves: Leaves): Float64Array {
  const { S, d } = state;
  const fs = state.sites[site]!;
  const w = fs.weights;
  const A = fs.cIn.length;
  const out = new Float64Array(S * d);
  for (let p = 0; p < S; p++) {
    const o = p * d;
    for (let c = 0; c < d; c++) out[o + c] = w.decBias[t]![c]!;
    for (let s = 0; s <= t; s++) {
      const D = w.dec[t]![s]!;
      for (let i = 0; i < w.F; i++) {
        const a = leaves.acts[site]![(p * A + s) * w.F + i]!;
        if (a === 0) continue;
        const r = D.offset + i * D.rowStride;
        for (let c = 0; c < d; c++) out[o + c]! += a * D.data[r + c * D.colStride]!;
      }
    }
    const inv = 1 / fs.cOut[t]![p]!;
    const err = leaves.errors[site]![t]!;
    for (let c = 0; c < d; c++) out[o + c] = out[o + c]! * inv + err[o + c]!;
  }
  return out;
}

/** Pre-activations of slot s of a transcoder/CLT site on its raw input x [S, d], into pre [S, A, F]. */
function encode(state: FrozenState, site: number, s: number, x: Vec, pre: Float64Array): void {
  const { S, d } = state;
  const fs = state.sites[site]!;
  const w = fs.weights;
  const A = fs.cIn.length;
  for (let p = 0; p < S; p++)
    for (let i = 0; i < w.F; i++)
      pre[(p * A + s) * w.F + i] = dotRow(w.enc[s]!, i, x, p * d, d) * fs.cIn[s]![p]! + w.encBias[s]![i]!;
}

/** A Lorsa's z_i(q) = Σ_k A_g(i),qk (c_in(k) x_k·W_V[i] + b_V[i]) with its frozen pattern, into pre [S, 1, F]. */
function encodeLorsa(state: FrozenState, site: number, x: Vec, pre: Float64Array): void {
  const { S, d } = state;
  const fs = state.sites[site]!;
  const w = fs.weights;
  const P = fs.lorsaPattern!;
  const v = new Float64Array(S * w.F);
  for (let k = 0; k < S; k++)
    for (let i = 0; i < w.F; i++)
      v[k * w.F + i] = dotRow(w.enc[0]!, i, x, k * d, d) * fs.cIn[0]![k]! + w.encBias[0]![i]!;
  for (let q = 0; q < S; q++)
    for (let i = 0; i < w.F; i++) {
      const row = (Math.floor(i / w.lorsaGroup) * S + q) * S;
      let z = 0;
      for (let k = 0; k <= q; k++) z += P[row + k]! * v[k * w.F + i]!;
      pre[q * w.F + i] = z;
    }
}

/** Runs the frozen replacement model on `leaves`. */
export function frozenForward(state: FrozenState, leaves: Leaves): FrozenValues {
  const { rm, S, d } = state;
  const cfg = rm.cfg;
  const pre = state.sites.map((s) => new Float64Array(s.acts.length));
  let resid: Float64Array = state.posEmbed ? add(leaves.embed, state.posEmbed) : Float64Array.from(leaves.embed);
  for (let l = 0; l < cfg.nLayers; l++) {
    const L = state.layers[l]!;
    const n1 = normForward(resid, L.ln1, S, d, alloc);
    const aRef = rm.attn[l];
    let attnOut: Vec;
    if (aRef) {
      const slot = rm.sites[aRef.site]!.slots[aRef.slot]!;
      encodeLorsa(state, aRef.site, slot.inAfterNorm ? n1 : resid, pre[aRef.site]!);
      attnOut = decode(state, aRef.site, aRef.slot, leaves);
      if (slot.outBeforePostNorm) attnOut = normForward(attnOut, L.ln1Post!, S, d, alloc);
    } else {
      attnOut = attentionForward(n1, L.attention, L.pattern!, S, d, alloc);
      if (L.ln1Post) attnOut = normForward(attnOut, L.ln1Post, S, d, alloc);
    }
    const mid = cfg.parallelResidual ? resid : add(resid, attnOut);
    const mRef = rm.mlp[l]!;
    const mSlot = rm.sites[mRef.site]!.slots[mRef.slot]!;
    const mlpIn = mSlot.inAfterNorm ? normForward(mid, L.ln2, S, d, alloc) : mid;
    encode(state, mRef.site, mRef.slot, mlpIn, pre[mRef.site]!);
    let mlpOut: Vec = decode(state, mRef.site, mRef.slot, leaves);
    if (mSlot.outBeforePostNorm) mlpOut = normForward(mlpOut, L.ln2Post!, S, d, alloc);
    resid = cfg.parallelResidual ? add(add(resid, attnOut), mlpOut) : add(mid, mlpOut);
  }
  const last = normForward(
    resid.subarray((S - 1) * d),
    { ...state.lnFinal, scale: state.lnFinal.scale.subarray(S - 1) },
    1,
    d,
    alloc,
  );
  const V = cfg.dVocab;
  const logits = new Float64Array(V);
  for (let c = 0; c < d; c++) {
    const x = last[c]!;
    for (let v = 0; v < V; v++) logits[v]! += x * state.W_U[c * V + v]!;
  }
  if (state.b_U) for (let v = 0; v < V; v++) logits[v]! += state.b_U[v]!;
  return { logits, pre };
}

// Rows of the attribution matrix without autograd (spec §6.1, §6.3): one reverse sweep through the frozen linear
// map for B targets at once, from the top of the model down. Each target injects its gradient where its value is
// read — a logit direction at ln_final's output (through the frozen final norm), a feature's encoder row at its
// site input (through the frozen ln1/ln2 when it reads a norm's output; a Lorsa row at every key k ≤ q, weighted by
// its frozen pattern) — and every source is read off where it writes: A[t, s] = ⟨source vector, g_t at that site⟩.
// The residual stream is the identity, the real MLPs are cut, a Lorsa cuts its real attention.
import { attentionBackward, normBackward, type Alloc, type FrozenNorm, type Vec } from './frozen-ops';
import type { FrozenState } from './frozen-state';
import { vectors, type SourceLayout, type WriterGroup } from './sources';
import { loadNativeBlas } from '../tensor/native/native-blas';

export type RowTarget =
  /** A direction at ln_final's output, last position (W_U[:, tok] − mean_v W_U[:, v] for a demeaned logit). */
  | { type: 'direction'; direction: Float64Array }
  | { type: 'feature'; site: number; slot: number; pos: number; index: number };

/** rows[b, col] += ⟨v, g[b, pos]⟩ for every writer of one site output (an sgemm per position in float32). */
function contract(
  rows: Vec,
  nCols: number,
  groups: readonly WriterGroup[],
  g: Vec,
  B: number,
  S: number,
  d: number,
): void {
  const blas = g instanceof Float32Array ? loadNativeBlas().blas : null;
  for (const w of groups) {
    if (w.pos >= S) continue; // past the sweep's positions, where every gradient is 0
    const n = w.cols.length;
    const vecs = blas ? new Float32Array(n * d) : new Float64Array(n * d);
    vectors(w, d, vecs);
    if (blas) {
      const out = new Float32Array(B * n);
      blas.sgemm(
        false,
        true,
        B,
        n,
        d,
        1,
        (g as Float32Array).subarray(w.pos * d),
        S * d,
        vecs as Float32Array,
        d,
        0,
        out,
        n,
      );
      for (let b = 0; b < B; b++) for (let j = 0; j < n; j++) rows[b * nCols + w.cols[j]!]! += out[b * n + j]!;
      continue;
    }
    for (let b = 0; b < B; b++) {
      const o = (b * S + w.pos) * d;
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += vecs[j * d + c]! * g[o + c]!;
        rows[b * nCols + w.cols[j]!]! += s;
      }
    }
  }
}

function addInto(g: Vec, x: Vec): void {
  for (let i = 0; i < g.length; i++) g[i]! += x[i]!;
}

/** Gradients that feature targets inject at the input of (site, slot) at this layer, [B·S, d] (null if none). */
function featureInjection(
  state: FrozenState,
  targets: readonly RowTarget[],
  S: number,
  site: number,
  slot: number,
  alloc: Alloc,
): Vec | null {
  const d = state.d;
  const fs = state.sites[site]!;
  const w = fs.weights;
  const P = state.S; // the stride of the frozen Lorsa pattern
  let out: Vec | null = null;
  targets.forEach((t, b) => {
    if (t.type !== 'feature' || t.site !== site || t.slot !== slot) return;
    out ??= alloc(targets.length * S * d);
    const e = w.enc[slot]!;
    // A Lorsa's z_i(q) reads every key k ≤ q through its frozen pattern; a transcoder reads its own position.
    const keys = w.lorsaGroup > 0 ? t.pos + 1 : 1;
    for (let j = 0; j < keys; j++) {
      const k = w.lorsaGroup > 0 ? j : t.pos;
      const a = w.lorsaGroup > 0 ? fs.lorsaPattern![(Math.floor(t.index / w.lorsaGroup) * P + t.pos) * P + k]! : 1;
      const scale = a * fs.cIn[slot]![k]!;
      if (scale === 0) continue;
      const o = (b * S + k) * d;
      const r = e.offset + t.index * e.rowStride;
      for (let c = 0; c < d; c++) out[o + c]! += scale * e.data[r + c * e.colStride]!;
    }
  });
  return out;
}

/** Rows [B, nCols] for `targets` (B = targets.length). */
export function reverseRows(
  state: FrozenState,
  layout: SourceLayout,
  targets: readonly RowTarget[],
  alloc: Alloc,
): Vec {
  const { rm, d } = state;
  const cfg = rm.cfg;
  const B = targets.length;
  const nCols = layout.nCols;
  const rows = alloc(B * nCols);
  // Gradients are 0 after the last target position (causal) and above the highest target layer: the sweep covers
  // positions [0, S) of that prefix only, from that layer down. Rows do not depend on it.
  const S = Math.max(...targets.map((t) => (t.type === 'direction' ? state.S : t.pos + 1)));
  const start = Math.max(
    ...targets.map((t) => (t.type === 'direction' ? cfg.nLayers - 1 : rm.sites[t.site]!.slots[t.slot]!.layer)),
  );
  const N = B * S;
  const norm = (n: FrozenNorm): FrozenNorm => ({ ...n, scale: n.scale.subarray(0, S) });
  const top = alloc(N * d);
  targets.forEach((t, b) => {
    if (t.type === 'direction') top.set(t.direction, (b * S + S - 1) * d);
  });
  let g = normBackward(top, norm(state.lnFinal), N, d, alloc); // at resid_post of the last layer
  for (let l = start; l >= 0; l--) {
    const L = state.layers[l]!;
    // MLP: read off its writers, cut the real MLP, inject the feature targets reading its input.
    const mRef = rm.mlp[l]!;
    const mSlot = rm.sites[mRef.site]!.slots[mRef.slot]!;
    const gm = mSlot.outBeforePostNorm ? normBackward(g, norm(L.ln2Post!), N, d, alloc) : g;
    contract(rows, nCols, layout.writers[mRef.site]![mRef.slot]!, gm, B, S, d);
    let mInj = featureInjection(state, targets, S, mRef.site, mRef.slot, alloc);
    if (mInj && mSlot.inAfterNorm) mInj = normBackward(mInj, norm(L.ln2), N, d, alloc);
    const gMid = alloc(N * d);
    gMid.set(g);
    if (mInj && !cfg.parallelResidual) addInto(gMid, mInj);
    // Attention: a Lorsa (its writers; the real attention cut) or the real heads with frozen patterns.
    const gPre = alloc(N * d);
    gPre.set(gMid);
    if (mInj && cfg.parallelResidual) addInto(gPre, mInj);
    const aRef = rm.attn[l];
    if (aRef) {
      const aSlot = rm.sites[aRef.site]!.slots[aRef.slot]!;
      const ga = aSlot.outBeforePostNorm ? normBackward(gMid, norm(L.ln1Post!), N, d, alloc) : gMid;
      contract(rows, nCols, layout.writers[aRef.site]![aRef.slot]!, ga, B, S, d);
      let aInj = featureInjection(state, targets, S, aRef.site, aRef.slot, alloc);
      if (aInj && aSlot.inAfterNorm) aInj = normBackward(aInj, norm(L.ln1), N, d, alloc);
      if (aInj) addInto(gPre, aInj);
    } else {
      const ga = L.ln1Post ? normBackward(gMid, norm(L.ln1Post), N, d, alloc) : gMid;
      const P = prefixPattern(L.pattern!, cfg.nHeads, state.S, S);
      const gn1 = attentionBackward(ga, L.attention, P, B, S, d, alloc);
      addInto(gPre, normBackward(gn1, norm(L.ln1), N, d, alloc));
    }
    g = gPre;
  }
  for (let b = 0; b < B; b++)
    for (let p = 0; p < S; p++) {
      let s = 0;
      for (let c = 0; c < d; c++) s += state.embed[p * d + c]! * g[(b * S + p) * d + c]!;
      rows[b * nCols + layout.embedCol + p] = s;
    }
  return rows;
}

/** The patterns [H, S, S] of the first `prefix` queries and keys, [H, prefix, prefix]. */
function prefixPattern(P: Float64Array, H: number, S: number, prefix: number): Float64Array {
  if (prefix === S) return P;
  const out = new Float64Array(H * prefix * prefix);
  for (let h = 0; h < H; h++)
    for (let q = 0; q < prefix; q++)
      out.set(P.subarray((h * S + q) * S, (h * S + q) * S + prefix), (h * prefix + q) * prefix);
  return out;
}

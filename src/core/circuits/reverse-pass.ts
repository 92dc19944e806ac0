// Rows of the attribution matrix without autograd (spec §6.1, §6.3): one reverse sweep through the frozen linear
// map for B targets at once, from the top of the model down. Each target injects its gradient where its value is
// read — a logit direction at ln_final's output (through the frozen final norm), a feature's encoder row at its
// site input (through the frozen ln1/ln2 when it reads a norm's output; a Lorsa row at every key k ≤ q, weighted by
// its frozen pattern) — and every source is read off where it writes: A[t, s] = ⟨source vector, g_t at that site⟩.
// The residual stream is the identity, the real MLPs are cut, a Lorsa cuts its real attention.
import { attentionBackward, normBackward, type Alloc, type Vec } from './frozen-ops';
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
  site: number,
  slot: number,
  alloc: Alloc,
): Vec | null {
  const { S, d } = state;
  const fs = state.sites[site]!;
  const w = fs.weights;
  let out: Vec | null = null;
  targets.forEach((t, b) => {
    if (t.type !== 'feature' || t.site !== site || t.slot !== slot) return;
    out ??= alloc(targets.length * S * d);
    const e = w.enc[slot]!;
    // A Lorsa's z_i(q) reads every key k ≤ q through its frozen pattern; a transcoder reads its own position.
    const keys = w.lorsaGroup > 0 ? t.pos + 1 : 1;
    for (let j = 0; j < keys; j++) {
      const k = w.lorsaGroup > 0 ? j : t.pos;
      const a = w.lorsaGroup > 0 ? fs.lorsaPattern![(Math.floor(t.index / w.lorsaGroup) * S + t.pos) * S + k]! : 1;
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
  const { rm, S, d } = state;
  const cfg = rm.cfg;
  const B = targets.length;
  const nCols = layout.nCols;
  const rows = alloc(B * nCols);
  const top = alloc(B * S * d);
  targets.forEach((t, b) => {
    if (t.type === 'direction') top.set(t.direction, (b * S + S - 1) * d);
  });
  let g = normBackward(top, state.lnFinal, B * S, d, alloc); // at resid_post of the last layer
  // Above the highest target the gradient is 0: the sweep starts there.
  const start = Math.max(
    ...targets.map((t) => (t.type === 'direction' ? cfg.nLayers - 1 : rm.sites[t.site]!.slots[t.slot]!.layer)),
  );
  for (let l = start; l >= 0; l--) {
    const L = state.layers[l]!;
    // MLP: read off its writers, cut the real MLP, inject the feature targets reading its input.
    const mRef = rm.mlp[l]!;
    const mSlot = rm.sites[mRef.site]!.slots[mRef.slot]!;
    const gm = mSlot.outBeforePostNorm ? normBackward(g, L.ln2Post!, B * S, d, alloc) : g;
    contract(rows, nCols, layout.writers[mRef.site]![mRef.slot]!, gm, B, S, d);
    let mInj = featureInjection(state, targets, mRef.site, mRef.slot, alloc);
    if (mInj && mSlot.inAfterNorm) mInj = normBackward(mInj, L.ln2, B * S, d, alloc);
    const gMid = alloc(B * S * d);
    gMid.set(g);
    if (mInj && !cfg.parallelResidual) addInto(gMid, mInj);
    // Attention: a Lorsa (its writers; the real attention cut) or the real heads with frozen patterns.
    const gPre = alloc(B * S * d);
    gPre.set(gMid);
    if (mInj && cfg.parallelResidual) addInto(gPre, mInj);
    const aRef = rm.attn[l];
    if (aRef) {
      const aSlot = rm.sites[aRef.site]!.slots[aRef.slot]!;
      const ga = aSlot.outBeforePostNorm ? normBackward(gMid, L.ln1Post!, B * S, d, alloc) : gMid;
      contract(rows, nCols, layout.writers[aRef.site]![aRef.slot]!, ga, B, S, d);
      let aInj = featureInjection(state, targets, aRef.site, aRef.slot, alloc);
      if (aInj && aSlot.inAfterNorm) aInj = normBackward(aInj, L.ln1, B * S, d, alloc);
      if (aInj) addInto(gPre, aInj);
    } else {
      const ga = L.ln1Post ? normBackward(gMid, L.ln1Post, B * S, d, alloc) : gMid;
      const gn1 = attentionBackward(ga, L.attention, L.pattern!, B, S, d, alloc);
      addInto(gPre, normBackward(gn1, L.ln1, B * S, d, alloc));
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

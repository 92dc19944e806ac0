// The per-position bias leaves QK tracing attributes to (spec §6.2, §7 step 4; lm-saes `hook_b_*`, Neuronpedia
// `{L}_bias_{kind}_{pos}`), as extra columns after the run's sources:
//   tc_bD / lorsa_bD — a site's decoder bias b_D(t)/c_out(t, p), written at its output like an error vector;
//   attn_bO          — the real attention's constant output at p (b_O, and b_V through the frozen pattern), read
//                      where the same layer's MLP writes (equal gradients there: the readout rows inject nothing at
//                      an MLP input); only for layers without post-norms, else it stays in the constant;
//   lorsa_bQ / _bK   — the traced Lorsa's own b_Q at the query and b_K at the key (no reverse pass: the readout's
//                      bias is that leaf's component directly).
// Positional embeddings and norm offsets are no leaves: they stay in each side's constant.
import type { BiasKind, BiasNode } from '../../protocol/circuits/node-ids';
import { attentionForward } from './frozen-ops';
import type { FrozenState } from './frozen-state';
import type { RowView } from './site-weights';
import type { SourceLayout, WriterGroup } from './sources';

export interface BiasColumns {
  /** The run's layout with the decoder-bias and attn_bO writers appended (columns layout.nCols onwards). */
  layout: SourceLayout;
  /** What each column from the run's layout.nCols stands for. */
  nodes: BiasNode[];
  /** Column of a Lorsa site's b_Q (or b_K) leaf at a position: `${site}/${Q|K}/${pos}`. */
  lorsaColumn: Map<string, number>;
}

const nonzero = (v: ArrayLike<number>, from = 0, to = v.length) => {
  for (let i = from; i < to; i++) if (v[i] !== 0) return true;
  return false;
};

/** The run's layout with every bias leaf as a column of its own. */
export function biasColumns(state: FrozenState, layout: SourceLayout): BiasColumns {
  const { rm, S, d } = state;
  const nodes: BiasNode[] = [];
  const writers = layout.writers.map((slots) => slots.map((groups) => [...groups]));
  const add = (node: BiasNode, site: number, slot: number, view: RowView, row: number, scale: number) => {
    const group: WriterGroup = {
      pos: node.pos,
      cols: Int32Array.of(layout.nCols + nodes.length),
      views: [view],
      rows: Int32Array.of(row),
      scales: Float64Array.of(scale),
    };
    writers[site]![slot]!.push(group);
    nodes.push(node);
  };
  rm.sites.forEach((site, si) => {
    const fs = state.sites[si]!;
    const bias: BiasKind = site.role === 'lorsa' ? 'lorsa_bD' : 'tc_bD';
    site.slots.forEach((slot, t) => {
      const b = fs.weights.decBias[t]!;
      if (!nonzero(b)) return;
      const view: RowView = { data: b, offset: 0, rowStride: 0, colStride: 1 };
      for (let pos = 0; pos < S; pos++)
        add({ kind: 'bias', layer: slot.layer, pos, bias }, si, t, view, 0, 1 / fs.cOut[t]![pos]!);
    });
  });
  state.layers.forEach((L, l) => {
    const mRef = rm.mlp[l]!;
    if (rm.attn[l] || L.ln1Post || rm.sites[mRef.site]!.slots[mRef.slot]!.outBeforePostNorm) return;
    const out = attentionForward(new Float64Array(S * d), L.attention, L.pattern!, S, d, (n) => new Float64Array(n));
    const view: RowView = { data: out, offset: 0, rowStride: d, colStride: 1 };
    for (let pos = 0; pos < S; pos++)
      if (nonzero(out, pos * d, (pos + 1) * d))
        add({ kind: 'bias', layer: l, pos, bias: 'attn_bO' }, mRef.site, mRef.slot, view, pos, 1);
  });
  const lorsaColumn = new Map<string, number>();
  rm.sites.forEach((site, si) => {
    if (site.role !== 'lorsa') return;
    for (const side of ['Q', 'K'] as const)
      for (let pos = 0; pos < S; pos++) {
        lorsaColumn.set(`${si}/${side}/${pos}`, layout.nCols + nodes.length);
        nodes.push({ kind: 'bias', layer: site.slots[0]!.layer, pos, bias: side === 'Q' ? 'lorsa_bQ' : 'lorsa_bK' });
      }
  });
  // The Lorsa b_Q/b_K columns have no writers: the reverse pass leaves them 0 and qkComponents fills them in.
  return { layout: { ...layout, writers, nCols: layout.nCols + nodes.length }, nodes, lorsaColumn };
}

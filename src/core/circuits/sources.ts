// The graph's sources (spec §6.2) in circuit-tracer's column order: active features sorted by (layer, sublayer —
// attention before MLP —, pos, index), error nodes by (layer, sublayer, pos), then one embedding per position.
// Features and errors at the first `zeroFirst` positions are not nodes (circuit-tracer's zero_bos): their
// contributions stay in the constants. Each source also gets the vector it writes at each site output it reaches.
import type { Sublayer } from '../../protocol/circuits/graph';
import type { Leaves } from './frozen-forward';
import type { FrozenState } from './frozen-state';
import { readRow, type RowView } from './site-weights';

export interface FeatureSource {
  site: number;
  slot: number;
  layer: number;
  sublayer: Sublayer;
  pos: number;
  index: number;
  activation: number;
}

export interface ErrorSource {
  site: number;
  slot: number;
  layer: number;
  sublayer: Sublayer;
  pos: number;
}

/**
 * The columns writing into one site output (site, out slot) at one position: column cols[j] adds ⟨v_j, g⟩ where
 * v_j = scales[j] × row rows[j] of views[j] (a decoder row times activation / c_out, or an error vector). Held as
 * views, not copies: gathered per sweep (vectors()).
 */
export interface WriterGroup {
  pos: number;
  cols: Int32Array;
  views: RowView[];
  rows: Int32Array;
  scales: Float64Array;
}

/** The group's vectors [n, d] into a float32 or float64 buffer. */
export function vectors(w: WriterGroup, d: number, out: Float32Array | Float64Array): void {
  w.views.forEach((v, j) => readRow(v, w.rows[j]!, d, out, j * d, w.scales[j]!));
}

export interface SourceLayout {
  features: FeatureSource[];
  errors: ErrorSource[];
  /** Number of columns: features + errors + S embeddings. */
  nCols: number;
  /** Column of the embedding at position 0. */
  embedCol: number;
  /** Features and errors at positions before this are not nodes. */
  zeroFirst: number;
  /** writers[site][outSlot]: the feature and error columns writing into that output, by position. */
  writers: WriterGroup[][][];
}

const SUBLAYER_ORDER: Record<Sublayer, number> = { attn: 0, mlp: 1 };

/** Lists the active features and the error nodes and their vectors. */
export function sourceLayout(state: FrozenState, zeroFirst: number): SourceLayout {
  const { rm, S, d } = state;
  const features: FeatureSource[] = [];
  const errors: ErrorSource[] = [];
  rm.sites.forEach((site, si) => {
    const fs = state.sites[si]!;
    const A = site.slots.length;
    const F = fs.weights.F;
    site.slots.forEach((slot, a) => {
      for (let pos = 0; pos < S; pos++) {
        errors.push({ site: si, slot: a, layer: slot.layer, sublayer: site.sublayer, pos });
        if (pos < zeroFirst) continue;
        for (let index = 0; index < F; index++) {
          const activation = fs.acts[(pos * A + a) * F + index]!;
          if (activation !== 0)
            features.push({ site: si, slot: a, layer: slot.layer, sublayer: site.sublayer, pos, index, activation });
        }
      }
    });
  });
  const key = (x: { layer: number; sublayer: Sublayer; pos: number }) => [x.layer, SUBLAYER_ORDER[x.sublayer], x.pos];
  const byKey =
    <T extends { layer: number; sublayer: Sublayer; pos: number }>(extra: (t: T) => number) =>
    (a: T, b: T) => {
      const ka = [...key(a), extra(a)];
      const kb = [...key(b), extra(b)];
      for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
      return 0;
    };
  features.sort(byKey((f) => f.index));
  errors.sort(byKey(() => 0));
  type Entry = { col: number; view: RowView; row: number; scale: number };
  const lists = rm.sites.map((site) => site.slots.map(() => new Map<number, Entry[]>()));
  const push = (site: number, slot: number, pos: number, e: Entry) => {
    const m = lists[site]![slot]!;
    if (!m.has(pos)) m.set(pos, []);
    m.get(pos)!.push(e);
  };
  features.forEach((f, col) => {
    const fs = state.sites[f.site]!;
    // A feature of slot s writes into every output slot t ≥ s of its site (a CLT's later layers; else t = s).
    for (let t = f.slot; t < fs.weights.dec.length; t++)
      push(f.site, t, f.pos, {
        col,
        view: fs.weights.dec[t]![f.slot]!,
        row: f.index,
        scale: f.activation / fs.cOut[t]![f.pos]!,
      });
  });
  errors.forEach((e, i) => {
    if (e.pos < zeroFirst) return; // a zero vector: the error there is a constant
    const view = { data: state.sites[e.site]!.error[e.slot]!, offset: 0, rowStride: d, colStride: 1 };
    push(e.site, e.slot, e.pos, { col: features.length + i, view, row: e.pos, scale: 1 });
  });
  const writers = lists.map((slots) =>
    slots.map((m) =>
      [...m.entries()].map(([pos, list]): WriterGroup => ({
        pos,
        cols: Int32Array.from(list, (x) => x.col),
        views: list.map((x) => x.view),
        rows: Int32Array.from(list, (x) => x.row),
        scales: Float64Array.from(list, (x) => x.scale),
      })),
    ),
  );
  const embedCol = features.length + errors.length;
  return { features, errors, nCols: embedCol + S, embedCol, zeroFirst, writers };
}

/** The leaves with every node source zeroed: what is left is the constants-only pass (c_t). */
export function constantLeaves(state: FrozenState, layout: SourceLayout, leaves: Leaves): Leaves {
  const { d } = state;
  const out: Leaves = {
    embed: new Float64Array(leaves.embed.length),
    acts: leaves.acts.map((a) => Float64Array.from(a)),
    errors: leaves.errors.map((e) => e.map((x) => Float64Array.from(x))),
  };
  for (const f of layout.features) {
    const A = state.rm.sites[f.site]!.slots.length;
    out.acts[f.site]![(f.pos * A + f.slot) * state.sites[f.site]!.weights.F + f.index] = 0;
  }
  for (const e of layout.errors)
    if (e.pos >= layout.zeroFirst) out.errors[e.site]![e.slot]!.fill(0, e.pos * d, (e.pos + 1) * d);
  return out;
}

// QK tracing for Lorsa heads (spec §7, lm-saes `qk_tracing`): which pre-softmax score a traced Lorsa feature
// attends with — its QK head's score between its query and the argmax key — and what that score comes from. The
// per-source components q_s, k_s of q̃ and k̃ come straight from the engine's reverse pass (d_qk rows per side,
// through the frozen linear map, qk-readout.ts), so the Q/K marginals and the bilinear pairs follow exactly from
// protocol/circuits/qk.ts, with no double backward.
//
// Sources are the graph's column set before the cap — every active feature of every site at every position (not
// only the collected ones; graph-json puts the others in qk_only_nodes), every error node and every embedding —
// then the per-position bias leaves (qk-bias-leaves.ts). What no source carries — positional embeddings, norm
// offsets, features and errors at the zeroed first positions — is the constant of each side: q_const = q̃ − Σ_s q_s
// (likewise k).
import { InputError } from '../errors';
import type { GraphNode } from '../../protocol/circuits/graph';
import type { QkSource } from '../../protocol/circuits/node-ids';
import { resolveQkTracing, type QkNodeTracing } from '../../protocol/circuits/graph-json';
import { nodeInfluence } from '../../protocol/circuits/influence';
import { traceQk, type QkComponents, type QkRanking, type QkTracingResult } from '../../protocol/circuits/qk';
import { lorsaRotWidth } from '../dictionary/kinds/lorsa-math';
import type { AttributionRun } from './attribute';
import { allocFor } from './frozen-ops';
import { biasColumns, type BiasColumns } from './qk-bias-leaves';
import { argmaxKey, lorsaConfigOf, qkReadout, readoutState, realQk, type QkReadout, type QkSlot } from './qk-readout';
import { reverseRows, type RowTarget } from './reverse-pass';

export type { QkSlot } from './qk-readout';

export interface QkTracingOptions {
  /** Marginals and pairs kept per traced slot (lm-saes qk_tracing_topk; default 10). */
  qk_tracing_topk?: number;
  /** Fraction of the collected Lorsa features traced, by influence (lm-saes qk_top_fraction; default 0.6). */
  qk_top_fraction?: number;
  /** 'signed' (lm-saes) or 'abs' (|value|, which also shows strongly negative contributors); default 'signed'. */
  ranking?: QkRanking;
}

/** One de-duplicated slot, its traced features and its result over the run's sources. */
export interface TracedQkSlot extends QkSlot {
  dictionary: string;
  layer: number;
  /** Graph node indices of the traced features that share this slot. */
  nodes: number[];
  result: QkTracingResult;
  /** q_const·k̃ and k_const·q̃: score = Σ_s a_Q[s] + constantQ = Σ_s a_K[s] + constantK. */
  constantQ: number;
  constantK: number;
}

export interface LorsaQkTracing {
  slots: TracedQkSlot[];
  /** Per traced feature node (graph index): its slot's result with named sources (GraphToJsonOptions.qkTracing). */
  byNode: Map<number, QkNodeTracing>;
  /** What each source index of the results stands for: run.layout's columns, then the bias leaves. */
  sources: QkSource[];
}

/** Elements of one [B, S, d] gradient buffer at most, as the engine's sweeps. */
const SWEEP_ELEMENTS = 1 << 24;

function checkOptions(opts: QkTracingOptions): Required<QkTracingOptions> {
  const topk = opts.qk_tracing_topk ?? 10;
  const fraction = opts.qk_top_fraction ?? 0.6;
  const ranking = opts.ranking ?? 'signed';
  if (!Number.isInteger(topk) || topk <= 0)
    throw new InputError(`QK tracing: field 'qk_tracing_topk': ${topk}, expected a positive integer`);
  if (!(fraction > 0 && fraction <= 1))
    throw new InputError(`QK tracing: field 'qk_top_fraction': ${fraction}, expected a number in (0, 1]`);
  if (ranking !== 'signed' && ranking !== 'abs')
    throw new InputError(`QK tracing: field 'ranking': '${String(ranking)}', expected 'signed' or 'abs'`);
  return { qk_tracing_topk: topk, qk_top_fraction: fraction, ranking };
}

/** The graph's collected Lorsa feature nodes ranked by w·influence, the top max(1, ⌊fraction·n⌋) kept. */
export function selectQkFeatures(run: AttributionRun, fraction: number): number[] {
  const { graph } = run;
  const lorsa = graph.nodes.flatMap((n, i) =>
    n.kind === 'feature' && run.state.rm.sites[run.layout.features[run.featureColumns[i]!]!.site]!.role === 'lorsa'
      ? [i]
      : [],
  );
  if (lorsa.length === 0) return [];
  const influence = nodeInfluence(graph);
  const keep = Math.max(1, Math.floor(fraction * lorsa.length));
  return lorsa.sort((a, b) => influence[b]! - influence[a]! || a - b).slice(0, keep);
}

/** The de-duplicated slots (site, head, query, argmax key) of the given Lorsa feature nodes, with their nodes. */
export function qkSlots(run: AttributionRun, nodes: readonly number[]): (QkSlot & { nodes: number[] })[] {
  const slots = new Map<string, QkSlot & { nodes: number[] }>();
  for (const i of nodes) {
    const f = run.layout.features[run.featureColumns[i]!]!;
    const site = run.state.rm.sites[f.site]!;
    if (site.role !== 'lorsa' || run.graph.nodes[i]!.kind !== 'feature')
      throw new Error(`QK tracing: graph node ${i} is not a Lorsa feature`);
    const head = Math.floor(f.index / run.state.sites[f.site]!.weights.lorsaGroup);
    const id = `${f.site}/${head}/${f.pos}`; // the key follows from (site, head, query)
    const slot = slots.get(id);
    if (slot) slot.nodes.push(i);
    else
      slots.set(id, {
        site: f.site,
        head,
        query: f.pos,
        key: argmaxKey(run.state, f.site, head, f.pos),
        nodes: [i],
      });
  }
  return [...slots.values()];
}

/** What each column of the run's layout stands for, as a graph node. */
export function qkSources(run: AttributionRun): GraphNode[] {
  const { layout, state } = run;
  return [
    ...layout.features.map((f): GraphNode => ({
      kind: 'feature',
      layer: f.layer,
      sublayer: f.sublayer,
      pos: f.pos,
      feature: f.index,
      activation: f.activation,
      dictionary: state.rm.sites[f.site]!.name,
    })),
    ...layout.errors.map((e): GraphNode => ({ kind: 'error', layer: e.layer, sublayer: e.sublayer, pos: e.pos })),
    ...state.ids.map((tokenId, pos): GraphNode => ({ kind: 'embedding', pos, tokenId })),
  ];
}

/** A slot's two readouts: q̃ of its head at the query, k̃ at the key. */
const readouts = (run: AttributionRun, s: QkSlot): [QkReadout, QkReadout] => [
  qkReadout(run.state, s.site, s.head, s.query, 'Q'),
  qkReadout(run.state, s.site, s.head, s.key, 'K'),
];

/**
 * The per-source components of q̃ and k̃ for each slot (spec §7 steps 3–5): 2·d_qk reverse-pass rows per slot,
 * several slots per sweep, over run.layout's columns and then the bias leaves. Constants are q̃ − Σ_s q_s and
 * k̃ − Σ_s k_s, with q̃, k̃ the real pass's. Handed to `visit` one slot at a time (a slot's components are
 * [n_sources, d_qk] per side: only a sweep's worth is held at once).
 */
export function forEachQkComponents(
  run: AttributionRun,
  slots: readonly QkSlot[],
  bias: BiasColumns,
  visit: (slot: number, components: QkComponents) => void,
): void {
  const { state, settings } = run;
  const layout = bias.layout;
  const nCols = layout.nCols;
  const perSweep = Math.max(1, Math.min(settings.batch_size, Math.floor(SWEEP_ELEMENTS / (state.S * state.d))));
  let done = 0;
  for (let first = 0; first < slots.length;) {
    // Slots of this sweep: as many as fit in perSweep rows (at least one).
    const batch: { slot: QkSlot; sides: [QkReadout, QkReadout] }[] = [];
    let rowCount = 0;
    while (first < slots.length) {
      const dr = lorsaRotWidth(lorsaConfigOf(state, slots[first]!.site));
      if (batch.length > 0 && rowCount + 2 * dr > perSweep) break;
      batch.push({ slot: slots[first]!, sides: readouts(run, slots[first]!) });
      rowCount += 2 * dr;
      first++;
    }
    const blocksBySite = new Map<number, Float64Array[]>(); // readout rows per site, [dr, d] blocks
    const targets: RowTarget[] = [];
    for (const { slot, sides } of batch) {
      const blocks = blocksBySite.get(slot.site) ?? [];
      blocksBySite.set(slot.site, blocks);
      for (const side of sides) {
        const base = blocks.reduce((n, b) => n + b.length, 0) / state.d; // the side's first readout index
        blocks.push(side.rows);
        for (let j = 0; j < side.bias.length; j++)
          targets.push({ type: 'feature', site: slot.site, slot: 0, pos: side.pos, index: base + j });
      }
    }
    const readState = readoutState(state, new Map([...blocksBySite].map(([site, b]) => [site, concat(b)])));
    const rows = reverseRows(readState, layout, targets, allocFor(settings.dtype)); // [targets, nCols]
    let r = 0;
    for (const { slot, sides } of batch) {
      const [q, k] = sides.map((side, which) => {
        const dr = side.bias.length;
        const comp = new Float64Array(nCols * dr); // [nCols, dr]: the transpose of the side's rows
        for (let j = 0; j < dr; j++, r++) for (let c = 0; c < nCols; c++) comp[c * dr + j] = rows[r * nCols + c]!;
        const own = bias.lorsaColumn.get(`${slot.site}/${which === 0 ? 'Q' : 'K'}/${side.pos}`)!;
        comp.set(side.bias, own * dr); // the Lorsa's own b_Q (b_K) leaf
        const real = realQk(state, slot.site, slot.head, side.pos, which === 0 ? 'Q' : 'K');
        const constant = Float64Array.from(real);
        for (let c = 0; c < nCols; c++) for (let j = 0; j < dr; j++) constant[j]! -= comp[c * dr + j]!;
        return { comp, constant, dr };
      }) as [Part, Part];
      visit(done++, { q: q.comp, k: k.comp, dQk: q.dr, qConstant: q.constant, kConstant: k.constant });
    }
  }
}

/** forEachQkComponents collected (small graphs and checks). */
export function qkComponents(
  run: AttributionRun,
  slots: readonly QkSlot[],
  bias: BiasColumns = biasColumns(run.state, run.layout),
): QkComponents[] {
  const out: QkComponents[] = [];
  forEachQkComponents(run, slots, bias, (_, c) => out.push(c));
  return out;
}

type Part = { comp: Float64Array; constant: Float64Array; dr: number };

function concat(blocks: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/**
 * QK tracing of an attribution run (spec §7): the top qk_top_fraction of its collected Lorsa features by
 * influence, one traced score per distinct (site, QK head, query, argmax key), each with its top-k Q and K
 * marginals and bilinear pairs ranked signed or by |value|.
 */
export function traceLorsaQk(run: AttributionRun, options: QkTracingOptions = {}): LorsaQkTracing {
  const opts = checkOptions(options);
  const bias = biasColumns(run.state, run.layout);
  const sources: QkSource[] = [...qkSources(run), ...bias.nodes];
  const slots = qkSlots(run, selectQkFeatures(run, opts.qk_top_fraction));
  const byNode = new Map<number, QkNodeTracing>();
  const traced: TracedQkSlot[] = [];
  const dot = (x: ArrayLike<number>, y: ArrayLike<number>) => Array.from(x).reduce((a, v, j) => a + v * y[j]!, 0);
  forEachQkComponents(run, slots, bias, (i, c) => {
    const s = slots[i]!;
    const result = traceQk(c, { topk: opts.qk_tracing_topk, ranking: opts.ranking });
    const named = resolveQkTracing(result, sources);
    s.nodes.forEach((n) => byNode.set(n, named));
    const site = run.state.rm.sites[s.site]!;
    const m = { q: realQk(run.state, s.site, s.head, s.query, 'Q'), k: realQk(run.state, s.site, s.head, s.key, 'K') };
    traced.push({
      ...s,
      dictionary: site.name,
      layer: site.slots[0]!.layer,
      result,
      constantQ: dot(c.qConstant!, m.k),
      constantK: dot(c.kConstant!, m.q),
    });
  });
  return { slots: traced, byNode, sources };
}

// The exact invariants of an attribution graph in the frozen replacement model (spec §8 items 1–4), checked
// against the engine's own frozen forward pass: completeness of every row, perturbation of a source = its edge
// weight, and the structural zeros. Shared by the engine's test files.
import { expect } from 'vitest';
import type { AttributionRun } from '../../../src/core/circuits/attribute';
import { frozenForward, realLeaves, type FrozenValues, type Leaves } from '../../../src/core/circuits/frozen-forward';
import { constantLeaves } from '../../../src/core/circuits/sources';
import type { GraphNode } from '../../../src/protocol/circuits/graph';

/** The value of every node's row (0 for nodes without a row) under `values`. */
export function rowValues(run: AttributionRun, values: FrozenValues): Float64Array {
  const { graph, layout, featureColumns, state, targets } = run;
  const out = new Float64Array(graph.nodes.length);
  featureColumns.forEach((c, i) => {
    const f = layout.features[c]!;
    const A = state.rm.sites[f.site]!.slots.length;
    out[i] = values.pre[f.site]![(f.pos * A + f.slot) * state.sites[f.site]!.weights.F + f.index]!;
  });
  const mean = values.logits.reduce((a, b) => a + b, 0) / values.logits.length;
  const first = graph.nodes.length - targets.logits.length;
  targets.logits.forEach((t, k) => {
    const sub = t.contrastTokenId === undefined ? mean : values.logits[t.contrastTokenId]!;
    out[first + k] = values.logits[t.tokenId]! - sub;
  });
  return out;
}

export const hasRow = (n: GraphNode) => n.kind === 'feature' || n.kind === 'logit';

/** |got − want| / (Σ_s |A[t, s]| + |want|) over the rows: the error relative to the row's own scale. */
function rowError(run: AttributionRun, t: number, got: number, want: number): number {
  const n = run.graph.nodes.length;
  let scale = Math.abs(want);
  for (let s = 0; s < n; s++) scale += Math.abs(run.graph.adjacency[t * n + s]!);
  return Math.abs(got - want) / Math.max(scale, 1e-30);
}

/** value_t − c_t = Σ_s A[t, s] for every row (the graph must hold every active feature). */
export function expectComplete(run: AttributionRun, tol: number, label: string): void {
  const { graph, state, layout } = run;
  expect(run.featureColumns.length, `${label}: uncapped graph`).toBe(layout.features.length);
  const real = realLeaves(state);
  const v = rowValues(run, frozenForward(state, real));
  const c = rowValues(run, frozenForward(state, constantLeaves(state, layout, real)));
  const n = graph.nodes.length;
  let worst = 0;
  let rows = 0;
  graph.nodes.forEach((node, t) => {
    if (!hasRow(node)) return;
    rows++;
    let sum = 0;
    for (let s = 0; s < n; s++) sum += graph.adjacency[t * n + s]!;
    worst = Math.max(worst, rowError(run, t, sum, v[t]! - c[t]!));
  });
  expect(rows, `${label}: rows`).toBeGreaterThan(0);
  expect(worst, `${label}: completeness, worst relative error`).toBeLessThanOrEqual(tol);
}

/** The leaves with graph node `j` (a feature, error or embedding) scaled by (1 + α). */
export function perturbed(run: AttributionRun, j: number, alpha: number): Leaves {
  const { state, layout, featureColumns } = run;
  const leaves = realLeaves(state);
  const node = run.graph.nodes[j]!;
  const d = state.d;
  if (node.kind === 'feature') {
    const f = layout.features[featureColumns[j]!]!;
    const A = state.rm.sites[f.site]!.slots.length;
    leaves.acts[f.site]![(f.pos * A + f.slot) * state.sites[f.site]!.weights.F + f.index]! *= 1 + alpha;
  } else if (node.kind === 'error') {
    const e = layout.errors[j - featureColumns.length]!;
    const err = leaves.errors[e.site]![e.slot]!;
    for (let c = 0; c < d; c++) err[e.pos * d + c]! *= 1 + alpha;
  } else if (node.kind === 'embedding') {
    for (let c = 0; c < d; c++) leaves.embed[node.pos * d + c]! *= 1 + alpha;
  } else throw new Error(`node ${j} is a ${node.kind}, not a source`);
  return leaves;
}

/** Scaling source j by (1 + α) in the frozen model moves every row t by α·A[t, j]. */
export function expectPerturbation(run: AttributionRun, j: number, alpha: number, tol: number, label: string): void {
  const { graph, state } = run;
  const n = graph.nodes.length;
  const base = rowValues(run, frozenForward(state, realLeaves(state)));
  const moved = rowValues(run, frozenForward(state, perturbed(run, j, alpha)));
  let worst = 0;
  let nonzero = 0;
  graph.nodes.forEach((node, t) => {
    if (!hasRow(node)) return;
    const a = graph.adjacency[t * n + j]!;
    if (a !== 0) nonzero++;
    worst = Math.max(worst, rowError(run, t, moved[t]! - base[t]!, alpha * a));
  });
  expect(nonzero, `${label}: source ${j} has edges`).toBeGreaterThan(0);
  expect(worst, `${label}: perturbation of node ${j} (${graph.nodes[j]!.kind})`).toBeLessThanOrEqual(tol);
}

/** (layer, sublayer) order: embeddings −1, attention 2L, MLP 2L + 1, logits 2·nLayers. */
export function nodeOrder(node: GraphNode, nLayers: number): number {
  switch (node.kind) {
    case 'embedding':
      return -1;
    case 'logit':
      return 2 * nLayers;
    default:
      return 2 * node.layer + (node.sublayer === 'mlp' ? 1 : 0);
  }
}

/** No edge from a later or equal (layer, sublayer) or a later position; no rows for errors and embeddings. */
export function expectStructure(run: AttributionRun, label: string): void {
  const { graph } = run;
  const n = graph.nodes.length;
  let violations = 0;
  let edges = 0;
  graph.nodes.forEach((t, i) => {
    for (let j = 0; j < n; j++) {
      const a = graph.adjacency[i * n + j]!;
      if (a === 0) continue;
      edges++;
      const s = graph.nodes[j]!;
      const ok = hasRow(t) && nodeOrder(s, graph.nLayers) < nodeOrder(t, graph.nLayers) && s.pos <= t.pos;
      if (!ok) violations++;
    }
  });
  expect(edges, `${label}: edges`).toBeGreaterThan(0);
  expect(violations, `${label}: edges against the (layer, sublayer, position) order`).toBe(0);
}

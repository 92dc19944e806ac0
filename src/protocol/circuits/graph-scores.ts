// How much of a graph's computation runs through features rather than error nodes (circuit-tracer
// compute_graph_scores), for the whole graph and for a pinned subgraph whose other features are merged into the
// error node of their site and position (circuit-tracer PR #42, compute_subgraph_scores).
import type { Sublayer } from './graph';
import {
  CIRCUIT_TRACER_CLAMP,
  checkSquare,
  computeInfluenceSparse,
  type AdjacencyMatrix,
  type GraphMatrix,
} from './influence';
import { sparseRowScales, sparseRows } from './sparse-rows';

export interface GraphScores {
  /** Influence of the embeddings / (influence of the embeddings + influence of the errors). */
  replacement: number;
  /** Σ_n (1 − Σ_err Â[n, err])·(I[n] + w[n]) / Σ_n (I[n] + w[n]). */
  completeness: number;
}

/**
 * replacement = I(embeddings) / (I(embeddings) + I(errors)); completeness = the influence-weighted fraction of
 * every node's normalized input that does not come from error nodes (rows without inputs count as 1, as in
 * circuit-tracer). A graph with no influence at all scores NaN.
 */
export function graphScores(graph: GraphMatrix): GraphScores {
  const { nodes, adjacency: a, targetWeights: w } = graph;
  const n = nodes.length;
  checkSquare(a, n, 'graphScores');
  const sp = sparseRows(a, n);
  const influence = computeInfluenceSparse(sp, w, { clamp: CIRCUIT_TRACER_CLAMP });
  const scales = sparseRowScales(sp, CIRCUIT_TRACER_CLAMP);
  const isError = Uint8Array.from(nodes, (x) => (x.kind === 'error' ? 1 : 0));
  let tokenInfluence = 0;
  let errorInfluence = 0;
  nodes.forEach((node, i) => {
    if (node.kind === 'embedding') tokenInfluence += influence[i]!;
    if (node.kind === 'error') errorInfluence += influence[i]!;
  });
  let weighted = 0;
  let total = 0;
  for (let t = 0; t < n; t++) {
    const output = influence[t]! + w[t]!;
    let fromErrors = 0;
    for (let k = sp.rowStart[t]!; k < sp.rowStart[t + 1]!; k++) if (isError[sp.cols[k]!]) fromErrors += sp.abs[k]!;
    weighted += (1 - fromErrors * scales[t]!) * output;
    total += output;
  }
  return { replacement: tokenInfluence / (tokenInfluence + errorInfluence), completeness: weighted / total };
}

/** Masks of a pruned graph (from pruneGraph) to score the pruned graph rather than the full one. */
export interface PruneMasks {
  nodeMask: Uint8Array;
  edgeMask: Uint8Array;
}

const siteKey = (layer: number, sublayer: Sublayer, pos: number): string => `${layer}/${sublayer}/${pos}`;

/**
 * The adjacency of a subgraph: with `pruned`, the pruned graph first (rows and columns of dropped nodes and
 * dropped edges zeroed); then every feature not in `pinned` is merged into the error node of its site (layer,
 * sublayer) and position: its column is added to the error's column, and its row and column are zeroed.
 * circuit-tracer PR #42 applies the pruning masks after the merge, so a merged edge survives only where the
 * error's own edge was kept; here the masks come first, so a kept edge of an unpinned feature becomes error mass.
 * Without masks both orders agree.
 */
export function subgraphAdjacency(graph: GraphMatrix, pinned: Iterable<number>, pruned?: PruneMasks): AdjacencyMatrix {
  const { nodes, adjacency } = graph;
  const n = nodes.length;
  checkSquare(adjacency, n, 'subgraphAdjacency');
  const m = adjacency instanceof Float32Array ? Float32Array.from(adjacency) : Float64Array.from(adjacency);
  if (pruned) {
    for (let t = 0; t < n; t++) {
      for (let s = 0; s < n; s++) {
        const i = t * n + s;
        if (!pruned.edgeMask[i] || !pruned.nodeMask[t] || !pruned.nodeMask[s]) m[i] = 0;
      }
    }
  }
  const errorOf = new Map<string, number>();
  nodes.forEach((node, i) => {
    if (node.kind === 'error') errorOf.set(siteKey(node.layer, node.sublayer, node.pos), i);
  });
  const keep = new Set(pinned);
  nodes.forEach((node, f) => {
    if (node.kind !== 'feature' || keep.has(f)) return;
    const e = errorOf.get(siteKey(node.layer, node.sublayer, node.pos));
    if (e === undefined) {
      throw new Error(
        `subgraph scores: feature ${f} (layer ${node.layer} ${node.sublayer}, pos ${node.pos}) has no error node to merge into`,
      );
    }
    for (let t = 0; t < n; t++) {
      m[t * n + e]! += m[t * n + f]!;
      m[t * n + f] = 0;
    }
    m.fill(0, f * n, (f + 1) * n);
  });
  return m;
}

/** Replacement and completeness of the subgraph of pinned node indices (non-feature pins change nothing). */
export function subgraphScores(graph: GraphMatrix, pinned: Iterable<number>, pruned?: PruneMasks): GraphScores {
  return graphScores({ ...graph, adjacency: subgraphAdjacency(graph, pinned, pruned) });
}

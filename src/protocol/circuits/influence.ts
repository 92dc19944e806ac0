// Influence of every node of an attribution graph on its targets, and pruning by cumulative influence (spec §6.5,
// after circuit-tracer `graph.py`: normalize_matrix, compute_influence, find_threshold, prune_graph; and lm-saes
// `prune_attribution`). Pure functions over the dense adjacency A[target, source] (row-major n×n, float32 or
// float64); the row-normalized |A| is never materialised: Â[t, s] = |A[t, s]| · scale[t]. All sums run in float64
// whatever the adjacency's precision (circuit-tracer sums in the matrix's dtype, so masks can differ from its on
// scores that tie to float32 rounding).
import type { AttributionGraph, GraphNode } from './graph';
import { sparsePropagate, sparseRowScales, sparseRows, type SparseRows } from './sparse-rows';

export type AdjacencyMatrix = Float32Array | Float64Array;

/** The part of a graph the influence and the pruning read. */
export type GraphMatrix = Pick<AttributionGraph, 'nodes' | 'adjacency' | 'targetWeights'>;

/** Row-sum clamps: circuit-tracer normalize_matrix (1e-10), lm-saes get_normalized_matrix (1e-8). */
export const CIRCUIT_TRACER_CLAMP = 1e-10;
export const LM_SAES_CLAMP = 1e-8;
/** circuit-tracer compute_influence raises after this many products. */
export const MAX_INFLUENCE_ITERATIONS = 1000;

export function checkSquare(a: AdjacencyMatrix, n: number, where: string): void {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new Error(`${where}: the adjacency has ${a.length} entries, expected ${n}×${n}`);
  }
}

/**
 * scale[t] = 1 / max(Σ_s |A[t, s]|, clamp), so that Â[t, s] = |A[t, s]|·scale[t] is |A| with each row divided by
 * its (clamped) sum: rows sum to 1, all-zero rows stay 0. With `keep`, only entries between kept nodes count (the
 * node-pruned matrix of circuit-tracer, without copying A).
 */
export function rowScales(
  a: AdjacencyMatrix,
  n: number,
  clamp = CIRCUIT_TRACER_CLAMP,
  keep?: Uint8Array,
): Float64Array {
  checkSquare(a, n, 'rowScales');
  return sparseRowScales(sparseRows(a, n), clamp, keep);
}

/** Â itself, n×n float64 (for small graphs, tests and the view; the algorithms below never build it). */
export function normalizeAdjacency(a: AdjacencyMatrix, n: number, clamp = CIRCUIT_TRACER_CLAMP): Float64Array {
  const scales = rowScales(a, n, clamp);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) out[i] = Math.abs(a[i]!) * scales[Math.floor(i / n)]!;
  return out;
}

export interface InfluenceOptions {
  clamp?: number;
  maxIterations?: number;
  /** Restrict to the matrix with the rows and columns of nodes outside `keep` zeroed. */
  keep?: Uint8Array;
}

/**
 * I = wÂ + wÂ² + … = wÂ(I − Â)⁻¹, summed term by term until a term is exactly zero (Â of a DAG is nilpotent).
 * Like circuit-tracer, a graph whose terms do not vanish after `maxIterations` products (a cycle) is an error.
 */
export function computeInfluence(
  a: AdjacencyMatrix,
  n: number,
  weights: ArrayLike<number>,
  options: InfluenceOptions = {},
): Float64Array {
  checkSquare(a, n, 'computeInfluence');
  return computeInfluenceSparse(sparseRows(a, n), weights, options);
}

/** computeInfluence over |A| already in compressed rows (one build serves several calls). */
export function computeInfluenceSparse(
  sp: SparseRows,
  weights: ArrayLike<number>,
  options: InfluenceOptions = {},
): Float64Array {
  const n = sp.n;
  if (weights.length !== n) throw new Error(`computeInfluence: ${weights.length} target weights for ${n} nodes`);
  const maxIterations = options.maxIterations ?? MAX_INFLUENCE_ITERATIONS;
  const scales = sparseRowScales(sp, options.clamp ?? CIRCUIT_TRACER_CLAMP, options.keep);
  let current = sparsePropagate(sp, scales, Float64Array.from(weights), options.keep);
  const total = Float64Array.from(current);
  for (let iteration = 0; current.some((v) => v !== 0); iteration++) {
    if (iteration >= maxIterations) {
      throw new Error(
        `influence did not vanish after ${iteration} iterations: the attribution graph has a cycle (A must be a DAG)`,
      );
    }
    current = sparsePropagate(sp, scales, current, options.keep);
    for (let i = 0; i < n; i++) total[i]! += current[i]!;
  }
  return total;
}

/** The node influence of a graph on its weighted targets (circuit-tracer compute_node_influence). */
export function nodeInfluence(graph: GraphMatrix, clamp = CIRCUIT_TRACER_CLAMP): Float64Array {
  return computeInfluence(graph.adjacency, graph.nodes.length, graph.targetWeights, { clamp });
}

/**
 * The cut-off score that keeps a fraction τ of the total (circuit-tracer find_threshold): sort descending, take
 * the first index whose cumulative fraction is ≥ τ, clamp it to the last nonzero score, return that score. Every
 * score ≥ the result is kept; at τ = 1 that is every nonzero score (never a zero cut-off while one is nonzero).
 */
export function findThreshold(scores: ArrayLike<number>, tau: number): number {
  let nonzero = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] !== 0) nonzero++;
  const values = new Float64Array(nonzero);
  let j = 0;
  for (let i = 0; i < scores.length; i++) if (scores[i] !== 0) values[j++] = scores[i]!;
  return thresholdOfNonzero(values, tau);
}

/** findThreshold over the nonzero scores only (zeros change nothing); sorts `values` in place. */
function thresholdOfNonzero(values: Float64Array, tau: number): number {
  if (!(tau >= 0 && tau <= 1)) throw new RangeError(`threshold must be in [0, 1], got ${tau}`);
  const count = values.length;
  if (count === 0) return 0;
  let total = 0;
  for (const v of values) total += v;
  values.sort().reverse();
  let cumulative = 0;
  for (let i = 0; i < count; i++) {
    cumulative += values[i]!;
    if (cumulative / total >= tau) return values[i]!;
  }
  return values[count - 1]!;
}

/**
 * Each node's cumulative fraction of the total influence in descending order (small = important): the JSON
 * `influence` field. Ties keep matrix order; an all-zero influence gives 0 everywhere.
 */
export function cumulativeInfluence(influence: Float64Array): Float64Array {
  const n = influence.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => influence[y]! - influence[x]! || x - y);
  let total = 0;
  for (const v of influence) total += v;
  const out = new Float64Array(n);
  if (total === 0) return out;
  let cumulative = 0;
  for (const i of order) {
    cumulative += influence[i]!;
    out[i] = cumulative / total;
  }
  return out;
}

export type PruneMethod = 'circuit-tracer' | 'lm-saes';

/** Default thresholds and row-sum clamp of each method. */
export const PRUNE_DEFAULTS: Readonly<
  Record<PruneMethod, { nodeThreshold: number; edgeThreshold: number; clamp: number }>
> = {
  'circuit-tracer': { nodeThreshold: 0.8, edgeThreshold: 0.98, clamp: CIRCUIT_TRACER_CLAMP },
  'lm-saes': { nodeThreshold: 0.6, edgeThreshold: 0.8, clamp: LM_SAES_CLAMP },
};

export interface PruneOptions {
  /** 'circuit-tracer' (default) or 'lm-saes'; see pruneGraph. */
  method?: PruneMethod;
  nodeThreshold?: number;
  edgeThreshold?: number;
}

export interface PruneResult {
  method: PruneMethod;
  nodeThreshold: number;
  edgeThreshold: number;
  /** 1 for kept nodes. */
  nodeMask: Uint8Array;
  /** 1 for kept edges, row-major like the adjacency: edgeMask[t·n + s] for the edge s → t. */
  edgeMask: Uint8Array;
  /** The node and edge cut-offs (findThreshold of the node influences and of the edge scores). */
  nodeCutoff: number;
  edgeCutoff: number;
  /** I of the unpruned graph. */
  influence: Float64Array;
  /** The cumulative fraction of I (the JSON `influence`). */
  cumulativeInfluence: Float64Array;
}

/** Nodes that pruning never removes: embeddings, logits, and every target (a node with weight > 0). */
export function isForcedNode(node: GraphNode, weight: number): boolean {
  return node.kind === 'embedding' || node.kind === 'logit' || weight > 0;
}

/**
 * Prunes a graph by influence on its targets.
 *
 * 'circuit-tracer' (prune_graph, defaults τ_n 0.8, τ_e 0.98, clamp 1e-10):
 *   1. node mask = I ≥ findThreshold(I, τ_n), with embeddings, logits and targets forced on;
 *   2. zero the rows and columns of dropped nodes, re-normalise and recompute the influence I';
 *   3. edge score = Â'[t, s]·(I'[t] + w[t]); edge mask = score ≥ findThreshold(scores, τ_e) (and score > 0);
 *   4. to a fixed point: features and errors need a kept out-edge, features a kept in-edge, and the edges of
 *      dropped nodes go.
 * 'lm-saes' (prune_attribution, defaults τ_n 0.6, τ_e 0.8, clamp 1e-8): the same node mask and fixed point, but
 *   the edge scores Â[t, s]·(I[t] + w[t]) come from the **un-node-pruned** matrix; edges touching node-dropped
 *   nodes are removed before the fixed point (lm-saes zeroes them only at the end, so its first check may count
 *   them).
 * Targets (w > 0) are exempt from the in/out-edge checks. Only real edges (A ≠ 0) are ever kept, also in the
 * degenerate case of an all-zero score where circuit-tracer's cut-off would be 0.
 */
export function pruneGraph(graph: GraphMatrix, options: PruneOptions = {}): PruneResult {
  const method = options.method ?? 'circuit-tracer';
  const defaults = PRUNE_DEFAULTS[method];
  const nodeThreshold = options.nodeThreshold ?? defaults.nodeThreshold;
  const edgeThreshold = options.edgeThreshold ?? defaults.edgeThreshold;
  const { nodes, adjacency: a, targetWeights: w } = graph;
  const n = nodes.length;
  checkSquare(a, n, 'pruneGraph');
  for (const [name, tau] of [
    ['node_threshold', nodeThreshold],
    ['edge_threshold', edgeThreshold],
  ] as const) {
    if (!(tau >= 0 && tau <= 1)) throw new RangeError(`pruneGraph: ${name} must be in [0, 1], got ${tau}`);
  }
  if (w.length !== n) throw new Error(`pruneGraph: ${w.length} target weights for ${n} nodes`);

  const sp = sparseRows(a, n);
  const influence = computeInfluenceSparse(sp, w, { clamp: defaults.clamp });
  const nodeCut = findThreshold(influence, nodeThreshold);
  const nodeMask = new Uint8Array(n);
  for (let i = 0; i < n; i++) nodeMask[i] = influence[i]! >= nodeCut || isForcedNode(nodes[i]!, w[i]!) ? 1 : 0;

  const scoreMask = method === 'circuit-tracer' ? nodeMask : undefined;
  const scoreInfluence = scoreMask ? computeInfluence(a, n, w, { clamp: defaults.clamp, keep: scoreMask }) : influence;
  // Two passes over the scores (count and collect the nonzero ones, then mark), so that no n×n float64 exists.
  const visit = (fn: (index: number, score: number) => void): void =>
    forEachEdgeScoreSparse(sp, w, scoreInfluence, defaults.clamp, scoreMask, fn);
  let nonzero = 0;
  visit(() => nonzero++);
  const values = new Float64Array(nonzero);
  let j = 0;
  visit((_i, score) => (values[j++] = score));
  const edgeCut = thresholdOfNonzero(values, edgeThreshold);
  const edgeMask = new Uint8Array(n * n);
  visit((index, score) => {
    if (score >= edgeCut) edgeMask[index] = 1;
  });

  keepConnectedNodes(nodes, w, nodeMask, edgeMask);
  return {
    method,
    nodeThreshold,
    edgeThreshold,
    nodeMask,
    edgeMask,
    nodeCutoff: nodeCut,
    edgeCutoff: edgeCut,
    influence,
    cumulativeInfluence: cumulativeInfluence(influence),
  };
}

/**
 * Calls fn(t·n + s, score) for every nonzero edge score Â[t, s]·(I[t] + w[t]) (circuit-tracer
 * compute_edge_influence), row by row; with `keep`, over the matrix whose dropped rows and columns are zero.
 */
export function forEachEdgeScore(
  a: AdjacencyMatrix,
  n: number,
  weights: ArrayLike<number>,
  influence: Float64Array,
  clamp: number,
  keep: Uint8Array | undefined,
  fn: (index: number, score: number) => void,
): void {
  checkSquare(a, n, 'forEachEdgeScore');
  forEachEdgeScoreSparse(sparseRows(a, n), weights, influence, clamp, keep, fn);
}

function forEachEdgeScoreSparse(
  sp: SparseRows,
  weights: ArrayLike<number>,
  influence: Float64Array,
  clamp: number,
  keep: Uint8Array | undefined,
  fn: (index: number, score: number) => void,
): void {
  const n = sp.n;
  const scales = sparseRowScales(sp, clamp, keep);
  for (let t = 0; t < n; t++) {
    const c = scales[t]! * (influence[t]! + weights[t]!);
    if (c === 0 || (keep && !keep[t])) continue;
    for (let k = sp.rowStart[t]!; k < sp.rowStart[t + 1]!; k++) {
      const s = sp.cols[k]!;
      if (keep && !keep[s]) continue;
      const score = sp.abs[k]! * c;
      if (score !== 0) fn(t * n + s, score);
    }
  }
}

/** The edge scores as a dense n×n float64 (tests and small graphs). */
export function edgeScoreMatrix(
  a: AdjacencyMatrix,
  n: number,
  weights: ArrayLike<number>,
  influence: Float64Array,
  clamp = CIRCUIT_TRACER_CLAMP,
  keep?: Uint8Array,
): Float64Array {
  const scores = new Float64Array(n * n);
  forEachEdgeScore(a, n, weights, influence, clamp, keep, (i, score) => (scores[i] = score));
  return scores;
}

/**
 * Removes the edges of dropped nodes, then drops, until nothing changes, every non-target feature or error
 * without a kept out-edge and every non-target feature without a kept in-edge (removing their edges in turn).
 * The worklist reaches the same greatest fixed point as circuit-tracer's repeated whole-mask passes; it walks the
 * kept edges as lists by row and by column, so a drop costs its degree, not a scan of the n×n mask.
 */
export function keepConnectedNodes(
  nodes: readonly GraphNode[],
  weights: ArrayLike<number>,
  nodeMask: Uint8Array,
  edgeMask: Uint8Array,
): void {
  const n = nodes.length;
  let count = 0;
  for (let t = 0; t < n; t++) {
    for (let s = 0, e = t * n; s < n; s++, e++) {
      if (!edgeMask[e]) continue;
      if (nodeMask[t] && nodeMask[s]) count++;
      else edgeMask[e] = 0;
    }
  }
  // Kept edges in row-major order (so grouped by row), and their ids grouped by column.
  const edgeT = new Int32Array(count);
  const edgeS = new Int32Array(count);
  const rowStart = new Int32Array(n + 1);
  const colStart = new Int32Array(n + 1);
  let k = 0;
  for (let t = 0; t < n; t++) {
    rowStart[t] = k;
    for (let s = 0; s < n; s++) {
      if (!edgeMask[t * n + s]) continue;
      edgeT[k] = t;
      edgeS[k++] = s;
      colStart[s + 1]!++;
    }
  }
  rowStart[n] = k;
  for (let s = 0; s < n; s++) colStart[s + 1]! += colStart[s]!;
  const byColumn = new Int32Array(count);
  const fill = colStart.slice(0, n);
  for (let e = 0; e < count; e++) byColumn[fill[edgeS[e]!]!++] = e;
  const inCount = new Int32Array(n);
  const outCount = new Int32Array(n);
  for (let e = 0; e < count; e++) {
    inCount[edgeT[e]!]!++;
    outCount[edgeS[e]!]!++;
  }
  const alive = new Uint8Array(count).fill(1);
  const optional = (i: number): boolean => !isForcedNode(nodes[i]!, weights[i]!);
  const fails = (i: number): boolean =>
    optional(i) && (outCount[i] === 0 || (nodes[i]!.kind === 'feature' && inCount[i] === 0));
  const queue: number[] = [];
  const drop = (i: number): void => {
    nodeMask[i] = 0;
    queue.push(i);
  };
  for (let i = 0; i < n; i++) if (nodeMask[i] && fails(i)) drop(i);
  while (queue.length > 0) {
    const d = queue.pop()!;
    const remove = (e: number): void => {
      if (!alive[e]) return;
      alive[e] = 0;
      const [t, s] = [edgeT[e]!, edgeS[e]!];
      edgeMask[t * n + s] = 0;
      outCount[s]!--;
      inCount[t]!--;
      for (const other of [t, s]) if (other !== d && nodeMask[other] && fails(other)) drop(other);
    };
    for (let e = rowStart[d]!; e < rowStart[d + 1]!; e++) remove(e);
    for (let j = colStart[d]!; j < colStart[d + 1]!; j++) remove(byColumn[j]!);
  }
}

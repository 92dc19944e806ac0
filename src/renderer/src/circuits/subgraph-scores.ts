/**
 * Replacement and completeness of the pinned subgraph (circuit-tracer PR #42, src/protocol/circuits/graph-scores.ts)
 * on the graph as loaded: the JSON's nodes and links become the dense matrix those functions read, every feature
 * that is not pinned is merged into the error node of its site and position. A pruned JSON may have dropped that
 * error node; it is put back with no edges of its own, so the merged mass still counts as error. Bias nodes are
 * constants, not sources of the replacement model's rows, and are left out.
 */
import type { GraphNode } from '../../../protocol/circuits/graph';
import { subgraphScores, type GraphScores } from '../../../protocol/circuits/graph-scores';
import type { ViewGraph } from './graph-model';
import type { ExploreState } from './graph-state';
import { targetWeights } from './graph-filter';

/** Above this many nodes the dense matrix (n² float64) is not built in the window. */
export const MAX_SCORED_NODES = 2000;

function graphNode(n: ViewGraph['nodes'][number]): GraphNode | null {
  switch (n.role) {
    case 'feature':
      return {
        kind: 'feature',
        layer: n.layer,
        sublayer: n.sublayer ?? 'mlp',
        pos: n.pos,
        feature: n.featureIndex ?? 0,
        activation: n.activation ?? 0,
        dictionary: '',
      };
    case 'error':
      return { kind: 'error', layer: n.layer, sublayer: n.sublayer ?? 'mlp', pos: n.pos };
    case 'embedding':
      return { kind: 'embedding', pos: n.pos, tokenId: 0 };
    case 'logit':
      return { kind: 'logit', pos: n.pos, tokenId: 0, probability: n.tokenProb ?? 0 };
    default:
      return null;
  }
}

/** The loaded graph as a matrix: its nodes (plus missing error nodes), A[target, source], and w. */
export function graphMatrix(g: ViewGraph) {
  const ids: string[] = [];
  const nodes: GraphNode[] = [];
  const errors = new Set<string>();
  for (const n of g.nodes) {
    const node = graphNode(n);
    if (!node) continue;
    ids.push(n.id);
    nodes.push(node);
    if (node.kind === 'error') errors.add(`${node.layer}/${node.sublayer}/${node.pos}`);
  }
  for (const node of [...nodes]) {
    if (node.kind !== 'feature') continue;
    const key = `${node.layer}/${node.sublayer}/${node.pos}`;
    if (errors.has(key)) continue;
    errors.add(key);
    ids.push(`(error ${key})`);
    nodes.push({ kind: 'error', layer: node.layer, sublayer: node.sublayer, pos: node.pos });
  }
  const index = new Map(ids.map((id, i) => [id, i]));
  const n = ids.length;
  const adjacency = new Float64Array(n * n);
  for (const l of g.links) {
    const t = index.get(l.target);
    const s = index.get(l.source);
    if (t !== undefined && s !== undefined) adjacency[t * n + s]! += l.weight;
  }
  const w = targetWeights(g, new Set(ids));
  const weights = Float64Array.from(ids, (id) => w.get(id) ?? 0);
  return { ids, index, matrix: { nodes, adjacency, targetWeights: weights } };
}

/** The scores of the pinned set, or null when nothing is pinned or the graph is too large to score here. */
export function pinnedSubgraphScores(g: ViewGraph, state: ExploreState): GraphScores | null {
  if (state.pinned.length === 0 || g.nodes.length > MAX_SCORED_NODES) return null;
  const { index, matrix } = graphMatrix(g);
  const pinned = [...state.pinned, ...state.supernodes.flatMap((s) => s.members)]
    .map((id) => index.get(id))
    .filter((i) => i !== undefined);
  return subgraphScores(matrix, pinned);
}

// Replacement and completeness scores (circuit-tracer compute_graph_scores and PR #42's subgraph scores) on
// circuit-tracer's own test graphs, with the exact values worked out by hand.
import { describe, expect, it } from 'vitest';
import type { AttributionGraph, GraphNode } from '../../../src/protocol/circuits/graph';
import { graphScores, subgraphAdjacency, subgraphScores } from '../../../src/protocol/circuits/graph-scores';
import { pruneGraph } from '../../../src/protocol/circuits/influence';
import { randomGraph } from './graphs';

const feature = (layer: number, pos: number, index: number): GraphNode => ({
  kind: 'feature',
  layer,
  sublayer: 'mlp',
  pos,
  feature: index,
  activation: 1,
  dictionary: 'tc',
});
const errors = (): GraphNode[] =>
  [0, 1].flatMap((layer) => [0, 1].map((pos): GraphNode => ({ kind: 'error', layer, sublayer: 'mlp', pos })));
const tail: GraphNode[] = [
  { kind: 'embedding', pos: 0, tokenId: 0 },
  { kind: 'embedding', pos: 1, tokenId: 1 },
  { kind: 'logit', pos: 1, tokenId: 5, probability: 1 },
];

function graph(nodes: GraphNode[], edges: [number, number, number][]): AttributionGraph {
  const n = nodes.length;
  const adjacency = new Float64Array(n * n);
  for (const [t, s, v] of edges) adjacency[t * n + s] = v;
  const targetWeights = new Float64Array(n);
  targetWeights[n - 1] = 1;
  return { nodes, adjacency, targetWeights, promptIds: [0, 1], promptTokens: ['a', 'b'], nLayers: 2, settings: {} };
}

/** test_compute_graph_scores: features 0–1, errors 2–5, tokens 6–7, logit 8. */
const scoresGraph = (): AttributionGraph =>
  graph(
    [feature(0, 0, 100), feature(1, 1, 200), ...errors(), ...tail],
    [
      [0, 6, 0.8],
      [1, 7, 0.8],
      [8, 0, 0.5],
      [8, 1, 0.5],
      [2, 6, 0.2],
      [3, 7, 0.2],
      [8, 2, 0.1],
    ],
  );

/** test_compute_subgraph_scores: features 0–2, errors 3–6, tokens 7–8, logit 9. */
const subgraphGraph = (): AttributionGraph =>
  graph(
    [feature(0, 0, 100), feature(0, 0, 200), feature(1, 1, 300), ...errors(), ...tail],
    [
      [0, 7, 0.5],
      [1, 7, 0.3],
      [2, 8, 0.6],
      [9, 0, 0.4],
      [9, 1, 0.3],
      [9, 2, 0.5],
      [3, 7, 0.2],
      [9, 3, 0.1],
    ],
  );

describe('graph scores', () => {
  it('are replacement 11/12 and completeness 32/33 on test_compute_graph_scores', () => {
    const s = graphScores(scoresGraph());
    expect(s.replacement).toBeCloseTo(11 / 12, 14);
    expect(s.completeness).toBeCloseTo(32 / 33, 14);
  });

  it('are 13/14 and 38/39 on the full subgraph test graph, and the same with every feature pinned', () => {
    const g = subgraphGraph();
    const full = graphScores(g);
    expect(full.replacement).toBeCloseTo(13 / 14, 14);
    expect(full.completeness).toBeCloseTo(38 / 39, 14);
    const all = subgraphScores(g, [0, 1, 2]);
    expect(all.replacement).toBeCloseTo(full.replacement, 14);
    expect(all.completeness).toBeCloseTo(full.completeness, 14);
  });

  it('merge an unpinned feature into the error of its site and position: 13/17 and 35/39', () => {
    const g = subgraphGraph();
    const n = g.nodes.length;
    const merged = subgraphAdjacency(g, [0, 2]);
    expect(merged[9 * n + 3]).toBeCloseTo(0.4, 15); // logit ← error(0, 0) now carries feature 1's 0.3
    expect(merged.subarray(1 * n, 2 * n).every((v) => v === 0)).toBe(true);
    const s = subgraphScores(g, [0, 2]);
    expect(s.replacement).toBeCloseTo(13 / 17, 14);
    expect(s.completeness).toBeCloseTo(35 / 39, 14);
  });

  it('score a pruned graph through its masks; pinning nothing leaves only token and error paths', () => {
    const g = randomGraph({ seed: 11, nPos: 3, sublayers: ['attn', 'mlp'] });
    const pruned = pruneGraph(g);
    const keepAll = {
      nodeMask: new Uint8Array(g.nodes.length).fill(1),
      edgeMask: new Uint8Array(g.adjacency.length).fill(1),
    };
    const features = g.nodes.flatMap((x, i) => (x.kind === 'feature' ? [i] : []));
    expect(subgraphScores(g, features, keepAll)).toEqual(graphScores(g));
    const none = subgraphScores(g, [], pruned);
    const some = subgraphScores(g, features, pruned);
    expect(none.completeness).toBeLessThanOrEqual(some.completeness + 1e-12);
    expect(none.replacement).toBeLessThanOrEqual(some.replacement + 1e-12);
  });

  it('names the feature that has no error node to merge into', () => {
    const g = subgraphGraph();
    const nodes = g.nodes.map((x, i) =>
      i === 3 ? ({ kind: 'error', layer: 1, sublayer: 'attn', pos: 0 } as const) : x,
    );
    expect(() => subgraphScores({ ...g, nodes }, [])).toThrow(/feature 0 \(layer 0 mlp, pos 0\) has no error node/);
  });
});

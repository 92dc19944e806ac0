// The view reads what SAE Studio's own graphToJson writes: for random graphs with and without Lorsa sites, every
// node's role, model layer, sublayer, position and feature index in the view equal the graph node it was written
// from (graphFromJson as the reference), the links are the kept edges, and the view's link influence on the JSON
// equals the protocol's influence on the pruned matrix that graphFromJson rebuilds.
import { describe, expect, it } from 'vitest';
import type { Sublayer } from '../../../src/protocol/circuits/graph';
import { graphToJson } from '../../../src/protocol/circuits/graph-json';
import { graphFromJson } from '../../../src/protocol/circuits/graph-json-import';
import { computeInfluence, pruneGraph } from '../../../src/protocol/circuits/influence';
import { linkInfluence, targetWeights } from '../../../src/renderer/src/circuits/graph-filter';
import { rowIndex } from '../../../src/renderer/src/circuits/graph-layout';
import { toViewGraph } from '../../../src/renderer/src/circuits/graph-model';
import { randomGraph } from '../../protocol/circuits/graphs';

const cases: { name: string; sublayers: Sublayer[] }[] = [
  { name: 'transcoders only (plain rows)', sublayers: ['mlp'] },
  { name: 'Lorsa and transcoders (interleaved rows)', sublayers: ['attn', 'mlp'] },
];

describe.each(cases)('a graph JSON written by graphToJson: $name', ({ sublayers }) => {
  const g = randomGraph({ seed: 7, nLayers: 3, nPos: 4, sublayers });
  const json = JSON.parse(JSON.stringify(graphToJson(g, pruneGraph(g), { slug: 'g', scan: 'set' })));
  const view = toViewGraph(json);
  const reference = graphFromJson(json);

  it('places every node where the graph type has it', () => {
    expect(view.nodes).toHaveLength(reference.nodeIds.length);
    expect(view.nLayers).toBe(3);
    expect(view.hasAttn).toBe(sublayers.includes('attn'));
    reference.nodeIds.forEach((id, i) => {
      const node = reference.graph.nodes[i]!;
      const v = view.byId.get(id)!;
      expect(v.role, id).toBe(node.kind);
      expect(v.pos, id).toBe(node.pos);
      if (node.kind === 'feature' || node.kind === 'error') {
        expect([v.layer, v.sublayer], id).toEqual([node.layer, node.sublayer]);
        // Lorsa rows sit below the MLP rows of the same layer.
        expect(rowIndex(v, view.nLayers, view.hasAttn)).toBe(
          1 + (view.hasAttn ? 2 * node.layer + (node.sublayer === 'mlp' ? 1 : 0) : node.layer),
        );
      }
      if (node.kind === 'feature') expect(v.featureIndex, id).toBe(node.feature);
      if (node.kind === 'logit') expect(v.tokenProb, id).toBe(node.probability);
    });
  });

  it('computes the same influence from the links as the protocol does from the matrix', () => {
    const n = reference.nodeIds.length;
    const dense = computeInfluence(reference.graph.adjacency, n, reference.graph.targetWeights);
    const sparse = linkInfluence(view.links, targetWeights(view, new Set(reference.nodeIds)));
    reference.nodeIds.forEach((id, i) => expect(sparse.get(id) ?? 0, id).toBeCloseTo(dense[i]!, 12));
    expect(view.links.length).toBe(json.links.length);
  });
});

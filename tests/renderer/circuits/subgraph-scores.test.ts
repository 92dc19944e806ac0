// The view's bridge to the protocol's graph math: the JSON's links as the dense matrix graph-scores.ts reads, the
// view's sparse influence equal to computeInfluence on that matrix, and the pinned subgraph's scores — all features
// pinned gives the whole graph's scores, fewer pinned features move mass to the errors (also at sites whose error
// node the pruned JSON dropped).
import { describe, expect, it } from 'vitest';
import { graphScores } from '../../../src/protocol/circuits/graph-scores';
import { computeInfluence } from '../../../src/protocol/circuits/influence';
import { GraphJsonSchema } from '../../../src/protocol/circuits/graph-json';
import { linkInfluence, targetWeights } from '../../../src/renderer/src/circuits/graph-filter';
import { toViewGraph } from '../../../src/renderer/src/circuits/graph-model';
import {
  graphMatrix,
  MAX_SCORED_NODES,
  pinnedSubgraphScores,
} from '../../../src/renderer/src/circuits/subgraph-scores';
import { fixtureGraphJson } from '../../helpers/graph-json-fixture';

const graph = () => toViewGraph(GraphJsonSchema.parse(fixtureGraphJson()));

describe('subgraph scores in the view', () => {
  it('builds the matrix from the links, adding the error nodes a pruned JSON dropped', () => {
    const g = graph();
    const { ids, index, matrix } = graphMatrix(g);
    // Sites with features but no error node in the JSON: L0 mlp @0, @1; L1 mlp @3; L2 mlp @2; L3 mlp @1.
    expect(ids.filter((id) => id.startsWith('(error')).sort()).toEqual([
      '(error 0/mlp/0)',
      '(error 0/mlp/1)',
      '(error 1/mlp/3)',
      '(error 2/mlp/2)',
      '(error 3/mlp/1)',
    ]);
    const n = ids.length;
    expect(n).toBe(35);
    const a = matrix.adjacency;
    expect(a[index.get('8_6342_4')! * n + index.get('3_cro_101_4')!]).toBe(4.1);
    expect(a[index.get('3_cro_101_4')! * n + index.get('3_error_attn_4')!]).toBe(-0.3);
    expect([...matrix.targetWeights].filter((w) => w > 0)).toEqual([0.412, 0.121, 0.05]);
  });

  it("has the view's sparse influence equal the protocol's dense influence", () => {
    const g = graph();
    const { ids, matrix } = graphMatrix(g);
    const dense = computeInfluence(matrix.adjacency, ids.length, matrix.targetWeights);
    const sparse = linkInfluence(g.links, targetWeights(g, new Set(ids)));
    ids.forEach((id, i) => expect(sparse.get(id) ?? 0).toBeCloseTo(dense[i]!, 12));
    expect(dense[ids.indexOf('3_cro_101_4')]).toBeGreaterThan(0);
  });

  it('scores the pinned subgraph: all features pinned = the whole graph, fewer = more error', () => {
    const g = graph();
    expect(pinnedSubgraphScores(g, { pinned: [], supernodes: [], labels: {} })).toBeNull();
    const features = g.nodes.filter((n) => n.role === 'feature').map((n) => n.id);
    const full = graphScores(graphMatrix(g).matrix);
    const all = pinnedSubgraphScores(g, { pinned: features, supernodes: [], labels: {} })!;
    expect(all.replacement).toBeCloseTo(full.replacement, 12);
    expect(all.completeness).toBeCloseTo(full.completeness, 12);
    const two = pinnedSubgraphScores(g, { pinned: ['3_cro_101_4', '2_cro_300_4'], supernodes: [], labels: {} })!;
    expect(two.completeness).toBeLessThan(all.completeness);
    expect(two.replacement).toBeLessThan(all.replacement);
    expect(two.replacement).toBeGreaterThan(0);
    // Supernode members count as pinned.
    const grouped = pinnedSubgraphScores(g, {
      pinned: ['3_cro_101_4'],
      supernodes: [{ name: 's', members: ['2_cro_300_4'] }],
      labels: {},
    })!;
    expect(grouped).toEqual(two);
  });

  it('does not build the dense matrix of a graph larger than the limit', () => {
    const json = fixtureGraphJson();
    const extra = Array.from({ length: MAX_SCORED_NODES }, (_, i) => ({
      ...json.nodes[0]!,
      node_id: `E_0_${i}`,
    }));
    json.nodes.push(...extra);
    json.metadata.prompt_tokens = Array.from({ length: MAX_SCORED_NODES }, () => 'x');
    const big = toViewGraph(GraphJsonSchema.parse(json));
    expect(pinnedSubgraphScores(big, { pinned: ['3_cro_101_4'], supernodes: [], labels: {} })).toBeNull();
  });
});

// What the view shows at its slider values: the node slider keeps influence ≤ threshold plus embeddings, logits and
// pinned nodes; the edge slider keeps edges by cumulative edge score Â[t,s]·(I[t] + w[t]) on the shown subgraph.
// The sparse link sums are checked against the dense protocol functions (src/protocol/circuits/influence.ts) and
// against circuit-tracer's golden pruning test (spec §6.5).
import { describe, expect, it } from 'vitest';
import { GraphJsonSchema } from '../../../src/protocol/circuits/graph-json';
import { parseGraphJson } from '../../../src/protocol/circuits/graph-json-import';
import {
  edgeScores,
  filterGraph,
  findThreshold,
  linkInfluence,
  visibleNodeIds,
} from '../../../src/renderer/src/circuits/graph-filter';
import { toViewGraph } from '../../../src/renderer/src/circuits/graph-model';
import { fixtureGraphJson } from '../../helpers/graph-json-fixture';

const graph = () => toViewGraph(GraphJsonSchema.parse(fixtureGraphJson()));

describe('node threshold', () => {
  it('keeps nodes with influence ≤ threshold, and always embeddings, logits and pinned nodes', () => {
    const g = graph();
    const low = visibleNodeIds(g, 0.3, new Set());
    for (const n of g.nodes) {
      const forced = n.role === 'embedding' || n.role === 'logit';
      expect(low.has(n.id)).toBe(forced || n.influence! <= 0.3);
    }
    expect(low.has('3_cro_101_4')).toBe(true); // the strongest feature
    expect(low.has('3_cro_9_1')).toBe(false); // a dead end: influence 0, cumulative fraction 1
    expect(visibleNodeIds(g, 0.3, new Set(['3_cro_9_1'])).has('3_cro_9_1')).toBe(true);
    // Monotone in the threshold, and at 1 everything is shown.
    const mid = visibleNodeIds(g, 0.6, new Set());
    for (const id of low) expect(mid.has(id)).toBe(true);
    expect(mid.size).toBeGreaterThan(low.size);
    expect(visibleNodeIds(g, 1, new Set()).size).toBe(30);
  });
});

describe('edge threshold', () => {
  it("reproduces circuit-tracer's golden edge scores (tests/test_graph.py)", () => {
    // 12 nodes: 0–4 features, 5–8 errors, 9–10 tokens, 11 the logit (w = 1); every edge weight 10; (0,9), (3,0) removed.
    const edges: [number, number][] = [
      [11, 1],
      [11, 3],
      [11, 6],
      [11, 8],
      [3, 1],
      [3, 6],
      [1, 9],
      [1, 10],
    ];
    const role = (i: number) => (i <= 4 ? 'feature' : i <= 8 ? 'error' : i <= 10 ? 'embedding' : 'logit');
    const json = {
      metadata: { slug: 'golden', scan: 'x', prompt_tokens: ['a', 'b'], prompt: 'ab' },
      nodes: Array.from({ length: 12 }, (_, i) => ({
        node_id: `n${i}`,
        feature: null,
        layer: role(i) === 'embedding' ? 'E' : '0',
        ctx_idx: 0,
        feature_type:
          role(i) === 'feature' ? 'cross layer transcoder' : role(i) === 'error' ? 'mlp reconstruction error' : role(i),
        jsNodeId: `n${i}`,
        clerp: role(i) === 'logit' ? 'Output "x" (p=1)' : '',
      })),
      links: edges.map(([t, s]) => ({ source: `n${s}`, target: `n${t}`, weight: 10 })),
    };
    const g = toViewGraph(parseGraphJson(json)); // no qParams: filled in as on import
    const scores = new Map(
      edgeScores(g, new Set(g.nodes.map((n) => n.id))).map((l) => [`${l.target}<${l.source}`, l.score]),
    );
    for (const s of [1, 3, 6, 8]) expect(scores.get(`n11<n${s}`)).toBeCloseTo(1 / 4, 12);
    for (const s of [1, 6]) expect(scores.get(`n3<n${s}`)).toBeCloseTo(1 / 8, 12);
    for (const s of [9, 10]) expect(scores.get(`n1<n${s}`)).toBeCloseTo(3 / 16, 12);
    const influence = linkInfluence(g.links, new Map([['n11', 1]]));
    expect(influence.get('n1')).toBeCloseTo(1 / 4 + 1 / 8, 12);
    expect(influence.get('n9')).toBeCloseTo(3 / 16, 12);
  });

  it('finds the cumulative cut-off like find_threshold, and the edge slider keeps a growing set of edges', () => {
    expect(findThreshold([1, 2, 3, 4], 0.5)).toBe(3); // 4/10 < 0.5 ≤ 7/10
    expect(findThreshold([1, 2, 3, 4], 1)).toBe(1);
    expect(findThreshold([5], 0.01)).toBe(5);
    const g = graph();
    const pinned = new Set<string>();
    const sizes = [0.2, 0.5, 0.8, 1].map((t) => filterGraph(g, { nodeThreshold: 1, edgeThreshold: t, pinned }).links);
    for (let i = 1; i < sizes.length; i++) {
      const ids = new Set(sizes[i]!.map((l) => `${l.source}>${l.target}`));
      for (const l of sizes[i - 1]!) expect(ids.has(`${l.source}>${l.target}`)).toBe(true);
      expect(sizes[i]!.length).toBeGreaterThanOrEqual(sizes[i - 1]!.length);
    }
    // At 1 every edge on a path to the logits is shown; the dead end's edges carry no score.
    const all = sizes[3]!;
    expect(all.length).toBe(g.links.filter((l) => l.target !== '3_cro_9_1').length);
    // The strongest edge into the top logit survives any threshold.
    expect(sizes[0]!.some((l) => l.source === '3_cro_101_4' && l.target === '8_6342_4')).toBe(true);
  });

  it('scores edges only among the shown nodes', () => {
    const g = graph();
    const shown = filterGraph(g, { nodeThreshold: 0.3, edgeThreshold: 1, pinned: new Set() });
    for (const l of shown.links) {
      expect(shown.nodes.has(l.source)).toBe(true);
      expect(shown.nodes.has(l.target)).toBe(true);
    }
  });
});

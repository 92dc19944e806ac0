// Exporting the pinned subgraph of a graph JSON: pinned nodes and the links among them, supernodes and labels,
// QK contributors outside the subgraph kept resolvable; the export imports again.
import { describe, expect, it } from 'vitest';
import { graphToJson, GraphJsonSchema } from '../../../src/protocol/circuits/graph-json';
import { graphFromJson } from '../../../src/protocol/circuits/graph-json-import';
import { pruneGraph } from '../../../src/protocol/circuits/influence';
import { subgraphJson } from '../../../src/protocol/circuits/subgraph-json';
import { randomGraph } from './graphs';

function fullJson() {
  const g = randomGraph({ seed: 41, nLayers: 2, nPos: 3, sublayers: ['attn', 'mlp'] });
  const pruned = pruneGraph(g);
  const lorsa = g.nodes.findIndex((x, i) => x.kind === 'feature' && x.sublayer === 'attn' && pruned.nodeMask[i]);
  const emb = g.nodes.find((x) => x.kind === 'embedding')!;
  return graphToJson(g, pruned, {
    slug: 'full',
    scan: 'replacement',
    qkTracing: new Map([[lorsa, { qMarginal: [{ source: emb, value: 1 }], kMarginal: [], pairs: [] }]]),
  });
}

describe('subgraphJson', () => {
  it('keeps the pinned nodes, the links among them, supernodes and labels', () => {
    const json = fullJson();
    const lorsaId = json.nodes.find((x) => x.qk_tracing_results)!.node_id;
    const logitId = json.nodes.find((x) => x.feature_type === 'logit')!.node_id;
    const pinned = [lorsaId, ...json.links.filter((l) => l.source === lorsaId).map((l) => l.target), logitId];
    const sub = subgraphJson(json, pinned, {
      supernodes: [['say it', lorsaId, logitId]],
      clerps: { [lorsaId]: 'my label' },
    });
    expect(GraphJsonSchema.safeParse(sub).success).toBe(true);
    expect(sub.nodes.map((x) => x.node_id).sort()).toEqual([...new Set(pinned)].sort());
    expect(sub.links.length).toBeGreaterThan(0);
    expect(sub.links.every((l) => pinned.includes(l.source) && pinned.includes(l.target))).toBe(true);
    expect(sub.links).toEqual(json.links.filter((l) => pinned.includes(l.source) && pinned.includes(l.target)));
    expect(sub.qParams).toMatchObject({ pinnedIds: [...new Set(pinned)], supernodes: [['say it', lorsaId, logitId]] });
    expect(sub.nodes.find((x) => x.node_id === lorsaId)?.clerp).toBe('my label');
    expect(Object.keys(sub.qk_only_nodes ?? {})).toEqual(['E_10_0']);
    const back = graphFromJson(JSON.parse(JSON.stringify(sub)));
    expect(back.nodeIds.sort()).toEqual([...new Set(pinned)].sort());
    expect(back.qParams.supernodes).toEqual([['say it', lorsaId, logitId]]);
  });

  it('refuses a pin that is not a node and a supernode member that is not pinned', () => {
    const json = fullJson();
    const [a, b] = json.nodes.map((x) => x.node_id);
    expect(() => subgraphJson(json, ['nope'])).toThrow(`subgraph: pinned id "nope" is not a node of graph 'full'`);
    expect(() => subgraphJson(json, [a!], { supernodes: [['g', a!, b!]] })).toThrow(
      `supernode 'g' names "${b}", which is not pinned`,
    );
  });
});

// The graph JSON (spec §6.6): SAE Studio's own files round-trip through graphFromJson, node ids never collide,
// the fields follow circuit-tracer's conventions, and QK-tracing contributors resolve to nodes or qk_only_nodes.
import { describe, expect, it } from 'vitest';
import { cantorPair } from '../../../src/protocol/circuits/cantor';
import type { AttributionGraph, GraphNode } from '../../../src/protocol/circuits/graph';
import {
  GraphJsonSchema,
  graphToJson,
  resolveQkTracing,
  type QkNodeTracing,
} from '../../../src/protocol/circuits/graph-json';
import { graphFromJson } from '../../../src/protocol/circuits/graph-json-import';
import { pruneGraph } from '../../../src/protocol/circuits/influence';
import type { QkSource } from '../../../src/protocol/circuits/node-ids';
import { traceQk } from '../../../src/protocol/circuits/qk';
import { randomGraph } from './graphs';

const OPTS = { slug: 'test-graph', scan: 'replacement', createTimeMs: 1_700_000_000_000 };
const through = <T>(x: T): unknown => JSON.parse(JSON.stringify(x));

/** A QK tracing naming a kept node, a pruned-away feature and a bias leaf (the last two go to qk_only_nodes). */
function qkTracingFor(g: AttributionGraph, keptIndex: number, droppedIndex: number): QkNodeTracing {
  const bias = { kind: 'bias' as const, layer: 0, pos: 1, bias: 'lorsa_bQ' as const };
  const [kept, dropped] = [g.nodes[keptIndex]!, g.nodes[droppedIndex]!];
  return {
    qMarginal: [
      { source: bias, value: 0.5 },
      { source: kept, value: 0.25 },
    ],
    kMarginal: [{ source: dropped, value: -0.125 }],
    pairs: [{ q: bias, k: dropped, value: 0.375 }],
  };
}

describe('graphToJson → graphFromJson', () => {
  it('round-trips the pruned graph: nodes, kept links, ids, clerps, influence, qParams and QK tracing', () => {
    const g = randomGraph({ seed: 21, nLayers: 2, nPos: 3, sublayers: ['attn', 'mlp'] });
    const pruned = pruneGraph(g);
    const lorsa = g.nodes.findIndex((x, i) => x.kind === 'feature' && x.sublayer === 'attn' && pruned.nodeMask[i]);
    expect(lorsa).toBeGreaterThanOrEqual(0);
    const dropped = g.nodes.findIndex((x, i) => x.kind === 'feature' && !pruned.nodeMask[i]);
    expect(dropped).toBeGreaterThanOrEqual(0);
    const json = graphToJson(g, pruned, {
      ...OPTS,
      featureClerp: (node) => `feature ${node.feature}`,
      pinnedIds: ['E_10_0'],
      supernodes: [['inputs', 'E_10_0', 'E_11_1']],
      qkTracing: new Map([[lorsa, qkTracingFor(g, lorsa, dropped)]]),
    });
    expect(GraphJsonSchema.safeParse(json).success).toBe(true);
    const back = graphFromJson(through(json));
    const n = g.nodes.length;
    expect(back.nodeIds).toEqual(json.nodes.map((x) => x.node_id));
    const linked = (i: number) =>
      [...Array(n).keys()].some((k) => pruned.edgeMask[i * n + k] || pruned.edgeMask[k * n + i]);
    const shown = g.nodes.flatMap((x, i) =>
      pruned.nodeMask[i] && (linked(i) || x.kind === 'embedding' || x.kind === 'logit') ? [i] : [],
    );
    expect(shown.length).toBeLessThan(n);
    expect(back.graph.nodes).toEqual(shown.map((i) => g.nodes[i]));
    const m = back.graph.nodes.length;
    for (let t = 0; t < m; t++) {
      for (let s = 0; s < m; s++) {
        const [ot, os] = [shown[t]!, shown[s]!];
        const expected = pruned.edgeMask[ot * n + os] ? g.adjacency[ot * n + os]! : 0;
        expect(back.graph.adjacency[t * m + s], `A[${t}, ${s}]`).toBe(expected);
      }
    }
    expect(back.graph.nLayers).toBe(g.nLayers);
    expect(back.graph.promptIds).toEqual(g.promptIds);
    expect(back.graph.promptTokens).toEqual(g.promptTokens);
    expect(back.influence).toEqual(
      shown.map((i) => (g.nodes[i]!.kind === 'logit' ? null : pruned.cumulativeInfluence[i])),
    );
    expect(back.clerps.filter((c) => c.startsWith('feature '))).toHaveLength(
      shown.filter((i) => g.nodes[i]!.kind === 'feature').length,
    );
    expect(back.qParams.supernodes).toEqual([['inputs', 'E_10_0', 'E_11_1']]);
    const lorsaAt = back.nodeIds.indexOf(json.nodes.find((x) => x.qk_tracing_results)!.node_id);
    const d = g.nodes[dropped] as Extract<GraphNode, { kind: 'feature' }>;
    const droppedId = `${d.layer}_${d.sublayer === 'attn' ? 'lor' : 'cro'}_${d.feature}_${d.pos}`;
    expect(back.qkTracing.get(lorsaAt)).toEqual({
      pair_wise_contributors: [['0_bias_lorsa_bQ_1', droppedId, 0.375]],
      top_q_marginal_contributors: [
        ['0_bias_lorsa_bQ_1', 0.5],
        [back.nodeIds[lorsaAt], 0.25],
      ],
      top_k_marginal_contributors: [[droppedId, -0.125]],
    });
    expect(back.graph.nodes[lorsaAt]).toEqual(g.nodes[lorsa]);
    expect(Object.keys(back.qkOnlyNodes).sort()).toEqual(['0_bias_lorsa_bQ_1', droppedId].sort());
    expect(back.qkOnlyNodes['0_bias_lorsa_bQ_1']).toMatchObject({ feature_type: 'bias', layer: '0', feature: null });
  });

  it('writes circuit-tracer fields for a transcoder-only graph: layers, Cantor ids, clerps, the target logit', () => {
    const g = randomGraph({ seed: 22, nLayers: 2, nPos: 2, nLogits: 2 });
    const json = graphToJson(g, pruneGraph(g, { nodeThreshold: 1, edgeThreshold: 1 }), {
      ...OPTS,
      decodeToken: (id) => `tok${id}`,
    });
    const byType = (t: string) => json.nodes.filter((x) => x.feature_type === t);
    const fj = byType('cross layer transcoder').at(-1)!;
    const [, layer, index, pos] = /^(\d+)_cro_(\d+)_(\d+)$/.exec(fj.node_id)!.map(Number);
    const feature = g.nodes.find(
      (x) => x.kind === 'feature' && x.layer === layer && x.feature === index && x.pos === pos,
    );
    expect(feature?.kind).toBe('feature');
    if (feature?.kind !== 'feature') throw new Error('unreachable');
    expect(fj).toMatchObject({
      feature: cantorPair(feature.layer, feature.feature),
      layer: String(feature.layer),
      feature_type: 'cross layer transcoder',
      jsNodeId: `${feature.layer}_cro_${feature.feature}-${feature.pos}`,
      activation: feature.activation,
    });
    expect(byType('logit').map((x) => [x.node_id, x.layer, x.clerp, x.is_target_logit])).toEqual([
      ['3_40_1', '3', 'Output "tok40" (p=0.600)', true],
      ['3_41_1', '3', 'Output "tok41" (p=0.300)', false],
    ]);
    expect(byType('embedding').map((x) => [x.node_id, x.layer, x.feature, x.clerp, x.jsNodeId])).toEqual([
      ['E_10_0', 'E', 0, 'Emb: "t10"', 'E_10-0'],
      ['E_11_1', 'E', 1, 'Emb: "t11"', 'E_11-1'],
    ]);
    expect(byType('mlp reconstruction error').every((x) => /^Err: mlp "t1[01]"$/.test(x.clerp))).toBe(true);
    expect(json.metadata).toMatchObject({
      schema_version: 1,
      scan: 'replacement',
      node_threshold: 1,
      prompt: 't10t11',
    });
    expect(json.metadata.pruning_settings).toEqual({ node_threshold: 1, edge_threshold: 1, method: 'circuit-tracer' });
  });
});

describe('node ids and QK contributors', () => {
  it('gives unique node ids and jsNodeIds where circuit-tracer collides', () => {
    // circuit-tracer: error (layer 1, pos 1) is "0_1_1", the id of feature 1 of layer 0 at pos 1.
    const nodes: GraphNode[] = [
      { kind: 'feature', layer: 0, sublayer: 'mlp', pos: 1, feature: 1, activation: 1, dictionary: 'a' },
      { kind: 'feature', layer: 0, sublayer: 'attn', pos: 1, feature: 1, activation: 1, dictionary: 'b' },
      { kind: 'feature', layer: 1, sublayer: 'mlp', pos: 1, feature: 1, activation: 1, dictionary: 'a' },
      { kind: 'error', layer: 1, sublayer: 'mlp', pos: 1 },
      { kind: 'error', layer: 1, sublayer: 'attn', pos: 1 },
      { kind: 'error', layer: 0, sublayer: 'mlp', pos: 1 },
      { kind: 'embedding', pos: 0, tokenId: 1 },
      { kind: 'embedding', pos: 1, tokenId: 1 },
      { kind: 'logit', pos: 1, tokenId: 1, probability: 0.9 },
    ];
    const n = nodes.length;
    const g: AttributionGraph = {
      nodes,
      adjacency: new Float64Array(n * n),
      targetWeights: Float64Array.from(nodes, (x) => (x.kind === 'logit' ? 0.9 : 0)),
      promptIds: [1, 1],
      promptTokens: ['a', 'a'],
      nLayers: 2,
      settings: {},
    };
    const all = { ...pruneGraph(g), nodeMask: new Uint8Array(n).fill(1) };
    const noLinks = graphToJson(g, all, OPTS); // nodes without links: only embeddings and logits stay
    expect(noLinks.nodes.map((x) => x.feature_type)).toEqual(['embedding', 'embedding', 'logit']);
    for (let s = 0; s < n - 1; s++) g.adjacency[(n - 1) * n + s] = 1; // every node feeds the logit
    all.edgeMask = Uint8Array.from(g.adjacency, (v) => (v !== 0 ? 1 : 0));
    const json = graphToJson(g, all, OPTS);
    expect(json.nodes).toHaveLength(n);
    expect(new Set(json.nodes.map((x) => x.node_id)).size).toBe(n);
    expect(new Set(json.nodes.map((x) => x.jsNodeId)).size).toBe(n);
    expect(json.nodes.map((x) => [x.node_id, x.layer])).toEqual([
      ['0_cro_1_1', '1'],
      ['0_lor_1_1', '0'],
      ['1_cro_1_1', '3'],
      ['1_error_mlp_1', '3'],
      ['1_error_attn_1', '2'],
      ['0_error_mlp_1', '1'],
      ['E_1_0', 'E'],
      ['E_1_1', 'E'],
      ['4_1_1', '4'],
    ]);
    expect(graphFromJson(through(json)).graph.nodes).toEqual(nodes);
  });

  it('names QK-tracing sources by index with resolveQkTracing, refusing an index outside the sources', () => {
    const sources: QkSource[] = [
      { kind: 'embedding', pos: 0, tokenId: 7 },
      { kind: 'bias', layer: 1, pos: 0, bias: 'attn_bO' },
    ];
    const c = { q: Float64Array.from([1, 0, 0, 2]), k: Float64Array.from([0.5, 0, 0, 1]), dQk: 2 };
    const resolved = resolveQkTracing(traceQk(c, { topk: 2 }), sources);
    expect(resolved.qMarginal).toEqual([
      { source: sources[1], value: 2 },
      { source: sources[0], value: 0.5 },
    ]);
    expect(resolved.pairs[0]).toEqual({ q: sources[1], k: sources[1], value: 2 });
    expect(() => resolveQkTracing(traceQk(c, { topk: 2 }), sources.slice(0, 1))).toThrow(
      'QK tracing: source 1 is outside the 1 sources given',
    );
  });
});

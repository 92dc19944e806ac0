// Importing graph JSON made elsewhere: a circuit-tracer file and a Neuronpedia Lorsa file written here from the
// field lists of spec §6.6, and one-line errors that name the bad field.
import { describe, expect, it } from 'vitest';
import { cantorPair } from '../../../src/protocol/circuits/cantor';
import { graphFromJson } from '../../../src/protocol/circuits/graph-json-import';
import { graphScores } from '../../../src/protocol/circuits/graph-scores';
import { pruneGraph } from '../../../src/protocol/circuits/influence';

const ctFeature = (layer: number, idx: number, pos: number, influence: number, activation: number) => ({
  node_id: `${layer}_${idx}_${pos}`,
  feature: cantorPair(layer, idx),
  layer: String(layer),
  ctx_idx: pos,
  feature_type: 'cross layer transcoder',
  token_prob: 0.0,
  is_target_logit: false,
  run_idx: 0,
  reverse_ctx_idx: 0,
  jsNodeId: `${layer}_${idx}-0`,
  clerp: '',
  influence,
  activation,
});

/** A 2-layer gemma-style circuit-tracer graph of the prompt "<bos> The cat": as create_graph_files writes it. */
function circuitTracerJson(): Record<string, unknown> {
  return {
    metadata: {
      slug: 'the-cat',
      scan: 'gemma-2-2b',
      transcoder_list: [],
      prompt_tokens: ['<bos>', ' The', ' cat'],
      prompt: '<bos> The cat',
      node_threshold: 0.8,
      schema_version: 1,
      info: { creator_name: 'someone', generator: { name: 'circuit-tracer', version: '0.3.0' } },
      generation_settings: { max_n_logits: 10, desired_logit_prob: 0.95, batch_size: 256, max_feature_nodes: 7500 },
      pruning_settings: { node_threshold: 0.8, edge_threshold: 0.98 },
    },
    qParams: {
      pinnedIds: ['1_928_2'],
      supernodes: [['cat', '0_5_1', '1_928_2']],
      linkType: 'both',
      clickedId: '',
      sg_pos: '',
    },
    nodes: [
      ctFeature(0, 5, 1, 0.31, 2.5),
      ctFeature(0, 1, 2, 0.52, 0.75),
      ctFeature(1, 928, 2, 0.12, 4.25),
      // An error under circuit-tracer's old id (it collides with nothing here) and one under its fixed form.
      {
        node_id: '0_0_2',
        feature: -1,
        layer: '0',
        ctx_idx: 2,
        feature_type: 'mlp reconstruction error',
        jsNodeId: '0_2-0',
        clerp: '',
        influence: 0.61,
      },
      {
        node_id: '1_-1_2',
        feature: -1,
        layer: '1',
        ctx_idx: 2,
        feature_type: 'mlp reconstruction error',
        jsNodeId: '1_2-0',
        clerp: '',
        influence: 0.7,
      },
      {
        node_id: 'E_2_0',
        feature: 0,
        layer: 'E',
        ctx_idx: 0,
        feature_type: 'embedding',
        jsNodeId: 'E_2-0',
        clerp: '',
        influence: 0.9,
      },
      {
        node_id: 'E_651_1',
        feature: 1,
        layer: 'E',
        ctx_idx: 1,
        feature_type: 'embedding',
        jsNodeId: 'E_651-1',
        clerp: '',
        influence: 0.8,
      },
      {
        node_id: 'E_4937_2',
        feature: 2,
        layer: 'E',
        ctx_idx: 2,
        feature_type: 'embedding',
        jsNodeId: 'E_4937-2',
        clerp: '',
        influence: 0.45,
      },
      {
        node_id: '3_603_2',
        feature: 603,
        layer: '3',
        ctx_idx: 2,
        feature_type: 'logit',
        token_prob: 0.412,
        is_target_logit: true,
        jsNodeId: 'L_603-2',
        clerp: 'Output " is" (p=0.412)',
      },
      {
        node_id: '3_729_2',
        feature: 729,
        layer: '3',
        ctx_idx: 2,
        feature_type: 'logit',
        token_prob: 0.2,
        is_target_logit: false,
        jsNodeId: 'L_729-2',
        clerp: 'Output " sat" (p=0.200)',
      },
    ],
    links: [
      { source: 'E_651_1', target: '0_5_1', weight: 1.5 },
      { source: 'E_4937_2', target: '0_1_2', weight: 2.0 },
      { source: '0_5_1', target: '1_928_2', weight: 0.5 },
      { source: '0_1_2', target: '1_928_2', weight: -0.25 },
      { source: '0_0_2', target: '1_928_2', weight: 0.125 },
      { source: '1_928_2', target: '3_603_2', weight: 3.0 },
      { source: '1_-1_2', target: '3_603_2', weight: -1.0 },
      { source: '0_1_2', target: '3_729_2', weight: 0.75 },
      { source: 'E_2_0', target: '3_729_2', weight: 0.0625 },
    ],
  };
}

describe('graphFromJson on a circuit-tracer file', () => {
  it('reads nodes in matrix order, Cantor indices, A from the links, weights from token_prob', () => {
    const r = graphFromJson(circuitTracerJson());
    const g = r.graph;
    expect(r.nodeIds).toEqual([
      '0_5_1',
      '0_1_2',
      '1_928_2',
      '0_0_2',
      '1_-1_2',
      'E_2_0',
      'E_651_1',
      'E_4937_2',
      '3_603_2',
      '3_729_2',
    ]);
    expect(g.nodes.slice(0, 4)).toEqual([
      { kind: 'feature', layer: 0, sublayer: 'mlp', pos: 1, feature: 5, activation: 2.5, dictionary: 'gemma-2-2b' },
      { kind: 'feature', layer: 0, sublayer: 'mlp', pos: 2, feature: 1, activation: 0.75, dictionary: 'gemma-2-2b' },
      { kind: 'feature', layer: 1, sublayer: 'mlp', pos: 2, feature: 928, activation: 4.25, dictionary: 'gemma-2-2b' },
      { kind: 'error', layer: 0, sublayer: 'mlp', pos: 2 },
    ]);
    expect(g.nodes[8]).toEqual({ kind: 'logit', pos: 2, tokenId: 603, probability: 0.412 });
    expect(g.promptIds).toEqual([2, 651, 4937]);
    expect(g.nLayers).toBe(2);
    expect([...g.targetWeights]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0.412, 0.2]);
    const n = g.nodes.length;
    expect(g.adjacency[2 * n + 3]).toBe(0.125); // 1_928_2 ← 0_0_2
    expect(g.adjacency[8 * n + 4]).toBe(-1);
    expect(g.adjacency.filter((v) => v !== 0)).toHaveLength(9);
    expect(r.influence.slice(0, 3)).toEqual([0.31, 0.52, 0.12]);
    expect(r.clerps[8]).toBe('Output " is" (p=0.412)');
    expect(r.qParams.supernodes).toEqual([['cat', '0_5_1', '1_928_2']]);
    expect(g.settings).toMatchObject({ max_feature_nodes: 7500 });
  });

  it('gives a graph the pruning and the scores accept', () => {
    const g = graphFromJson(circuitTracerJson()).graph;
    const pruned = pruneGraph(g, { nodeThreshold: 1, edgeThreshold: 1 });
    expect(pruned.nodeMask.every((v) => v === 1)).toBe(true);
    const s = graphScores(g);
    expect(s.replacement).toBeGreaterThan(0);
    expect(s.replacement).toBeLessThan(1);
  });

  it('tolerates a legacy file without schema_version, qParams, jsNodeId or clerp', () => {
    const json = circuitTracerJson();
    const meta = json.metadata as Record<string, unknown>;
    delete meta.schema_version;
    delete json.qParams;
    for (const node of json.nodes as Record<string, unknown>[]) {
      delete node.jsNodeId;
      delete node.clerp;
      if (node.feature_type === 'cross layer transcoder') node.feature = 100000 * Number(node.layer) + 7; // v0.1 ids
    }
    const r = graphFromJson(json);
    expect(r.graph.nodes[2]).toMatchObject({ kind: 'feature', layer: 1, feature: 928 }); // from the node_id
    expect(r.qParams).toEqual({ pinnedIds: [], supernodes: [], linkType: 'both', clickedId: '', sg_pos: '' });
    expect(r.clerps.every((c) => c === '')).toBe(true);
  });
});

describe('graphFromJson on a Neuronpedia Lorsa file', () => {
  it('halves interleaved layers, skips bias nodes and their links, keeps QK tracing ids', () => {
    const lorsa = {
      node_id: '0_7_1',
      feature: cantorPair(0, 7),
      layer: 0,
      ctx_idx: 1,
      feature_type: 'lorsa',
      influence: 0.2,
      activation: 1.25,
      qk_tracing_results: {
        pair_wise_contributors: [['E_5_1', '0_bias_lorsa_bK_0', 0.5]],
        top_q_marginal_contributors: [['E_5_1', 0.75]],
        top_k_marginal_contributors: [['0_bias_lorsa_bK_0', 0.25]],
      },
    };
    const json = {
      metadata: { prompt_tokens: ['a', 'b'], prompt: 'ab', schema_version: 1 },
      nodes: [
        lorsa,
        {
          node_id: '1_3_1',
          feature: cantorPair(1, 3),
          layer: 1,
          ctx_idx: 1,
          feature_type: 'cross layer transcoder',
          activation: 2,
        },
        { node_id: '0_error_1', feature: -1, layer: 0, ctx_idx: 1, feature_type: 'lorsa error' },
        { node_id: '1_error_1', feature: -1, layer: 1, ctx_idx: 1, feature_type: 'mlp reconstruction error' },
        { node_id: '0_bias_attn_bO_1', feature: null, layer: 0, ctx_idx: 1, feature_type: 'bias' },
        { node_id: 'E_4_0', feature: null, layer: -1, ctx_idx: 0, feature_type: 'embedding', clerp: 'Emb: "a"' },
        { node_id: 'E_5_1', feature: null, layer: -1, ctx_idx: 1, feature_type: 'embedding', clerp: 'Emb: "b"' },
        {
          node_id: '2_9_1',
          feature: 9,
          layer: 2,
          ctx_idx: 1,
          feature_type: 'logit',
          token_prob: 0.9,
          is_target_logit: true,
        },
      ],
      links: [
        { source: 'E_5_1', target: '0_7_1', weight: 1 },
        { source: '0_7_1', target: '1_3_1', weight: 2 },
        { source: '0_error_1', target: '1_3_1', weight: 0.5 },
        { source: '0_bias_attn_bO_1', target: '1_3_1', weight: 0.1 },
        { source: '1_3_1', target: '2_9_1', weight: 3 },
        { source: '1_error_1', target: '2_9_1', weight: -0.5 },
      ],
      qk_only_nodes: {
        '0_bias_lorsa_bK_0': {
          node_id: '0_bias_lorsa_bK_0',
          feature: null,
          layer: 0,
          ctx_idx: 0,
          feature_type: 'bias',
        },
      },
    };
    const r = graphFromJson(json);
    expect(r.graph.nodes.slice(0, 4)).toEqual([
      { kind: 'feature', layer: 0, sublayer: 'attn', pos: 1, feature: 7, activation: 1.25, dictionary: '' },
      { kind: 'feature', layer: 0, sublayer: 'mlp', pos: 1, feature: 3, activation: 2, dictionary: '' },
      { kind: 'error', layer: 0, sublayer: 'attn', pos: 1 },
      { kind: 'error', layer: 0, sublayer: 'mlp', pos: 1 },
    ]);
    expect(r.graph.nLayers).toBe(1);
    expect(r.skipped).toEqual({ nodeIds: ['0_bias_attn_bO_1'], links: 1 });
    expect(r.qkTracing.get(0)?.top_q_marginal_contributors).toEqual([['E_5_1', 0.75]]);
    expect(r.qkOnlyNodes['0_bias_lorsa_bK_0']).toMatchObject({
      feature_type: 'bias',
      jsNodeId: '0_bias_lorsa_bK_0',
      clerp: '',
    });
    expect(r.graph.adjacency.filter((v) => v !== 0)).toHaveLength(5);
  });
});

describe('graphFromJson errors', () => {
  const withNode = (i: number, patch: Record<string, unknown>) => {
    const json = circuitTracerJson();
    Object.assign((json.nodes as Record<string, unknown>[])[i]!, patch);
    return json;
  };
  it.each([
    ['a missing field', { nodes: [], links: [] }, /^graph JSON: metadata: /],
    ['a bad ctx_idx', withNode(1, { ctx_idx: 'two' }), /^graph JSON: nodes\[1\]\.ctx_idx: .*\(got "two"\)$/],
    [
      'a ctx_idx past the prompt',
      withNode(1, { ctx_idx: 3 }),
      /^graph JSON: nodes\[1\]\.ctx_idx: 3 is outside the prompt's 3 tokens$/,
    ],
    [
      'a repeated id',
      withNode(1, { node_id: '0_5_1' }),
      /^graph JSON: nodes\[1\]\.node_id: "0_5_1" repeats nodes\[0\]$/,
    ],
    [
      'a feature without a layer number',
      withNode(0, { layer: 'E' }),
      /^graph JSON: nodes\[0\]\.layer: expected a layer number/,
    ],
  ])('names the field for %s, in one line', (_what, json, message) => {
    let error: unknown;
    try {
      graphFromJson(json);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('InputError');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('names an unknown link endpoint', () => {
    const json = circuitTracerJson();
    (json.links as { source: string }[])[3]!.source = '9_9_9';
    expect(() => graphFromJson(json)).toThrow('graph JSON: links[3].source: unknown node id "9_9_9"');
  });
});

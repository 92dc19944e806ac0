// A realistic pruned attribution graph in the circuit-tracer / Neuronpedia JSON (spec §6.6), as graphToJson and
// Neuronpedia's lm-saes converter write it for a model with Lorsa and transcoders (rows interleaved: a Lorsa of
// layer L at 2L, the MLP at 2L+1, the logits at 2nL; node ids keep the model layer): "The capital of France is" → " Paris" on a
// 4-layer model. 30 nodes (5 embeddings, 14 features of which 5 Lorsa, 8 errors, 3 logits), Cantor feature ids,
// collision-free node ids, logit clerps, a Lorsa node carrying qk_tracing_results with a contributor that only
// qk_only_nodes names, and each node's influence as the cumulative fraction of the influence computed from its links.

export const FIXTURE_TOKENS = ['The', ' capital', ' of', ' France', ' is'];
import type { GraphJson, GraphJsonNode } from '../../src/protocol/circuits/graph-json';

type NodeInput = GraphJsonNode;

const TOKEN_IDS = [464, 3139, 286, 4881, 318];
const N_LAYERS = 4;
const LAST = FIXTURE_TOKENS.length - 1;

const cantor = (layer: number, index: number) => ((layer + index) * (layer + index + 1)) / 2 + index;

function featureNode(id: string, clerp: string, activation: number): NodeInput {
  const m = /^(\d+)_(lor|cro)_(\d+)_(\d+)$/.exec(id)!;
  const [layer, kind, index, pos] = [Number(m[1]), m[2], Number(m[3]), Number(m[4])];
  return {
    node_id: id,
    feature: cantor(layer, index),
    layer: String(2 * layer + (kind === 'lor' ? 0 : 1)),
    ctx_idx: pos,
    feature_type: kind === 'lor' ? 'lorsa' : 'cross layer transcoder',
    jsNodeId: `${layer}_${kind}_${index}-${pos}`,
    clerp,
    activation,
  };
}

const FEATURES: [string, string, number][] = [
  ['0_cro_5_0', 'sentence start', 3.1],
  ['0_cro_12_1', 'capital (word)', 5.2],
  ['0_cro_40_3', 'France', 7.9],
  ['0_lor_3_3', 'proper noun after "of"', 1.4],
  ['1_lor_21_4', 'copies the country to the last token', 2.2],
  ['1_cro_77_3', 'European country', 4.4],
  ['1_cro_8_4', '"is" after a noun phrase', 2.7],
  ['2_lor_7_4', 'attends from "is" to the country', 3.3],
  ['2_cro_300_4', 'say a capital city', 6.1],
  ['2_cro_15_2', '', 0.9],
  ['3_lor_2_4', 'capital lookup head', 1.8],
  ['3_cro_101_4', 'say "Paris"', 8.4],
  ['3_cro_55_4', 'say an article', 1.1],
  ['3_cro_9_1', 'nouns about government', 0.6],
];

const ERRORS = [
  '0_error_mlp_3',
  '1_error_mlp_4',
  '2_error_mlp_4',
  '3_error_mlp_4',
  '0_error_attn_3',
  '1_error_attn_4',
  '2_error_attn_4',
  '3_error_attn_4',
];

const LOGITS: [number, string, number][] = [
  [6342, ' Paris', 0.412],
  [262, ' the', 0.121],
  [257, ' a', 0.05],
];

const emb = (pos: number) => `E_${TOKEN_IDS[pos]}_${pos}`;
const logit = (tok: number) => `${2 * N_LAYERS}_${tok}_${LAST}`;

/** target ← [source, weight]… */
const LINKS: [string, [string, number][]][] = [
  [
    logit(6342),
    [
      ['3_cro_101_4', 4.1],
      ['2_cro_300_4', 1.9],
      ['3_lor_2_4', 0.9],
      ['3_error_mlp_4', 0.7],
    ],
  ],
  [
    logit(262),
    [
      ['3_cro_55_4', 1.2],
      ['3_cro_101_4', -0.8],
      [emb(4), 0.5],
    ],
  ],
  [
    logit(257),
    [
      ['3_cro_55_4', 0.6],
      ['3_error_attn_4', 0.3],
    ],
  ],
  [
    '3_cro_101_4',
    [
      ['2_cro_300_4', 2.2],
      ['2_lor_7_4', 1.6],
      ['3_lor_2_4', 0.8],
      ['1_cro_77_3', 0.9],
      ['2_error_mlp_4', 0.4],
      ['3_error_attn_4', -0.3],
    ],
  ],
  [
    '3_cro_55_4',
    [
      ['2_cro_300_4', 0.7],
      [emb(4), 0.9],
      ['1_cro_8_4', -0.5],
    ],
  ],
  [
    '3_cro_9_1',
    [
      ['0_cro_12_1', 1.0],
      [emb(1), 0.6],
    ],
  ],
  [
    '3_lor_2_4',
    [
      ['2_cro_300_4', 0.6],
      ['1_lor_21_4', 0.5],
      ['2_error_attn_4', 0.2],
    ],
  ],
  [
    '2_cro_300_4',
    [
      ['2_lor_7_4', 1.8],
      ['1_cro_8_4', 1.1],
      ['1_lor_21_4', 0.7],
      ['1_error_mlp_4', 0.3],
      ['2_cro_15_2', 0.4],
    ],
  ],
  [
    '2_cro_15_2',
    [
      [emb(2), 0.8],
      ['0_cro_12_1', 0.5],
    ],
  ],
  [
    '2_lor_7_4',
    [
      ['1_cro_77_3', 1.5],
      ['0_cro_40_3', 0.8],
      ['0_lor_3_3', 0.4],
      ['2_error_attn_4', 0.2],
      ['0_error_mlp_3', 0.3],
    ],
  ],
  [
    '1_cro_77_3',
    [
      ['0_cro_40_3', 1.9],
      [emb(3), 1.2],
      ['0_lor_3_3', 0.5],
      ['0_error_mlp_3', 0.4],
      ['0_error_attn_3', 0.2],
    ],
  ],
  [
    '1_cro_8_4',
    [
      [emb(4), 1.4],
      ['1_lor_21_4', 0.6],
      ['0_cro_12_1', 0.3],
    ],
  ],
  [
    '1_lor_21_4',
    [
      ['0_cro_40_3', 0.9],
      [emb(3), 0.5],
      ['1_error_attn_4', 0.3],
      [emb(0), -0.2],
      ['0_cro_5_0', 0.15],
    ],
  ],
  [
    '0_lor_3_3',
    [
      [emb(3), 0.7],
      [emb(1), 0.4],
    ],
  ],
  [
    '0_cro_40_3',
    [
      [emb(3), 2.5],
      ['0_lor_3_3', 0.3],
      ['0_error_attn_3', 0.1],
    ],
  ],
  ['0_cro_12_1', [[emb(1), 2.0]]],
  ['0_cro_5_0', [[emb(0), 1.0]]],
];

/** The influence of every node on the logits (weights = their probabilities), summed over paths, from the links. */
function influence(links: { source: string; target: string; weight: number }[]): Map<string, number> {
  const rowSum = new Map<string, number>();
  for (const l of links) rowSum.set(l.target, (rowSum.get(l.target) ?? 0) + Math.abs(l.weight));
  const total = new Map<string, number>();
  let term = new Map(LOGITS.map(([tok, , p]) => [logit(tok), p]));
  while (term.size > 0) {
    const next = new Map<string, number>();
    for (const l of links) {
      const x = term.get(l.target);
      if (x) next.set(l.source, (next.get(l.source) ?? 0) + (x * Math.abs(l.weight)) / rowSum.get(l.target)!);
    }
    for (const [id, v] of next) total.set(id, (total.get(id) ?? 0) + v);
    term = next;
  }
  return total;
}

function withCumulativeInfluence(nodes: NodeInput[], raw: Map<string, number>): NodeInput[] {
  const order = [...nodes].sort((a, b) => (raw.get(b.node_id) ?? 0) - (raw.get(a.node_id) ?? 0));
  const sum = order.reduce((s, n) => s + (raw.get(n.node_id) ?? 0), 0);
  let cum = 0;
  const out = new Map<string, number>();
  for (const n of order) {
    cum += raw.get(n.node_id) ?? 0;
    out.set(n.node_id, Number((cum / sum).toFixed(6)));
  }
  return nodes.map((n) => ({ ...n, influence: out.get(n.node_id)! }));
}

const QK_RESULTS: NonNullable<NodeInput['qk_tracing_results']> = {
  top_q_marginal_contributors: [
    ['1_cro_8_4', 0.92],
    [emb(4), 0.41],
    ['1_lor_21_4', -0.33],
  ],
  top_k_marginal_contributors: [
    ['0_cro_40_3', 1.12],
    [emb(3), 0.58],
    ['0_cro_99_3', -0.21],
  ],
  pair_wise_contributors: [
    ['1_cro_8_4', '0_cro_40_3', 0.71],
    [emb(4), emb(3), 0.35],
    ['1_lor_21_4', '0_cro_99_3', -0.18],
  ],
};

/** The fixture graph (a fresh object each call), under `slug`. */
export function fixtureGraphJson(slug = 'france-capital'): GraphJson {
  const links = LINKS.flatMap(([target, sources]) => sources.map(([source, weight]) => ({ source, target, weight })));
  const nodes: NodeInput[] = [
    ...FIXTURE_TOKENS.map((t, pos) => ({
      node_id: emb(pos),
      feature: null,
      layer: 'E',
      ctx_idx: pos,
      feature_type: 'embedding',
      jsNodeId: `E_${TOKEN_IDS[pos]}-${pos}`,
      clerp: `Emb: ${JSON.stringify(t)}`,
    })),
    ...FEATURES.map(([id, clerp, act]) => ({
      ...featureNode(id, clerp, act),
      ...(id === '2_lor_7_4' ? { qk_tracing_results: QK_RESULTS } : {}),
    })),
    ...ERRORS.map((id) => {
      const [layer, , sub, pos] = id.split('_');
      return {
        node_id: id,
        feature: -1,
        layer: String(2 * Number(layer) + (sub === 'attn' ? 0 : 1)),
        ctx_idx: Number(pos),
        feature_type: sub === 'attn' ? 'lorsa error' : 'mlp reconstruction error',
        jsNodeId: `${layer}_error_${sub}-${pos}`,
        clerp: '',
      };
    }),
    ...LOGITS.map(([tok, text, p], i) => ({
      node_id: logit(tok),
      feature: tok,
      layer: String(2 * N_LAYERS),
      ctx_idx: LAST,
      feature_type: 'logit',
      jsNodeId: `L_${tok}-${LAST}`,
      clerp: `Output ${JSON.stringify(text)} (p=${p})`,
      token_prob: p,
      is_target_logit: i === 0,
    })),
  ];
  return {
    metadata: {
      slug,
      scan: 'pdlm-4l-256-replacement',
      prompt_tokens: FIXTURE_TOKENS,
      prompt: FIXTURE_TOKENS.join(''),
      schema_version: 1,
      node_threshold: 0.8,
      info: { generator: { name: 'sae-studio test fixture', version: '1' } },
    },
    qParams: { pinnedIds: [], supernodes: [], linkType: 'both', clickedId: '', sg_pos: '' },
    nodes: withCumulativeInfluence(nodes, influence(links)),
    links,
    qk_only_nodes: {
      '0_cro_99_3': { ...featureNode('0_cro_99_3', 'country names', 0.8), influence: 1 },
    },
  };
}

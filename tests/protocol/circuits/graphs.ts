// Small attribution graphs for the circuits tests: circuit-tracer's golden 12-node graph and seeded random DAGs
// with the node layout of graph.ts (features, errors site-major, embeddings, logits).
import type { AttributionGraph, GraphNode, Sublayer } from '../../../src/protocol/circuits/graph';

/** mulberry32: a small seeded generator. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function graphOf(nodes: GraphNode[], adjacency: Float64Array | Float32Array, nLayers: number): AttributionGraph {
  const nPos = nodes.filter((x) => x.kind === 'embedding').length;
  const targetWeights = new Float64Array(nodes.length);
  nodes.forEach((x, i) => {
    if (x.kind === 'logit') targetWeights[i] = x.probability;
  });
  const promptIds = nodes.flatMap((x) => (x.kind === 'embedding' ? [x.tokenId] : []));
  return {
    nodes,
    adjacency,
    targetWeights,
    promptIds,
    promptTokens: promptIds.map((id) => `t${id}`),
    nLayers,
    settings: { n_pos: nPos },
  };
}

/**
 * circuit-tracer tests/test_graph.py test_small_graph: 5 features (0–4), 4 errors (2 layers × 2 positions, 5–8),
 * 2 tokens (9, 10), one logit (11); every edge weight 10; edges 11 ← {1,3,6,8}, 3 ← {0,1,6}, 1 ← {9,10}, 0 ← {9}.
 */
export function goldenGraph(): AttributionGraph {
  const f = (layer: number, pos: number, feature: number): GraphNode => ({
    kind: 'feature',
    layer,
    sublayer: 'mlp',
    pos,
    feature,
    activation: 2 * (feature + 1),
    dictionary: 'tc',
  });
  const e = (layer: number, pos: number): GraphNode => ({ kind: 'error', layer, sublayer: 'mlp', pos });
  const nodes: GraphNode[] = [
    f(0, 0, 1),
    f(0, 1, 2),
    f(1, 0, 3),
    f(1, 1, 4),
    f(1, 1, 5),
    e(0, 0),
    e(0, 1),
    e(1, 0),
    e(1, 1),
    { kind: 'embedding', pos: 0, tokenId: 0 },
    { kind: 'embedding', pos: 1, tokenId: 1 },
    { kind: 'logit', pos: 1, tokenId: 0, probability: 1 },
  ];
  const n = nodes.length;
  const a = new Float64Array(n * n);
  const edge = (t: number, s: number): void => void (a[t * n + s] = 10);
  for (const s of [1, 3, 6, 8]) edge(11, s);
  for (const s of [0, 1, 6]) edge(3, s);
  for (const s of [9, 10]) edge(1, s);
  edge(0, 9);
  return graphOf(nodes, a, 2);
}

export interface RandomGraphOptions {
  nLayers?: number;
  nPos?: number;
  /** Features per (layer, sublayer, pos) site. */
  featuresPerSite?: number;
  sublayers?: readonly Sublayer[];
  nLogits?: number;
  /** Probability that an allowed edge exists. */
  density?: number;
  seed?: number;
  float32?: boolean;
}

/**
 * A random graph that obeys the structural zeros of §8.4: an edge s → t only when s sits at an earlier
 * (layer, sublayer) and pos(s) ≤ pos(t); signed weights; logits at the last position read everything.
 */
export function randomGraph(options: RandomGraphOptions = {}): AttributionGraph {
  const nLayers = options.nLayers ?? 3;
  const nPos = options.nPos ?? 3;
  const perSite = options.featuresPerSite ?? 2;
  const sublayers = options.sublayers ?? (['mlp'] as const);
  const rand = random(options.seed ?? 1);
  const nodes: GraphNode[] = [];
  const depth: number[] = [];
  const depthOf = (layer: number, sublayer: Sublayer): number => 2 * layer + (sublayer === 'attn' ? 1 : 2);
  for (let layer = 0; layer < nLayers; layer++)
    for (const sublayer of sublayers)
      for (let pos = 0; pos < nPos; pos++)
        for (let k = 0; k < perSite; k++) {
          nodes.push({
            kind: 'feature',
            layer,
            sublayer,
            pos,
            feature: 3 * k + layer,
            activation: 1 + rand(),
            dictionary: `${sublayer}-${layer}`,
          });
          depth.push(depthOf(layer, sublayer));
        }
  for (let layer = 0; layer < nLayers; layer++)
    for (const sublayer of sublayers)
      for (let pos = 0; pos < nPos; pos++) {
        nodes.push({ kind: 'error', layer, sublayer, pos });
        depth.push(depthOf(layer, sublayer));
      }
  for (let pos = 0; pos < nPos; pos++) {
    nodes.push({ kind: 'embedding', pos, tokenId: 10 + pos });
    depth.push(0);
  }
  const nLogits = options.nLogits ?? 2;
  for (let k = 0; k < nLogits; k++) {
    nodes.push({ kind: 'logit', pos: nPos - 1, tokenId: 40 + k, probability: 0.6 / (k + 1) });
    depth.push(1e9);
  }
  const n = nodes.length;
  const a = options.float32 ? new Float32Array(n * n) : new Float64Array(n * n);
  const density = options.density ?? 0.6;
  const posOf = (x: GraphNode): number => x.pos;
  nodes.forEach((t, ti) => {
    if (t.kind !== 'feature' && t.kind !== 'logit') return;
    nodes.forEach((s, si) => {
      if (s.kind === 'logit' || depth[si]! >= depth[ti]! || posOf(s) > posOf(t)) return;
      if (rand() < density) a[ti * n + si] = (rand() - 0.4) * 4;
    });
  });
  return graphOf(nodes, a, nLayers);
}

// Influence and pruning (spec §6.5, §8.4–8.5): circuit-tracer's golden graph with its exact numbers, the closed
// form wÂ(I − Â)⁻¹, termination, normalization, and the pruning invariants on random DAGs in float64 and float32.
import { describe, expect, it } from 'vitest';
import type { AttributionGraph } from '../../../src/protocol/circuits/graph';
import {
  computeInfluence,
  cumulativeInfluence,
  edgeScoreMatrix,
  findThreshold,
  nodeInfluence,
  normalizeAdjacency,
  pruneGraph,
  type PruneMethod,
} from '../../../src/protocol/circuits/influence';
import { expectClose } from '../../helpers/expect-close';
import { goldenGraph, randomGraph } from './graphs';

const GOLDEN_I = [1 / 12, 1 / 3, 0, 1 / 4, 0, 0, 1 / 3, 0, 1 / 4, 1 / 4, 1 / 6, 0];

/** x = wÂ(I − Â)⁻¹ by Gaussian elimination on (I − Â)ᵀ xᵀ = (wÂ)ᵀ, independent of the power series. */
function closedFormInfluence(graph: AttributionGraph): Float64Array {
  const n = graph.nodes.length;
  const an = normalizeAdjacency(graph.adjacency, n);
  const m = new Float64Array(n * n); // (I − Â)ᵀ
  const rhs = new Float64Array(n); // (wÂ)ᵀ
  for (let t = 0; t < n; t++) {
    for (let s = 0; s < n; s++) {
      m[s * n + t] = (s === t ? 1 : 0) - an[t * n + s]!;
      rhs[s]! += graph.targetWeights[t]! * an[t * n + s]!;
    }
  }
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]!) > Math.abs(m[p * n + c]!)) p = r;
    for (let k = 0; k < n; k++) [m[c * n + k], m[p * n + k]] = [m[p * n + k]!, m[c * n + k]!];
    [rhs[c], rhs[p]] = [rhs[p]!, rhs[c]!];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c]! / m[c * n + c]!;
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k]! -= f * m[c * n + k]!;
      rhs[r]! -= f * rhs[c]!;
    }
  }
  return rhs.map((v, i) => v / m[i * n + i]!);
}

const kept = (mask: Uint8Array): number[] => [...mask.keys()].filter((i) => mask[i] === 1);

describe('the golden graph of circuit-tracer tests/test_graph.py', () => {
  it('has the node influence [1/12, 1/3, 0, 1/4, 0, 0, 1/3, 0, 1/4, 1/4, 1/6, 0]', () => {
    expectClose(nodeInfluence(goldenGraph()), GOLDEN_I, { rtol: 1e-15, label: 'I' });
  });

  it('has the edge scores 1/4 (row 11), 1/8 (row 3) and 3/16 (row 1) once edges (0,9) and (3,0) are gone', () => {
    const g = goldenGraph();
    const n = g.nodes.length;
    const a = Float64Array.from(g.adjacency);
    a[0 * n + 9] = 0;
    a[3 * n + 0] = 0;
    const influence = computeInfluence(a, n, g.targetWeights);
    const expected = new Float64Array(n * n);
    for (const s of [1, 3, 6, 8]) expected[11 * n + s] = 1 / 4;
    for (const s of [1, 6]) expected[3 * n + s] = 1 / 8;
    for (const s of [9, 10]) expected[1 * n + s] = 3 / 16;
    expectClose(edgeScoreMatrix(a, n, g.targetWeights, influence), expected, { rtol: 1e-15, label: 'edge scores' });
  });

  it('prunes node 0 at τ_n 0.8 (removing exactly those two edges) and keeps the other eight edges at τ_e 0.98', () => {
    const g = goldenGraph();
    const n = g.nodes.length;
    const r = pruneGraph(g);
    expect(r.nodeCutoff).toBeCloseTo(1 / 4, 15);
    expect(kept(r.nodeMask)).toEqual([1, 3, 6, 8, 9, 10, 11]);
    const edges = kept(r.edgeMask).map((i) => [Math.floor(i / n), i % n]);
    expect(edges).toEqual([
      [1, 9],
      [1, 10],
      [3, 1],
      [3, 6],
      [11, 1],
      [11, 3],
      [11, 6],
      [11, 8],
    ]);
    expect(r.edgeCutoff).toBeCloseTo(1 / 8, 15);
    const cumulative = [1, 0.2, 1, 0.55, 1, 1, 0.4, 1, 0.7, 0.85, 0.95, 1];
    expectClose(r.cumulativeInfluence, cumulative, { rtol: 1e-12, label: 'cumulative influence' });
  });
});

describe('influence', () => {
  it.each([1, 2, 3])('equals the closed form wÂ(I − Â)⁻¹ on random DAG %i', (seed) => {
    const g = randomGraph({ seed, nLayers: 3, nPos: 4, sublayers: ['attn', 'mlp'] });
    expectClose(nodeInfluence(g), closedFormInfluence(g), { rtol: 1e-12, label: `seed ${seed}` });
  });

  it('terminates within #sites + 1 products on a DAG and rejects a cycle', () => {
    const g = randomGraph({ seed: 4, nLayers: 3, sublayers: ['attn', 'mlp'], density: 1 });
    const n = g.nodes.length;
    // 6 sites: the longest path embedding → 6 sites → logit has 7 edges; the 7th product after wÂ vanishes.
    expect(() => computeInfluence(g.adjacency, n, g.targetWeights, { maxIterations: 7 })).not.toThrow();
    expect(() => computeInfluence(g.adjacency, n, g.targetWeights, { maxIterations: 6 })).toThrow(/cycle/);
    const cyclic = Float64Array.from(g.adjacency);
    cyclic[0 * n + 1] = 1;
    cyclic[1 * n + 0] = 1;
    expect(() => computeInfluence(cyclic, n, g.targetWeights)).toThrow(/after 1000 iterations.*cycle/);
  });

  it('normalizes rows of |A| to sum 1, or 0 for rows without inputs', () => {
    const g = randomGraph({ seed: 5 });
    const n = g.nodes.length;
    const an = normalizeAdjacency(g.adjacency, n);
    for (let t = 0; t < n; t++) {
      let sum = 0;
      for (let s = 0; s < n; s++) sum += an[t * n + s]!;
      const hasInputs = g.adjacency.subarray(t * n, (t + 1) * n).some((v) => v !== 0);
      expect(sum).toBeCloseTo(hasInputs ? 1 : 0, 14);
    }
  });
});

describe('findThreshold', () => {
  it('cuts at the first cumulative fraction ≥ τ', () => {
    expect(findThreshold([1, 4, 2, 3], 0.5)).toBe(3);
    expect(findThreshold([1, 4, 2, 3], 0)).toBe(4);
    expect(findThreshold([1, 4, 2, 3], 0.7)).toBe(3);
    expect(findThreshold([1, 4, 2, 3], 0.71)).toBe(2);
  });

  it('never returns 0 at τ = 1 while a score is nonzero (circuit-tracer test_prune_graph_threshold)', () => {
    const scores = [0.91275554895401, 0.8132702112197876, 0.016527635976672173, 0, 0, 0].map(Math.fround);
    expect(findThreshold(scores, 1)).toBe(Math.fround(0.016527635976672173));
    expect(findThreshold([0, 0], 1)).toBe(0);
  });

  it('is non-increasing in τ, so the node mask grows with τ_n', () => {
    const influence = nodeInfluence(randomGraph({ seed: 6, nPos: 5 }));
    let previous = Infinity;
    for (let tau = 0; tau <= 1.0001; tau += 0.05) {
      const cut = findThreshold(influence, Math.min(tau, 1));
      expect(cut).toBeLessThanOrEqual(previous);
      previous = cut;
    }
  });

  it('refuses τ outside [0, 1]', () => {
    expect(() => findThreshold([1], 1.5)).toThrow('threshold must be in [0, 1], got 1.5');
    expect(() => pruneGraph(goldenGraph(), { edgeThreshold: -0.1 })).toThrow(/edge_threshold must be in \[0, 1\]/);
  });
});

function checkPruningInvariants(g: AttributionGraph, method: PruneMethod, nodeThreshold: number): void {
  const n = g.nodes.length;
  const r = pruneGraph(g, { method, nodeThreshold, edgeThreshold: 0.9 });
  const label = `${method} τ_n ${nodeThreshold}`;
  g.nodes.forEach((node, i) => {
    if (node.kind === 'embedding' || node.kind === 'logit') expect(r.nodeMask[i], `${label}: node ${i}`).toBe(1);
  });
  // Every kept feature and error node.
  const keptSources = g.nodes
    .map((node, i) => ({ node, i }))
    .filter(({ node, i }) => r.nodeMask[i] && (node.kind === 'feature' || node.kind === 'error'));
  for (const { node, i } of keptSources) {
    let ins = 0;
    let outs = 0;
    for (let k = 0; k < n; k++) {
      ins += r.edgeMask[i * n + k]!;
      outs += r.edgeMask[k * n + i]!;
    }
    expect(outs, `${label}: out-edges of kept ${node.kind} ${i}`).toBeGreaterThan(0);
    if (node.kind === 'feature') expect(ins, `${label}: in-edges of kept feature ${i}`).toBeGreaterThan(0);
  }
  for (const e of kept(r.edgeMask)) {
    const [t, s] = [Math.floor(e / n), e % n];
    expect(r.nodeMask[t] && r.nodeMask[s], `${label}: edge ${s} → ${t} between kept nodes`).toBe(1);
    expect(g.adjacency[e], `${label}: edge ${s} → ${t} is real`).not.toBe(0);
  }
  for (let i = 0; i < n; i++) {
    if (r.nodeMask[i] && g.nodes[i]!.kind !== 'embedding' && g.nodes[i]!.kind !== 'logit') {
      expect(r.influence[i], `${label}: kept node ${i} passes the node cut`).toBeGreaterThanOrEqual(r.nodeCutoff);
    }
  }
}

describe('pruning invariants (§8.5)', () => {
  const cases = [1, 2, 3].flatMap((seed) =>
    (['circuit-tracer', 'lm-saes'] as const).flatMap((method) => [0.5, 0.8, 1].map((tau) => ({ seed, method, tau }))),
  );
  it.each(cases)('hold for seed $seed, $method, τ_n $tau', ({ seed, method, tau }) => {
    checkPruningInvariants(randomGraph({ seed, nPos: 4, sublayers: ['attn', 'mlp'] }), method, tau);
  });

  it('keeps every node with nonzero influence at τ = 1 when every feature has inputs', () => {
    const g = randomGraph({ seed: 7, density: 1, nPos: 3 });
    const r = pruneGraph(g, { nodeThreshold: 1, edgeThreshold: 1 });
    const expected = g.nodes.map((x, i) =>
      r.influence[i]! > 0 || x.kind === 'embedding' || x.kind === 'logit' ? 1 : 0,
    );
    expect([...r.nodeMask]).toEqual(expected);
  });

  it('gives the same masks for float32 and float64 adjacencies of the same values', () => {
    const g32 = randomGraph({ seed: 8, float32: true });
    const g64 = { ...g32, adjacency: Float64Array.from(g32.adjacency) };
    const [r32, r64] = [pruneGraph(g32), pruneGraph(g64)];
    expect(r32.nodeMask).toEqual(r64.nodeMask);
    expect(r32.edgeMask).toEqual(r64.edgeMask);
  });

  it('scores lm-saes edges on the un-node-pruned matrix: the golden graph keeps a different edge set', () => {
    const g = goldenGraph();
    const ct = pruneGraph(g, { method: 'circuit-tracer', nodeThreshold: 0.8, edgeThreshold: 0.98 });
    const lm = pruneGraph(g, { method: 'lm-saes', nodeThreshold: 0.8, edgeThreshold: 0.98 });
    expect(kept(lm.nodeMask)).toEqual(kept(ct.nodeMask));
    // lm-saes ranks row 3 by the unpruned Â (1/3 each), so its cut-off differs from circuit-tracer's 1/8.
    expect(lm.edgeCutoff).not.toBeCloseTo(ct.edgeCutoff, 6);
  });

  it('reports the cumulative influence in descending order, ties in matrix order', () => {
    expect([...cumulativeInfluence(Float64Array.from([1, 3, 0, 1]))]).toEqual([0.8, 0.6, 1, 1]);
  });
});

// The graph view's reading of a Neuronpedia-style graph JSON and its layer × position layout: roles, sublayers and
// feature indices from the JSON's fields, embeddings at the bottom and logits on top, Lorsa (attn) rows below the
// MLP rows of the same layer, one column per prompt position, nodes of a cell side by side inside their column.
import { describe, expect, it } from 'vitest';
import { GraphJsonSchema } from '../../../src/protocol/circuits/graph-json';
import { layoutGraph, rowIndex, rowLabels } from '../../../src/renderer/src/circuits/graph-layout';
import { nextTokenProbabilities, resolveNode, toViewGraph } from '../../../src/renderer/src/circuits/graph-model';
import { FIXTURE_TOKENS, fixtureGraphJson } from '../../helpers/graph-json-fixture';

const graph = () => toViewGraph(GraphJsonSchema.parse(fixtureGraphJson()));

describe('graph model', () => {
  it('reads roles, layers, sublayers and feature indices from the JSON', () => {
    const g = graph();
    expect(g.nodes).toHaveLength(30);
    expect(g.nLayers).toBe(4);
    expect(g.hasAttn).toBe(true);
    const count = (role: string) => g.nodes.filter((n) => n.role === role).length;
    expect([count('embedding'), count('feature'), count('error'), count('logit')]).toEqual([5, 14, 8, 3]);
    expect(g.byId.get('2_lor_7_4')).toMatchObject({
      role: 'feature',
      layer: 2,
      sublayer: 'attn',
      pos: 4,
      featureIndex: 7,
    });
    expect(g.byId.get('2_cro_300_4')).toMatchObject({
      sublayer: 'mlp',
      featureIndex: 300,
      label: 'say a capital city',
    });
    expect(g.byId.get('1_error_attn_4')).toMatchObject({ role: 'error', sublayer: 'attn', label: 'Err: attn " is"' });
    expect(g.byId.get('0_error_mlp_3')).toMatchObject({ role: 'error', sublayer: 'mlp', label: 'Err: mlp " France"' });
    // An empty feature clerp gets a synthesized label.
    expect(g.byId.get('2_cro_15_2')?.label).toBe('TC L2 #15');
    // Logits sit above the last layer; their token and probability come from the clerp.
    expect(g.byId.get('8_6342_4')).toMatchObject({ role: 'logit', layer: 4, token: ' Paris', tokenProb: 0.412 });
    expect(g.byId.get('2_lor_7_4')?.qk?.pair_wise_contributors).toHaveLength(3);
    expect(resolveNode(g, '0_cro_99_3')).toMatchObject({ label: 'country names', featureIndex: 99 });
    expect(resolveNode(g, 'nope')).toBeNull();
  });

  it('reads the next-token probabilities from the logit clerps, most likely first', () => {
    expect(nextTokenProbabilities(graph()).map((t) => [t.token, t.prob, t.target])).toEqual([
      [' Paris', 0.412, true],
      [' the', 0.121, false],
      [' a', 0.05, false],
    ]);
  });
});

describe('graph layout', () => {
  it('stacks embeddings, then attn and mlp rows per layer, then logits', () => {
    const g = graph();
    expect(rowLabels(4, true)).toEqual([
      'Emb',
      'L0 attn',
      'L0 mlp',
      'L1 attn',
      'L1 mlp',
      'L2 attn',
      'L2 mlp',
      'L3 attn',
      'L3 mlp',
      'Logits',
    ]);
    expect(rowLabels(2, false)).toEqual(['Emb', 'L0', 'L1', 'Logits']);
    const row = (id: string) => rowIndex(g.byId.get(id)!, g.nLayers, g.hasAttn);
    expect(row('E_464_0')).toBe(0);
    expect(row('0_lor_3_3')).toBe(1);
    expect(row('0_cro_40_3')).toBe(2);
    expect(row('2_lor_7_4')).toBe(5);
    expect(row('2_error_attn_4')).toBe(5);
    expect(row('2_cro_300_4')).toBe(6);
    expect(row('8_6342_4')).toBe(9);
  });

  it('places every visible node in its row and its position column, logits above features above embeddings', () => {
    const g = graph();
    const all = new Set(g.nodes.map((n) => n.id));
    const layout = layoutGraph(g, all, { width: 900 });
    expect(layout.at.size).toBe(30);
    expect(layout.columns.map((c) => c.token)).toEqual(FIXTURE_TOKENS);
    for (const n of g.nodes) {
      const p = layout.at.get(n.id)!;
      const col = layout.columns[n.pos]!;
      expect(p.x).toBeGreaterThan(col.x0);
      expect(p.x).toBeLessThan(col.x1);
      expect(p.y).toBe(layout.rows[rowIndex(n, g.nLayers, g.hasAttn)]!.y);
    }
    const y = (id: string) => layout.at.get(id)!.y;
    expect(y('8_6342_4')).toBeLessThan(y('3_cro_101_4')); // SVG y grows downwards: logits on top
    expect(y('3_cro_101_4')).toBeLessThan(y('3_lor_2_4'));
    expect(y('0_cro_5_0')).toBeLessThan(y('E_464_0'));
    // The crowded last column is wider than the first; the columns tile the width without overlap.
    const w = (c: { x0: number; x1: number }) => c.x1 - c.x0;
    expect(w(layout.columns[4]!)).toBeGreaterThan(w(layout.columns[0]!));
    for (let i = 1; i < layout.columns.length; i++)
      expect(layout.columns[i]!.x0).toBeCloseTo(layout.columns[i - 1]!.x1);
    // Three logits in one cell: side by side, the most likely first.
    const logits = ['8_6342_4', '8_262_4', '8_257_4'].map((id) => layout.at.get(id)!.x);
    expect(logits[0]).toBeLessThan(logits[1]!);
    expect(logits[1]).toBeLessThan(logits[2]!);
  });

  it('grows wider than a narrow window rather than stack the nodes of a crowded cell', () => {
    const g = graph();
    const layout = layoutGraph(g, new Set(g.nodes.map((n) => n.id)), { width: 120 });
    expect(layout.width).toBeGreaterThan(120);
    const byRow = new Map<number, number[]>();
    for (const p of layout.at.values()) byRow.set(p.y, [...(byRow.get(p.y) ?? []), p.x]);
    for (const xs of byRow.values()) {
      xs.sort((a, b) => a - b);
      for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!).toBeGreaterThanOrEqual(16 - 1e-9);
    }
    // A wide window is filled, not exceeded.
    expect(layoutGraph(g, new Set(g.nodes.map((n) => n.id)), { width: 1400 }).width).toBe(1400);
  });

  it('lays out only the visible nodes, and a graph without Lorsa nodes gets one row per layer', () => {
    const json = fixtureGraphJson();
    json.nodes = json.nodes.filter((n) => n.feature_type !== 'lorsa' && n.feature_type !== 'lorsa error');
    const ids = new Set(json.nodes.map((n) => n.node_id));
    json.links = json.links.filter((l) => ids.has(l.source) && ids.has(l.target));
    // Without a Lorsa the rows are plain: layer L, logits at nL + 1.
    json.nodes = json.nodes.map((n) => ({
      ...n,
      layer: n.feature_type === 'logit' ? '5' : n.layer === 'E' ? 'E' : String((Number(n.layer) - 1) / 2),
      qk_tracing_results: undefined,
    }));
    const g = toViewGraph(GraphJsonSchema.parse(json));
    expect(g.hasAttn).toBe(false);
    const layout = layoutGraph(g, new Set(['E_464_0', '3_cro_101_4', '8_6342_4']), { width: 600 });
    expect([...layout.at.keys()].sort()).toEqual(['3_cro_101_4', '8_6342_4', 'E_464_0']);
    expect(layout.rows.map((r) => r.label)).toEqual(['Emb', 'L0', 'L1', 'L2', 'L3', 'Logits']);
    expect(g.byId.get('3_cro_101_4')?.layer).toBe(3);
    expect(g.nLayers).toBe(4);
  });
});

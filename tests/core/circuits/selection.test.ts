// Selection and batching (spec §8 items 3 and 6) on pdlm-4l-256 with transcoders and Lorsas: rows identical for
// batch sizes 1, 7 and the default; the logits kept by max_n_logits and desired_logit_prob; the greedy cap; chosen
// tokens, a logit difference and feature targets; progress and cancellation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAttribution, type AttributionRun } from '../../../src/core/circuits/attribute';
import { partialInfluence } from '../../../src/core/circuits/greedy';
import type { NamedDictionary } from '../../../src/core/circuits/replacement';
import { lastProbabilities, selectLogits } from '../../../src/core/circuits/targets';
import { initBackend } from '../../../src/core/tensor/backend';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import type { GraphNode } from '../../../src/protocol/circuits/graph';
import { expectClose } from '../../helpers/expect-close';
import { PDLM_DIR } from '../../helpers/fixtures';
import { expectComplete, expectStructure } from './invariants';
import { lorsas, transcoders } from './replacement-fixtures';

const IDS = [0, 412, 87, 2051, 99, 7];
const F64 = { dtype: 'float64', max_feature_nodes: null } as const;

let model: HookedTransformer;
let sites: NamedDictionary[];
let base: AttributionRun;

beforeAll(async () => {
  await initBackend('cpu');
  model = loadModel(PDLM_DIR).model;
  sites = [...transcoders(model.cfg, { datasetNorm: 9 }), ...lorsas(model.cfg, { datasetNorm: 5 })];
  base = await runAttribution(model, sites, IDS, F64);
});
afterAll(() => model.dispose());

const logitNodes = (run: AttributionRun) =>
  run.graph.nodes.filter((n): n is Extract<GraphNode, { kind: 'logit' }> => n.kind === 'logit');

describe('attribution engine: batching and selection (pdlm-4l-256)', () => {
  it('gives identical rows for batch sizes 1, 7 and the default, and for any update_interval without a cap', async () => {
    for (const settings of [{ batch_size: 1 }, { batch_size: 7, update_interval: 1 }]) {
      const run = await runAttribution(model, sites, IDS, { ...F64, ...settings });
      expect(run.graph.nodes).toEqual(base.graph.nodes);
      expect(run.graph.adjacency).toEqual(base.graph.adjacency);
    }
  });

  it('keeps the top logits up to desired_logit_prob, at most max_n_logits, weighted by their probabilities', async () => {
    const probs = lastProbabilities(base.state.lastLogits);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
    for (const [maxN, desired] of [
      [10, 0.95],
      [3, 0.99],
      [10, 1e-6],
    ] as const) {
      const picked = selectLogits(probs, maxN, desired);
      let k = 0;
      let cum = 0;
      while (k < maxN && cum < desired) cum += probs[order[k++]!]!;
      expect(picked.map((p) => p.tokenId)).toEqual(order.slice(0, k));
    }
    const run = await runAttribution(model, sites, IDS, { ...F64, max_n_logits: 3, desired_logit_prob: 0.99 });
    const logits = logitNodes(run);
    expect(logits.map((n) => n.tokenId)).toEqual(order.slice(0, logits.length));
    expect(logits.length).toBeLessThanOrEqual(3);
    const weights = run.graph.targetWeights.slice(run.graph.nodes.length - logits.length);
    expect([...weights]).toEqual(logits.map((n) => probs[n.tokenId]!));
    expect(logits.every((n) => n.pos === IDS.length - 1)).toBe(true);
  });

  it('collects min(max_feature_nodes, #active) features, the first batch by influence on the logits', async () => {
    const nActive = base.layout.features.length;
    expect(base.featureColumns.length).toBe(nActive);
    const run = await runAttribution(model, sites, IDS, {
      ...F64,
      max_feature_nodes: 5,
      batch_size: 2,
      update_interval: 1,
    });
    expect(run.featureColumns.length).toBe(5);
    const nL = base.targets.logits.length;
    const n = base.graph.nodes.length;
    const rows = Array.from({ length: nL }, (_, k) => {
      const t = n - nL + k;
      const full = new Float64Array(base.layout.nCols); // uncapped: node j < nActive is feature column j
      for (let j = 0; j < n - nL; j++) full[j] = base.graph.adjacency[t * n + j]!;
      return full;
    });
    const infl = partialInfluence(
      rows,
      rows.map(() => -1),
      base.targets.logits.map((t) => t.weight),
      base.layout.nCols,
    );
    const firstTwo = Array.from({ length: nActive }, (_, f) => f)
      .sort((a, b) => infl[b]! - infl[a]! || a - b)
      .slice(0, 2);
    for (const f of firstTwo) expect(run.featureColumns).toContain(f);
    expectStructure(run, 'capped');
    // A capped graph keeps only its features' columns: its rows are the uncapped rows on those columns.
    const m = run.graph.nodes.length;
    const t = m - 1;
    run.featureColumns.forEach((c, j) =>
      expect(run.graph.adjacency[t * m + j]).toBe(base.graph.adjacency[(n - 1) * n + c]),
    );
  });

  it('explains chosen tokens, a logit difference and chosen features, each row complete', async () => {
    const tokens = await runAttribution(model, sites, IDS, { ...F64, targets: { type: 'tokens', ids: [5, 17] } });
    expect(logitNodes(tokens).map((n) => n.tokenId)).toEqual([5, 17]);
    expectComplete(tokens, 1e-9, 'tokens');
    const diff = await runAttribution(model, sites, IDS, {
      ...F64,
      targets: { type: 'logit-difference', positive: 5, negative: 17 },
    });
    expect(logitNodes(diff)).toEqual([expect.objectContaining({ tokenId: 5, contrastTokenId: 17 })]);
    expectComplete(diff, 1e-9, 'logit difference');
    const f = base.layout.features[base.layout.features.length - 1]!;
    const name = sites[f.site]!.name;
    const feats = await runAttribution(model, sites, IDS, {
      ...F64,
      targets: { type: 'features', features: [{ dictionary: name, layer: f.layer, pos: f.pos, feature: f.index }] },
    });
    expect(logitNodes(feats)).toEqual([]);
    const w = [...feats.graph.targetWeights];
    expect(w.filter((x) => x !== 0)).toEqual([1]);
    expectComplete(feats, 1e-9, 'feature target');
  });

  it('reports progress and stops when its signal is aborted', async () => {
    const phases = new Set<string>();
    await runAttribution(model, sites, IDS, { ...F64, batch_size: 16 }, { onProgress: (p) => phases.add(p.phase) });
    expect([...phases]).toEqual(['forward', 'targets', 'features']);
    const ctl = new AbortController();
    const seen: number[] = [];
    const run = runAttribution(
      model,
      sites,
      IDS,
      { ...F64, batch_size: 4 },
      {
        signal: ctl.signal,
        onProgress: (p) => {
          if (p.phase === 'features') {
            seen.push(p.done);
            ctl.abort();
          }
        },
      },
    );
    await expect(run).rejects.toThrow(/abort/i);
    expect(seen.length).toBe(1);
  });
});

describe('attribution engine: influence on a partial matrix (pdlm-4l-256)', () => {
  it('computes partial influence as the power series wÂ + wÂ² + … over the rows it has', () => {
    const { graph } = base;
    const n = graph.nodes.length;
    const hat = Array.from({ length: n }, (_, t) => {
      const row = graph.adjacency.subarray(t * n, (t + 1) * n);
      let sum = 0;
      for (const v of row) sum += Math.abs(v);
      return Float64Array.from(row, (v) => (sum > 0 ? Math.abs(v) / sum : 0));
    });
    const series = new Float64Array(n);
    let term = Float64Array.from(graph.targetWeights);
    for (let step = 0; step < 2 * n && term.some((v) => v !== 0); step++) {
      const next = new Float64Array(n);
      term.forEach((x, t) => {
        if (x !== 0) for (let s = 0; s < n; s++) next[s]! += x * hat[t]![s]!;
      });
      next.forEach((v, s) => (series[s]! += v));
      term = next;
    }
    const withRows = graph.nodes
      .map((_, t) => t)
      .filter((t) => graph.nodes[t]!.kind === 'feature' || graph.nodes[t]!.kind === 'logit');
    const infl = partialInfluence(
      withRows.map((t) => graph.adjacency.subarray(t * n, (t + 1) * n)),
      withRows.map((t) => (graph.nodes[t]!.kind === 'feature' ? t : -1)),
      withRows.map((t) => graph.targetWeights[t]!),
      n,
    );
    expectClose(infl, series, { rtol: 1e-12, label: 'influence' });
    expect(series.some((v, s) => v > 0 && graph.nodes[s]!.kind === 'feature')).toBe(true);
  });
});

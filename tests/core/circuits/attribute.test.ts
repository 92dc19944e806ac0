// The attribution engine's exact invariants (spec §8 items 1–4) on pdlm-4l-256 and on the gpt2, llama, gemma2,
// gpt_neox and qwen3 fixture architectures, with small random replacement models: per-layer transcoders with or
// without Lorsas, and a CLT. Float64 to ~1e-9, float32 to 1e-4. The engine's numerics are host arrays, so one
// backend runs the real pass here (the model runner's parity on every backend is tests/core/lm/hf-parity.test.ts).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAttribution, type AttributionRun } from '../../../src/core/circuits/attribute';
import { frozenForward, realLeaves } from '../../../src/core/circuits/frozen-forward';
import type { NamedDictionary } from '../../../src/core/circuits/replacement';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import type { ModelConfig } from '../../../src/core/lm/model-config';
import { describeEachBackend } from '../../helpers/backends';
import { expectClose } from '../../helpers/expect-close';
import { archFixture, PDLM_DIR } from '../../helpers/fixtures';
import { expectComplete, expectPerturbation, expectStructure } from './invariants';
import { clt, lorsas, transcoders } from './replacement-fixtures';

interface Case {
  name: string;
  dir: string;
  ids: number[];
  sites: (cfg: ModelConfig) => NamedDictionary[];
  zeroFirst: number;
  basis?: 'transformer-lens';
}

const CASES: Case[] = [
  {
    name: 'pdlm-4l-256, transcoders + Lorsas',
    dir: PDLM_DIR,
    ids: [0, 412, 87, 2051, 99, 7],
    sites: (m) => [...transcoders(m, { datasetNorm: 9 }), ...lorsas(m, { datasetNorm: 5 })],
    zeroFirst: 1,
  },
  {
    name: 'pdlm-4l-256, CLT, real attention',
    dir: PDLM_DIR,
    ids: [0, 301, 5, 4000, 17],
    sites: (m) => [clt(m, { datasetNorm: 7, F: 6 })],
    zeroFirst: 0,
  },
  {
    name: 'gpt2, transcoders resid_mid → mlp_out',
    dir: archFixture('gpt2'),
    ids: [3, 100, 250, 7, 400, 11],
    sites: (m) => transcoders(m, { F: 12, k: 3 }, 'hook_resid_mid'),
    zeroFirst: 1,
  },
  {
    name: 'gpt2 in the TransformerLens basis, transcoders + Lorsas',
    dir: archFixture('gpt2'),
    ids: [8, 90, 451, 3, 77],
    sites: (m) => [
      ...transcoders(m, { basis: 'transformer-lens', datasetNorm: 2 }),
      ...lorsas(m, { basis: 'transformer-lens' }),
    ],
    zeroFirst: 1,
    basis: 'transformer-lens',
  },
  {
    name: 'llama (GQA), transcoders + Lorsas',
    dir: archFixture('llama'),
    ids: [1, 50, 300, 77, 200, 9, 480],
    sites: (m) => [...transcoders(m, { datasetNorm: 3 }), ...lorsas(m)],
    zeroFirst: 1,
  },
  {
    name: 'gemma2 (post-norms, softcaps), transcoders and Lorsas before the post-norms',
    dir: archFixture('gemma2'),
    ids: [2, 60, 301, 45, 120, 8],
    sites: (m) => [
      ...transcoders(m, { datasetNorm: 4 }, 'ln2.hook_normalized', 'ln2_post.hook_in'),
      ...lorsas(m, {}, 'ln1_post.hook_in'),
    ],
    zeroFirst: 0,
  },
  {
    name: 'gemma2, CLT into hook_mlp_out, real attention',
    dir: archFixture('gemma2'),
    ids: [2, 61, 7, 400, 33],
    sites: (m) => [clt(m, { F: 8, k: 3 })],
    zeroFirst: 1,
  },
  {
    name: 'gpt_neox (parallel attention and MLP), transcoders + Lorsas',
    dir: archFixture('gpt_neox'),
    ids: [5, 70, 310, 44, 9],
    sites: (m) => [...transcoders(m, {}, 'hook_resid_pre'), ...lorsas(m)],
    zeroFirst: 1,
  },
  {
    name: 'gpt_neox, CLT reading ln2, real attention',
    dir: archFixture('gpt_neox'),
    ids: [5, 71, 12, 300, 8, 99],
    sites: (m) => [clt(m, { F: 8, k: 3, datasetNorm: 3 })],
    zeroFirst: 0,
  },
  {
    name: 'qwen3 (QK norm), transcoders',
    dir: archFixture('qwen3'),
    ids: [4, 80, 320, 46, 10, 3],
    sites: (m) => transcoders(m, { datasetNorm: 2 }),
    zeroFirst: 1,
  },
];

describeEachBackend(
  'attribution engine: exact invariants',
  () => {
    for (const c of CASES) describeCase(c);
  },
  ['cpu'],
);

/** The strongest source of each kind into the first logit row (a feature, an error, an embedding). */
function strongSources(run: AttributionRun): number[] {
  const { graph } = run;
  const n = graph.nodes.length;
  const t = graph.nodes.findIndex((x) => x.kind === 'logit');
  const best = new Map<string, number>();
  for (let s = 0; s < n; s++) {
    const kind = graph.nodes[s]!.kind;
    const a = Math.abs(graph.adjacency[t * n + s]!);
    const prev = best.get(kind);
    if (kind !== 'logit' && a > 0 && (prev === undefined || a > Math.abs(graph.adjacency[t * n + prev]!)))
      best.set(kind, s);
  }
  return [...best.values()];
}

function describeCase(c: Case) {
  let model: HookedTransformer;
  let sites: NamedDictionary[];
  let run64: AttributionRun;
  beforeAll(async () => {
    model = loadModel(c.dir, c.basis ? { basis: c.basis } : {}).model;
    sites = c.sites(model.cfg);
    run64 = await runAttribution(model, sites, c.ids, {
      dtype: 'float64',
      max_feature_nodes: null,
      zero_first_positions: c.zeroFirst,
    });
  });
  afterAll(() => model.dispose());

  it(`${c.name}: the frozen replacement model with its real leaves reproduces the real model`, () => {
    const { state } = run64;
    const values = frozenForward(state, realLeaves(state));
    const cap = model.cfg.finalSoftcap;
    const logits = cap === null ? values.logits : values.logits.map((v) => Math.tanh(v / cap) * cap);
    expectClose(logits, state.lastLogits, { rtol: 1e-4, label: `${c.name}: last logits` });
    state.sites.forEach((s, i) => expectClose(values.pre[i]!, s.pre!, { rtol: 1e-4, label: `${c.name}: pre ${i}` }));
  });

  it(`${c.name}: float64 completeness, perturbation and structural zeros`, () => {
    expect(run64.layout.features.length).toBeGreaterThan(0);
    expectComplete(run64, 1e-9, c.name);
    for (const j of strongSources(run64)) expectPerturbation(run64, j, 0.5, 1e-9, c.name);
    expectStructure(run64, c.name);
  });

  it(`${c.name}: float32 completeness and perturbation to 1e-4`, async () => {
    const run32 = await runAttribution(model, sites, c.ids, {
      max_feature_nodes: null,
      zero_first_positions: c.zeroFirst,
      batch_size: 7,
    });
    expect(run32.graph.adjacency).toBeInstanceOf(Float32Array);
    expectComplete(run32, 1e-4, `${c.name} float32`);
    for (const j of strongSources(run32)) expectPerturbation(run32, j, 1, 1e-4, `${c.name} float32`);
    expectClose(run32.graph.adjacency, run64.graph.adjacency, { rtol: 1e-5, label: `${c.name}: float32 vs float64` });
  });
}

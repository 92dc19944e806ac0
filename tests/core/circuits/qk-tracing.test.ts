// QK tracing for Lorsa heads (spec §7, §8 item 8) on pdlm-4l-256 with per-layer transcoders and two small random
// Lorsas (layer 1: adjacent-pair rotary; layer 2: post-QK RMSNorm, half-split partial rotary, rotary_scale 2),
// float64. The frozen q̃ and k̃ here come from an independent route — the engine's frozen forward pass reading the
// Lorsa's input, then lorsa-math's projectQk with the QK norm's σ frozen — not from the reverse pass under test.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAttribution, type AttributionRun } from '../../../src/core/circuits/attribute';
import { realLeaves } from '../../../src/core/circuits/frozen-forward';
import { constantLeaves } from '../../../src/core/circuits/sources';
import type { NamedDictionary } from '../../../src/core/circuits/replacement';
import { qkComponents, traceLorsaQk, type LorsaQkTracing } from '../../../src/core/circuits/qk-tracing';
import type { BiasKind } from '../../../src/protocol/circuits/node-ids';
import { parseConfig } from '../../../src/core/config/validate';
import { uniformGenerator } from '../../../src/core/dictionary/host64';
import { kindOf } from '../../../src/core/dictionary/registry';
import type { KindConfigBase } from '../../../src/core/dictionary/kind';
import { InputError } from '../../../src/core/errors';
import { loadModel } from '../../../src/core/lm/load-model';
import type { HookedTransformer } from '../../../src/core/lm/hooked-transformer';
import type { ModelConfig } from '../../../src/core/lm/model-config';
import { graphToJson } from '../../../src/protocol/circuits/graph-json';
import { nodeInfluence, pruneGraph } from '../../../src/protocol/circuits/influence';
import { bilinearRow, qkMarginals, type QkComponents } from '../../../src/protocol/circuits/qk';
import { hookName } from '../../../src/protocol/hook-names';
import { describeEachBackend } from '../../helpers/backends';
import { archFixture, PDLM_DIR } from '../../helpers/fixtures';
import { diff, dot, frozenInput, frozenQk, norm, rel, scaled, sum, withoutBias } from './qk-frozen';
import { lorsas, transcoders } from './replacement-fixtures';

const IDS = [0, 412, 87, 2051, 99, 7];
const TOL = 1e-9;

function lorsa(layer: number, extra: Record<string, unknown>, seed: number): NamedDictionary {
  const kind = kindOf('lorsa');
  const [i, o] = [hookName(layer, 'ln1.hook_normalized'), hookName(layer, 'hook_attn_out')];
  const raw = {
    sae_type: 'lorsa',
    hook_point_in: i,
    hook_point_out: o,
    d_model: 256,
    d_sae: 32,
    act_fn: 'topk',
    top_k: 3,
    n_qk_heads: 2,
    d_qk_head: 4,
    n_ctx: 16,
    rotary_dim: 4,
    activation_basis: 'unprocessed',
    norm_activation: 'dataset-wise',
    dataset_average_activation_norm: { [i]: 6, [o]: 4 },
    ...extra,
  };
  const cfg = parseConfig(kind.schema, raw, `lorsa-${layer}.json`) as KindConfigBase;
  const params = kind.init(cfg, seed);
  const u = uniformGenerator(seed + 3);
  for (const n of ['b_Q', 'b_K', 'b_V', 'b_D']) params[n]!.data = params[n]!.data.map(() => u(0.3));
  for (const n of ['ln_q.w', 'ln_k.w']) if (params[n]) params[n].data = params[n].data.map(() => 1 + u(0.5));
  return { name: `lorsa-${layer}`, kind, cfg, params };
}

interface Ctx {
  model: HookedTransformer;
  sites: NamedDictionary[];
  run: AttributionRun;
  traced: LorsaQkTracing;
  components: QkComponents[];
  /** The frozen inputs of each Lorsa site, real and constants-only, by `${which}/${site}`. */
  inputs: Map<string, Float64Array>;
}
let ctx: Ctx;

/** The slot in the frozen model: q̃, k̃ (real leaves), their constants-only parts, and the components with those. */
function frozenSlot(i: number) {
  const { run, traced, components, inputs } = ctx;
  const s = traced.slots[i]!;
  const input = (which: 'real' | 'zero') => {
    const key = `${which}/${s.site}`;
    if (!inputs.has(key)) {
      const real = realLeaves(run.state);
      const leaves = which === 'real' ? real : constantLeaves(run.state, run.layout, real);
      inputs.set(key, frozenInput(run, leaves, s.site));
    }
    return inputs.get(key)!;
  };
  const [q, k, qConst, kConst] = [
    frozenQk(run, input('real'), s, 'Q'),
    frozenQk(run, input('real'), s, 'K'),
    frozenQk(run, input('zero'), s, 'Q'),
    frozenQk(run, input('zero'), s, 'K'),
  ];
  // The constants-only pass keeps the biases; the bias leaves' components come out of its constant.
  const c = components[i]!;
  const leafSum = (v: ArrayLike<number>) => {
    const out = new Float64Array(c.dQk);
    for (let col = run.layout.nCols; col < v.length / c.dQk; col++)
      for (let j = 0; j < c.dQk; j++) out[j]! += v[col * c.dQk + j]!;
    return out;
  };
  const qC = diff(qConst, leafSum(c.q));
  const kC = diff(kConst, leafSum(c.k));
  const exact: QkComponents = { ...c, qConstant: qC, kConstant: kC };
  return { s, q, k, qConst: qC, kConst: kC, exact, m: qkMarginals(exact) };
}

function checkSlots(): void {
  const { run, traced } = ctx;
  const lorsaNodes = run.graph.nodes.flatMap((n, i) => (n.kind === 'feature' && n.sublayer === 'attn' ? [i] : []));
  expect(lorsaNodes.length).toBeGreaterThan(4);
  expect([...traced.byNode.keys()].sort((a, b) => a - b)).toEqual(lorsaNodes);
  const seen = new Set<string>();
  for (const s of traced.slots) {
    const id = `${s.site}/${s.head}/${s.query}`;
    expect(seen.has(id), `slot ${id} twice`).toBe(false);
    seen.add(id);
    const fs = run.state.sites[s.site]!;
    for (const n of s.nodes) {
      const node = run.graph.nodes[n]!;
      const head =
        node.kind === 'feature' && node.pos === s.query ? Math.floor(node.feature / fs.weights.lorsaGroup) : -1;
      expect(head, `node ${n}: its head at the slot's query`).toBe(s.head);
      expect(traced.byNode.get(n)).toBe(traced.byNode.get(s.nodes[0]!));
    }
    // The argmax key of the frozen pattern row.
    const S = run.state.S;
    const row = fs.lorsaPattern!.subarray((s.head * S + s.query) * S, (s.head * S + s.query) * S + s.query + 1);
    expect(row.indexOf(Math.max(...row))).toBe(s.key);
  }
  expect(
    traced.slots.some((s) => s.nodes.length > 1),
    'some slot serves two OV heads',
  ).toBe(true);
  expect(traced.slots.length).toBeLessThan(lorsaNodes.length);
  expect(new Set(traced.slots.map((s) => s.dictionary))).toEqual(new Set(['lorsa-1', 'lorsa-2']));
}

function checkRebuild(): void {
  ctx.traced.slots.forEach((_, i) => {
    const { s, q, k, m, qConst, kConst } = frozenSlot(i);
    const c = ctx.components[i]!;
    const score = dot(q, k);
    expect(norm(diff(m.q, q)) / norm(q), `slot ${i}: Σ q_s + q_const = q̃`).toBeLessThan(TOL);
    expect(norm(diff(m.k, k)) / norm(k), `slot ${i}: Σ k_s + k_const = k̃`).toBeLessThan(TOL);
    expect(rel(m.score, score, norm(q) * norm(k)), `slot ${i}: score`).toBeLessThan(TOL);
    // The real pass runs in float32: its score and the constants it leaves agree to its rounding.
    expect(rel(s.result.score, score, norm(q) * norm(k)), `slot ${i}: real score`).toBeLessThan(1e-5);
    expect(norm(diff(c.qConstant!, qConst)) / norm(q), `slot ${i}: q_const`).toBeLessThan(1e-5);
    expect(norm(diff(c.kConstant!, kConst)) / norm(k), `slot ${i}: k_const`).toBeLessThan(1e-5);
  });
}

function checkClosedForms(): void {
  ctx.traced.slots.forEach((_, i) => {
    const { q, k, qConst, kConst, exact, m } = frozenSlot(i);
    const score = dot(q, k);
    const scale = Math.abs(score) + norm(q) * norm(k);
    expect(rel(sum(m.aQ) + dot(qConst, k), score, scale), `slot ${i}: Q side`).toBeLessThan(TOL);
    expect(rel(sum(m.aK) + dot(kConst, q), score, scale), `slot ${i}: K side`).toBeLessThan(TOL);
    const dr = exact.dQk;
    let T = 0;
    for (let a = 0; a < m.aQ.length; a++) T += sum(bilinearRow(exact, a));
    const total = T + dot(qConst, diff(m.k, kConst)) + dot(diff(m.q, qConst), kConst) + dot(qConst, kConst);
    expect(rel(total, score, scale), `slot ${i}: Σ T + cross terms`).toBeLessThan(TOL);
    const strongest = [...m.aQ.keys()].sort((x, y) => Math.abs(m.aQ[y]!) - Math.abs(m.aQ[x]!)).slice(0, 3);
    for (const a of strongest) {
      const got = sum(bilinearRow(exact, a)) + dot(exact.q.subarray(a * dr, (a + 1) * dr), kConst);
      expect(rel(got, m.aQ[a]!, scale), `slot ${i}: row sum ${a}`).toBeLessThan(TOL);
    }
  });
}

function checkPerturbation(): void {
  const { run } = ctx;
  const alpha = 0.5;
  ctx.traced.slots.slice(0, 4).forEach((_, i) => {
    const { s, exact, m } = frozenSlot(i);
    const dr = exact.dQk;
    // The strongest node source (bias leaves are checked by checkBiasLeaves).
    const top = (v: Float64Array) =>
      [...v.subarray(0, run.layout.nCols).keys()].sort((x, y) => Math.abs(v[y]!) - Math.abs(v[x]!))[0]!;
    for (const col of new Set([top(m.aQ), top(m.aK), run.layout.embedCol + s.query])) {
      const input = frozenInput(run, scaled(run, col, alpha), s.site);
      const moved = dot(frozenQk(run, input, s, 'Q'), frozenQk(run, input, s, 'K'));
      const qs = exact.q.subarray(col * dr, (col + 1) * dr);
      const ks = exact.k.subarray(col * dr, (col + 1) * dr);
      const want = alpha * (m.aQ[col]! + m.aK[col]!) + alpha * alpha * dot(qs, ks);
      expect(Math.abs(m.aQ[col]!) + Math.abs(m.aK[col]!), `slot ${i}, source ${col}: nonzero`).toBeGreaterThan(0);
      expect(rel(moved - m.score, want, Math.abs(m.score) + Math.abs(want)), `slot ${i}, source ${col}`).toBeLessThan(
        TOL,
      );
    }
  });
}

/** Removing one kind of bias from the frozen model moves q̃ and k̃ by minus the sum of its leaves' components. */
function checkBiasLeaves(): void {
  const { run, traced, components } = ctx;
  const kinds: BiasKind[] = ['tc_bD', 'lorsa_bD', 'attn_bO', 'lorsa_bQ', 'lorsa_bK'];
  const firstOfSite = [...new Set(traced.slots.map((s) => s.site))].map((site) =>
    traced.slots.findIndex((s) => s.site === site),
  );
  const real = realLeaves(run.state);
  for (const kind of kinds) {
    const cols = traced.sources.flatMap((n, c) => (n.kind === 'bias' && n.bias === kind ? [c] : []));
    expect(cols.length, `${kind}: leaves`).toBeGreaterThan(0);
    for (const i of firstOfSite) {
      const s = traced.slots[i]!;
      const c = components[i]!;
      const own = kind === 'lorsa_bQ' || kind === 'lorsa_bK';
      const input = frozenInput(run, real, s.site, own ? run.state : withoutBias(run.state, kind));
      const base = frozenInput(run, real, s.site);
      for (const side of ['Q', 'K'] as const) {
        const v = side === 'Q' ? c.q : c.k;
        const dropped = own && kind === `lorsa_b${side}`;
        const moved = diff(frozenQk(run, input, s, side, dropped), frozenQk(run, base, s, side));
        const want = new Float64Array(c.dQk);
        for (const col of cols) for (let j = 0; j < c.dQk; j++) want[j]! -= v[col * c.dQk + j]!;
        const scale = norm(frozenQk(run, base, s, side));
        expect(norm(diff(moved, want)) / scale, `slot ${i}, ${kind}, ${side}`).toBeLessThan(TOL);
        // Nonzero unless the leaf cannot reach that side (the other side's own bias; a Lorsa's b_D at its own layer).
        const reaches = own ? dropped : kind !== 'lorsa_bD' || s.dictionary === 'lorsa-2';
        if (reaches) expect(norm(want), `slot ${i}, ${kind}, ${side}: nonzero`).toBeGreaterThan(0);
        else expect(norm(want), `slot ${i}, ${kind}, ${side}: zero`).toBe(0);
      }
    }
  }
}

/**
 * Signed top-k = the k largest values (zeros outrank negatives there, then are dropped: lm-saes's ranking hides
 * strongly negative contributors); |value| top-k = the k largest magnitudes, negatives included.
 */
function checkRankings(): void {
  const { run, components } = ctx;
  const topk = 4;
  const abs = traceLorsaQk(run, { qk_top_fraction: 1, qk_tracing_topk: topk, ranking: 'abs' });
  const signed = traceLorsaQk(run, { qk_top_fraction: 1, qk_tracing_topk: topk, ranking: 'signed' });
  let negativesShown = 0;
  abs.slots.forEach((slot, i) => {
    const m = qkMarginals(components[i]!);
    const want = (v: Float64Array, key: (x: number) => number) =>
      [...v.keys()]
        .sort((a, b) => key(v[b]!) - key(v[a]!) || a - b)
        .slice(0, topk)
        .filter((j) => v[j] !== 0);
    expect(slot.result.qMarginal.map((x) => x.source)).toEqual(want(m.aQ, Math.abs));
    expect(slot.result.kMarginal.map((x) => x.source)).toEqual(want(m.aK, Math.abs));
    expect(signed.slots[i]!.result.qMarginal.map((x) => x.source)).toEqual(want(m.aQ, (x) => x));
    expect(signed.slots[i]!.result.kMarginal.map((x) => x.source)).toEqual(want(m.aK, (x) => x));
    for (const p of [...slot.result.pairs, ...signed.slots[i]!.result.pairs]) {
      const T = bilinearRow(components[i]!, p.q)[p.k]!;
      expect(rel(p.value, T, T), `slot ${i}: pair (${p.q}, ${p.k}) = q_i·k_j`).toBeLessThan(1e-12);
    }
    const mags = slot.result.pairs.map((p) => Math.abs(p.value));
    expect(mags).toEqual([...mags].sort((a, b) => b - a));
    const values = signed.slots[i]!.result.pairs.map((p) => p.value);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    if (slot.result.qMarginal.some((x) => x.value < 0) || slot.result.pairs.some((p) => p.value < 0)) negativesShown++;
  });
  expect(negativesShown, 'the |value| ranking shows negative contributors').toBeGreaterThan(0);
}

/** The top ⌊fraction·n⌋ Lorsa nodes by influence, and the graph JSON's qk_tracing_results on them. */
function checkSelectionAndJson(): void {
  const { run } = ctx;
  const lorsaNodes = run.graph.nodes.flatMap((n, i) => (n.kind === 'feature' && n.sublayer === 'attn' ? [i] : []));
  const influence = nodeInfluence(run.graph);
  const half = traceLorsaQk(run, { qk_top_fraction: 0.5, qk_tracing_topk: 3 });
  const byInfluence = [...lorsaNodes].sort((a, b) => influence[b]! - influence[a]! || a - b);
  const keep = Math.max(1, Math.floor(0.5 * lorsaNodes.length));
  expect([...half.byNode.keys()].sort((a, b) => a - b)).toEqual(byInfluence.slice(0, keep).sort((a, b) => a - b));
  expect([...traceLorsaQk(run, { qk_top_fraction: 1e-6 }).byNode.keys()]).toEqual([byInfluence[0]]);
  const pruned = pruneGraph(run.graph, { nodeThreshold: 1, edgeThreshold: 1 });
  const json = graphToJson(run.graph, pruned, { slug: 'qk', scan: 'test', qkTracing: half.byNode });
  const ids = new Set([...json.nodes.map((n) => n.node_id), ...Object.keys(json.qk_only_nodes ?? {})]);
  const tracedJson = json.nodes.filter((n) => n.qk_tracing_results);
  expect(tracedJson.length).toBeGreaterThan(0);
  for (const n of tracedJson) {
    const r = n.qk_tracing_results!;
    expect(n.feature_type).toBe('lorsa');
    expect(r.top_q_marginal_contributors.length).toBeGreaterThan(0);
    const named = [
      ...r.pair_wise_contributors.flatMap(([q, k]) => [q, k]),
      ...r.top_q_marginal_contributors.map(([x]) => x),
      ...r.top_k_marginal_contributors.map(([x]) => x),
    ];
    for (const id of named) expect(ids.has(id), `${n.node_id}: contributor ${id} resolves`).toBe(true);
  }
}

function checkBadInput(): void {
  const { run } = ctx;
  for (const [opts, field] of [
    [{ qk_top_fraction: 0 }, 'qk_top_fraction'],
    [{ qk_top_fraction: 1.5 }, 'qk_top_fraction'],
    [{ qk_tracing_topk: 0 }, 'qk_tracing_topk'],
    [{ qk_tracing_topk: 2.5 }, 'qk_tracing_topk'],
    [{ ranking: 'magnitude' as 'abs' }, 'ranking'],
  ] as const) {
    expect(() => traceLorsaQk(run, opts)).toThrow(InputError);
    expect(() => traceLorsaQk(run, opts)).toThrow(new RegExp(`field '${field}'`));
  }
}

/** The float32 engine's components agree with the float64 ones. */
async function checkFloat32(): Promise<void> {
  const { model, sites, traced, components } = ctx;
  const run32 = await runAttribution(model, sites, IDS, { max_feature_nodes: null, zero_first_positions: 1 });
  const c32 = qkComponents(run32, traced.slots);
  c32.forEach((c, i) => {
    expect(c.dQk).toBe(components[i]!.dQk);
    const q64 = components[i]!.q;
    expect(norm(diff(c.q, q64)) / norm(q64), `slot ${i}: q components f32 vs f64`).toBeLessThan(1e-4);
    expect(norm(diff(c.k, components[i]!.k)) / norm(components[i]!.k), `slot ${i}: k`).toBeLessThan(1e-4);
  });
  const m32 = traceLorsaQk(run32, { qk_top_fraction: 1, qk_tracing_topk: 4 });
  expect(m32.slots.map((s) => [s.site, s.head, s.query, s.key])).toEqual(
    traced.slots.map((s) => [s.site, s.head, s.query, s.key]),
  );
}

// The numerics are host arrays; one backend runs the real pass (as the engine's own tests).
describeEachBackend(
  'QK tracing for Lorsa heads (pdlm-4l-256, float64)',
  () => {
    beforeAll(async () => {
      const model = loadModel(PDLM_DIR).model;
      const lorsa2 = { use_post_qk_ln: true, normalization_type: 'RMS', rotary_adjacent_pairs: false, rotary_scale: 2 };
      const sites = [...transcoders(model.cfg, { datasetNorm: 9 }), lorsa(1, {}, 31), lorsa(2, lorsa2, 41)];
      const run = await runAttribution(model, sites, IDS, {
        dtype: 'float64',
        max_feature_nodes: null,
        zero_first_positions: 1,
        batch_size: 16,
      });
      const traced = traceLorsaQk(run, { qk_top_fraction: 1, qk_tracing_topk: 4 });
      ctx = { model, sites, run, traced, components: qkComponents(run, traced.slots), inputs: new Map() };
    });
    afterAll(() => ctx.model.dispose());

    it('traces every Lorsa feature node once, at its head’s argmax key, slots de-duplicated', checkSlots);
    it(
      'components + the constants-only pass rebuild the frozen q̃, k̃; the real pass agrees to float32 rounding',
      checkRebuild,
    );
    it('Σ a_Q + q_const·k̃ = score = Σ a_K + k_const·q̃; Σ T + cross terms = score; row sums of T', checkClosedForms);
    it(
      'scaling a source by (1 + α) in the frozen model moves the score by α(a_Q + a_K) + α²·q_s·k_s',
      checkPerturbation,
    );
    it('top-k signed vs |value|: marginals and pairs as ranked, pairs equal q_i·k_j', checkRankings);
    it('qk_top_fraction keeps the most influential Lorsa nodes; graph JSON carries the results', checkSelectionAndJson);
    it('bias leaves: removing a kind of bias moves q̃, k̃ by its leaves’ components', checkBiasLeaves);
    it('bad options are one-line input errors naming the field', checkBadInput);
    it('float32 components agree with float64 to 1e-4', checkFloat32);
  },
  ['cpu'],
);

/** Other architectures: the engine's frozen map with GQA and RMSNorm, post-norms, and parallel attention. */
const ARCH_CASES: { name: string; dir: string; ids: number[]; sites: (m: ModelConfig) => NamedDictionary[] }[] = [
  {
    name: 'llama (GQA, RMSNorm)',
    dir: archFixture('llama'),
    ids: [1, 50, 300, 77, 200, 9],
    sites: (m) => [...transcoders(m, { datasetNorm: 3 }), ...lorsas(m, { datasetNorm: 2 })],
  },
  {
    name: 'gemma2 (post-norms), Lorsas before ln1_post',
    dir: archFixture('gemma2'),
    ids: [2, 60, 301, 45, 120, 8],
    sites: (m) => [
      ...transcoders(m, { datasetNorm: 4 }, 'ln2.hook_normalized', 'ln2_post.hook_in'),
      ...lorsas(m, {}, 'ln1_post.hook_in'),
    ],
  },
  {
    name: 'gpt_neox (parallel attention and MLP)',
    dir: archFixture('gpt_neox'),
    ids: [5, 70, 310, 44, 9],
    sites: (m) => [...transcoders(m, {}, 'hook_resid_pre'), ...lorsas(m)],
  },
];

for (const c of ARCH_CASES)
  describeEachBackend(
    `QK tracing for Lorsa heads (${c.name}, float64)`,
    () => {
      beforeAll(async () => {
        const model = loadModel(c.dir).model;
        const sites = c.sites(model.cfg);
        const settings = { dtype: 'float64', max_feature_nodes: null, zero_first_positions: 1 } as const;
        const run = await runAttribution(model, sites, c.ids, settings);
        const traced = traceLorsaQk(run, { qk_top_fraction: 1 });
        ctx = { model, sites, run, traced, components: qkComponents(run, traced.slots), inputs: new Map() };
      });
      afterAll(() => ctx.model.dispose());
      it('components + the constants-only pass rebuild the frozen q̃, k̃', () => {
        expect(ctx.traced.slots.length).toBeGreaterThan(0);
        checkRebuild();
      });
      it('closed forms and frozen-model perturbation', () => {
        checkClosedForms();
        checkPerturbation();
      });
    },
    ['cpu'],
  );

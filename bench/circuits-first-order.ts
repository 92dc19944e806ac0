// The first-order check of attribution edges in the real (unfrozen) model (issue 19): for the strongest edges from
// features into the top logit, the demeaned top-logit change when the source feature's decoder contribution is
// removed from the real model's activations, against the edge weight (in the frozen replacement model that
// ablation changes the logit by exactly −A[t, s]). Prints one JSON report: per prompt the correlation, the median
// ratio and the sign agreement over the edges, and every edge.
//   node --import tsx bench/circuits-first-order.ts [--home DIR] [--set replacement] [--edges 20]
import * as tf from '@tensorflow/tfjs-core';
import { runAttribution } from '../src/core/circuits/attribute';
import type { NamedDictionary } from '../src/core/circuits/replacement';
import { datasetHookScale } from '../src/core/dictionary/apply';
import { loadAnyDictionary } from '../src/core/dictionary/registry';
import { studioHome } from '../src/core/home';
import type { HookFn } from '../src/core/lm/hooked-transformer';
import { loadModel } from '../src/core/lm/load-model';
import { ModelTokenizer } from '../src/core/lm/tokenizer';
import { getDictionary, openStore, requireDictionarySet } from '../src/core/store';
import { initBackend } from '../src/core/tensor/backend';
import type { GraphNode } from '../src/protocol/circuits/graph';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const home = studioHome(arg('home', process.env.SAE_STUDIO_HOME ?? ''));
const setName = arg('set', 'replacement');
const nEdges = Number(arg('edges', '20'));
const PROMPTS = [
  'The cat sat on the mat because it was',
  'Once upon a time there was a little girl who',
  'She opened the door and saw that the',
  'In the morning the children went to the',
];

/** Raw-space output vectors one feature node writes: hook → [d] (a CLT feature writes every later layer). */
function decoderWrites(m: NamedDictionary, node: Extract<GraphNode, { kind: 'feature' }>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const { d_model: d } = m.cfg;
  const kind = m.kind.saeType;
  const hooksOut = m.kind.hooksOut(m.cfg);
  const row = (name: string, offset: number, hook: string) => {
    const data = m.params[name]!.data.subarray(offset, offset + d);
    const c = datasetHookScale(m.cfg, hook);
    out.set(
      hook,
      Float32Array.from(data, (v) => (v * node.activation) / c),
    );
  };
  if (kind === 'clt') {
    const s = m.kind.hooksIn(m.cfg).findIndex((h) => h.startsWith(`blocks.${node.layer}.`));
    for (let t = s; t < hooksOut.length; t++) row(`W_D.${t}`, (s * m.cfg.d_sae + node.feature) * d, hooksOut[t]!);
  } else if (kind === 'lorsa') row('W_O', node.feature * d, hooksOut[0]!);
  else row('W_D', node.feature * d, hooksOut[0]!);
  return out;
}

async function main(): Promise<void> {
  await initBackend('cpu');
  const store = openStore({ dir: home.root, readonly: true });
  const set = requireDictionarySet(store, setName);
  const members: NamedDictionary[] = set.members.map(({ dictionary }) => {
    const d = loadAnyDictionary(getDictionary(store, dictionary).path);
    return { name: dictionary, kind: d.kind, cfg: d.cfg, params: d.params };
  });
  store.close();
  const { model, location } = loadModel(set.modelName ?? 'pdlm-4l-256', { basis: members[0]!.cfg.activation_basis });
  const tokenizer = ModelTokenizer.load(location.dir);
  const byName = new Map(members.map((m) => [m.name, m]));
  const reports = [];
  for (const prompt of PROMPTS) {
    const ids = [model.cfg.bosTokenId ?? 0, ...tokenizer.encode(prompt)];
    const run = await runAttribution(model, members, ids, { max_feature_nodes: null, dtype: 'float32' });
    const g = run.graph;
    const n = g.nodes.length;
    let t = -1;
    g.nodes.forEach((x, i) => {
      if (x.kind === 'logit' && (t < 0 || x.probability > (g.nodes[t] as { probability: number }).probability)) t = i;
    });
    const target = g.nodes[t] as Extract<GraphNode, { kind: 'logit' }>;
    const edges = g.nodes
      .map((_, s) => ({ s, w: g.adjacency[t * n + s]! }))
      .filter(({ s }) => g.nodes[s]!.kind === 'feature')
      .sort((a, b) => Math.abs(b.w) - Math.abs(a.w))
      .slice(0, nEdges);
    const S = ids.length;
    const demeaned = async (hooks: Record<string, HookFn>) => {
      const { logits } = model.forward([ids], { hooks });
      const last = tf.tidy(() => tf.slice(logits!, [0, S - 1, 0], [1, 1, model.cfg.dVocab]).reshape([-1]));
      const v = (await last.data()) as Float32Array;
      tf.dispose([logits!, last]);
      return v[target.tokenId]! - v.reduce((a, b) => a + b, 0) / v.length;
    };
    const base = await demeaned({});
    const rows = [];
    for (const { s, w } of edges) {
      const node = g.nodes[s] as Extract<GraphNode, { kind: 'feature' }>;
      const writes = decoderWrites(byName.get(node.dictionary)!, node);
      const hooks: Record<string, HookFn> = {};
      for (const [hook, vec] of writes)
        hooks[hook] = (x) =>
          tf.tidy(() => {
            const d = vec.length;
            const delta = new Float32Array(S * d);
            delta.set(vec, node.pos * d);
            return tf.sub(x, tf.tensor3d(delta, [1, S, d]));
          });
      const change = (await demeaned(hooks)) - base;
      rows.push({
        dictionary: node.dictionary,
        layer: node.layer,
        pos: node.pos,
        feature: node.feature,
        edge: w,
        ablation_change: change,
      });
    }
    const x = rows.map((r) => -r.edge);
    const y = rows.map((r) => r.ablation_change);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const [mx, my] = [mean(x), mean(y)];
    const cov = x.reduce((a, xi, i) => a + (xi - mx) * (y[i]! - my), 0);
    const corr =
      cov / Math.sqrt(x.reduce((a, xi) => a + (xi - mx) ** 2, 0) * y.reduce((a, yi) => a + (yi - my) ** 2, 0));
    const ratios = rows.map((r) => r.ablation_change / -r.edge).sort((a, b) => a - b);
    reports.push({
      prompt,
      top_logit: tokenizer.decode([target.tokenId]),
      probability: target.probability,
      edges: rows.length,
      correlation: corr,
      median_ratio: ratios[Math.floor(ratios.length / 2)],
      sign_agreement: rows.filter((r) => Math.sign(r.ablation_change) === Math.sign(-r.edge)).length / rows.length,
      rows,
    });
  }
  process.stdout.write(
    `${JSON.stringify({ set: setName, prompts: reports.length, mean_correlation: reports.reduce((a, r) => a + r.correlation, 0) / reports.length, reports: reports.map(({ rows: _rows, ...r }) => r), edges: reports.flatMap((r) => r.rows.map((row) => ({ prompt: r.prompt, ...row }))) })}\n`,
  );
  model.dispose();
}

await main();

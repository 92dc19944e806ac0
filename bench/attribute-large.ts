// Attribution at scale (issue 19): a 1,024-token prompt on a randomly initialised GPT-2-small-shaped model
// (d 768, 12 layers, 12 heads, context 1024) with per-layer transcoders of its size on every MLP, in one process:
// time, peak resident memory and the graph's size. Random weights: the figure is about memory and time, not
// circuits. Prints one JSON report.
//   node --import tsx bench/attribute-large.ts [--tokens 1024] [--d-sae 6144] [--k 16] [--max-feature-nodes 512]
import { runAttribution } from '../src/core/circuits/attribute';
import type { NamedDictionary } from '../src/core/circuits/replacement';
import { parseConfig } from '../src/core/config/validate';
import { uniformGenerator } from '../src/core/dictionary/host64';
import { kindOf } from '../src/core/dictionary/registry';
import { gpt2 } from '../src/core/lm/architectures/gpt2';
import { HfConfig } from '../src/core/lm/hf-config';
import { HookedTransformer } from '../src/core/lm/hooked-transformer';
import { randomParams } from '../src/core/lm/random-params';
import { initBackend } from '../src/core/tensor/backend';
import { GPT2_SMALL } from './lm-cases';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const tokens = arg('tokens', 1024);
const dSae = arg('d-sae', 6144);
const k = arg('k', 16);
const maxNodes = arg('max-feature-nodes', 512);

await initBackend('wasm');
const cfg = gpt2.parseConfig(new HfConfig(GPT2_SMALL, 'gpt2-small (random)'));
const model = HookedTransformer.fromHostParams(cfg, randomParams(cfg, 0));
const kind = kindOf('sae');
const dictionaries: NamedDictionary[] = Array.from({ length: cfg.nLayers }, (_, l) => {
  const dcfg = parseConfig(
    kind.schema,
    {
      sae_type: 'sae',
      hook_point_in: `blocks.${l}.ln2.hook_normalized`,
      hook_point_out: `blocks.${l}.hook_mlp_out`,
      d_model: cfg.dModel,
      d_sae: dSae,
      act_fn: 'topk',
      top_k: k,
      norm_activation: 'inference',
    },
    `transcoder ${l}`,
  );
  const params = kind.init(dcfg, l);
  const u = uniformGenerator(100 + l);
  params.b_D!.data = params.b_D!.data.map(() => u(0.01));
  return { name: `tc-${l}`, kind, cfg: dcfg, params };
});
const u = uniformGenerator(7);
const ids = Array.from({ length: tokens }, () => Math.floor(Math.abs(u(1)) * cfg.dVocab));
const t0 = performance.now();
let phases: Record<string, number> = {};
const run = await runAttribution(
  model,
  dictionaries,
  ids,
  { max_feature_nodes: maxNodes },
  {
    onProgress: (p) => (phases = { ...phases, [p.phase]: (performance.now() - t0) / 1000 }),
  },
);
const seconds = (performance.now() - t0) / 1000;
process.stdout.write(
  `${JSON.stringify({
    model: 'gpt2-small shape (random): d 768, 12 layers, 12 heads',
    prompt_tokens: tokens,
    transcoders: `12 × ${dSae} latents, TopK k ${k}`,
    max_feature_nodes: maxNodes,
    active_features: run.layout.features.length,
    graph_nodes: run.graph.nodes.length,
    seconds: Number(seconds.toFixed(1)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    phase_end_seconds: phases,
  })}\n`,
);
model.dispose();

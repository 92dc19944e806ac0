// The fused TopK training step against the general one (the sparse op, tfjs's backpropagation, then Adam), paired:
// two identical SAEs take alternate steps on the same batch in one process, so the host's slow minutes hit both
// alike (separate runs here differ by ±15–30%). d 256 / 4096 latents / k 32 / batch 4096 by default.
// Usage: npm run bench:fused [-- --steps N --d 256 --latents 4096]. Last line: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { SaeConfigSchema } from '../src/protocol/dictionary-config';
import { normalGenerator } from '../src/core/lm/random-params';
import { InitConfigSchema } from '../src/protocol/run-config';
import { initializeSae } from '../src/core/sae/init/initialize';
import { Adam } from '../src/core/sae/optim/adam';
import { fusedTopKStepUnavailable } from '../src/core/sae/sparse/fused-step';
import { disposeStats, trainStep, type StepSettings } from '../src/core/sae/train-step';
import { Sae } from '../src/core/sae/variants/sae';
import { initBackend } from '../src/core/tensor/backend';
import { TOPK_LOSS } from './sae-train';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '100' },
    d: { type: 'string', default: '256' },
    latents: { type: 'string', default: '4096' },
  },
});
const N = Number(values.steps),
  d = Number(values.d),
  F = Number(values.latents),
  B = 4096,
  k = 32;
await initBackend('wasm');
const cfg = SaeConfigSchema.parse({
  hook_point_in: 'bench',
  d_model: d,
  d_sae: F,
  act_fn: 'topk',
  top_k: k,
  sparsity_include_decoder_norm: false,
});
const make = async () => {
  const sae = new Sae(
    cfg,
    await initializeSae(cfg, InitConfigSchema.parse({ bias_init_method: 'all_zero' }), {
      seed: 0,
      unitNormDecoder: true,
    }),
  );
  return { sae, adam: new Adam(sae.params) };
};
const fused = await make(),
  general = await make();
const normal = normalGenerator(1);
const x = tf.tensor2d(
  new Float32Array(B * d).map(() => normal()),
  [B, d],
);
const loss = TOPK_LOSS;
const settings = (on: boolean): StepSettings => ({
  sparse: true,
  fused: on,
  lr: 1e-4,
  lrFactors: {},
  clipGradNorm: 0,
  unitNormDecoder: true,
  loss,
  metrics: false,
});
const why = fusedTopKStepUnavailable(fused.sae, fused.adam, settings(true));
if (why) throw new Error(`the fused step does not run here: ${why}`);
const step = async (m: { sae: Sae; adam: Adam }, on: boolean) => {
  const t0 = performance.now();
  const s = trainStep(m.sae, m.adam, x, x, settings(on));
  await s.parts.total.data();
  disposeStats(s);
  return performance.now() - t0;
};
// Warm-up: shader compilation and first-use allocations stay out of the timed steps.
for (let i = 0; i < 3; i++) {
  await step(fused, true);
  await step(general, false);
}
const tf_: number[] = [];
const tg: number[] = [];
const diff: number[] = [];
for (let i = 0; i < N; i++) {
  const a = await step(fused, true);
  const b = await step(general, false);
  tf_.push(a);
  tg.push(b);
  diff.push(b - a);
}
const median = (v: number[]) => {
  const m = [...v].sort((p, q) => p - q)[v.length >> 1];
  if (m === undefined) throw new Error('median of no timings');
  return Number(m.toFixed(2));
};
const out = {
  benchmark: 'fused_step_vs_general',
  d_model: d,
  d_sae: F,
  k,
  batch: B,
  steps: N,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version },
  fused_ms_median: median(tf_),
  general_ms_median: median(tg),
  general_minus_fused_ms_median: median(diff),
};
process.stderr.write(
  `fused ${out.fused_ms_median} ms, general ${out.general_ms_median} ms, paired difference ${out.general_minus_fused_ms_median} ms\n`,
);
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

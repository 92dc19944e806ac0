// The TopK encoder and the fused training step on real activations against random ones of the same shape: the
// demo's blocks.2.hook_resid_post of pdlm-4l-256 over 64 windows of the embedded corpus (position 0 dropped, as
// training does; dataset-wise normalised), with the trained demo dictionary (its activation scale unfolded again)
// and with a freshly initialised one (the demo recipe's: b_D = the mean, W_E = W_Dᵀ); random: normal rows with the
// benchmark's all-zero-bias SAE. Per case: the screened encode's ms and, from the addon's counters, candidates per
// token, prunes and tokens that gave up screening; the sgemm encode's ms; the fused step's ms. Cases interleaved.
// With --baseline PATH (another build of the addon, e.g. /work/main/native/build/Release/sae_blas.node) its screened
// encode is timed call by call against this build's, and their outputs compared.
// Usage: node --import tsx bench/step-real.ts [--home /tmp/demo-home --dictionary demo --reps 7 --baseline PATH].
// Last line: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { forEachForward } from '../src/core/activations/model-rows';
import { tokenMask } from '../src/core/data';
import { studioHome } from '../src/core/home';
import { normalGenerator } from '../src/core/lm/random-params';
import { loadDictionary } from '../src/core/sae/dictionary-store';
import type { HostParams } from '../src/core/sae/host-tensor';
import { initializeSae } from '../src/core/sae/init/initialize';
import { Adam } from '../src/core/sae/optim/adam';
import { fusedTopKStepUnavailable } from '../src/core/sae/sparse/fused-step';
import { loadModelAndWindows } from '../src/core/sae/train-data';
import { disposeStats, trainStep, type StepSettings } from '../src/core/sae/train-step';
import { Sae } from '../src/core/sae/variants/sae';
import { initBackend } from '../src/core/tensor/backend';
import { loadNativeBlas } from '../src/core/tensor/native/native-blas';
import { SaeConfigSchema } from '../src/protocol/dictionary-config';
import { InitConfigSchema } from '../src/protocol/run-config';
import { TOPK_LOSS } from './sae-train';

const { values: opt } = parseArgs({
  options: {
    home: { type: 'string', default: '/tmp/demo-home' },
    dictionary: { type: 'string', default: 'demo' },
    reps: { type: 'string', default: '7' },
    windows: { type: 'string', default: '64' },
    baseline: { type: 'string' },
  },
});
const HOOK = 'blocks.2.hook_resid_post';
const B = 4096,
  k = 32,
  reps = Number(opt.reps);
await initBackend('wasm');

interface Native {
  topkEncode(...a: unknown[]): void;
  topkScreening(on?: boolean): boolean;
  topkScreenStats(): number[];
}
const K = loadNativeBlas().blas as unknown as Native | null;
if (!K || typeof K.topkScreenStats !== 'function')
  throw new Error('the native addon lacks topkScreenStats: npm run build:native');

// Real rows: the model over the first windows of the train split, position 0 dropped, then a seeded shuffle.
const home = studioHome(opt.home);
const data = await loadModelAndWindows('pdlm-4l-256', 'pdlm-corpus', { home, split: 'train', contextSize: null });
const d = data.model.cfg.dModel;
const rowsAll: number[][] = [];
await forEachForward(
  data.model,
  data.windows,
  [HOOK],
  { start: 0, end: Number(opt.windows), modelBatchSize: 16 },
  (part) => {
    const acts = part.acts[HOOK]!;
    const seq = data.windows.seq;
    const mask = tokenMask(
      { ids: data.windows.ids.subarray(part.first * seq, (part.first + part.windows) * seq), batch: part.windows, seq },
      {
        bosId: null,
      },
    );
    for (let i = 0; i < part.windows * seq; i++)
      if (mask[i]) rowsAll.push(Array.from(acts.subarray(i * d, (i + 1) * d)));
  },
);
if (rowsAll.length < B) throw new Error(`only ${rowsAll.length} real rows, expected at least ${B}`);
let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
for (let i = rowsAll.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [rowsAll[i], rowsAll[j]] = [rowsAll[j]!, rowsAll[i]!];
}
const raw = new Float32Array(B * d);
rowsAll.slice(0, B).forEach((r, i) => raw.set(r, i * d));
// Dataset-wise normalisation: scale s = sqrt(d) / mean ‖x‖ over all the rows taken.
const meanNorm = rowsAll.reduce((a, r) => a + Math.hypot(...r), 0) / rowsAll.length;
const s = Math.sqrt(d) / meanNorm;
const real = raw.map((v) => v * s);
const normal = normalGenerator(1);
const random = new Float32Array(B * d).map(() => normal());

const cfg = SaeConfigSchema.parse({
  hook_point_in: HOOK,
  d_model: d,
  d_sae: 4096,
  act_fn: 'topk',
  top_k: k,
  sparsity_include_decoder_norm: false,
});
const F = cfg.d_sae;
const unitInit = { seed: 42, unitNormDecoder: true };
// The trained dictionary takes raw activations (W_E' = s_demo·W_E, W_D' = W_D/s_demo, b_D' = b_D/s_demo): unfolded
// with this sample's s, it takes the normalised rows as in training.
const stored = loadDictionary(opt.dictionary, home);
const unfold = (p: HostParams): HostParams => {
  const f = (name: string, by: number) => ({ data: p[name]!.data.map((v) => v * by), shape: p[name]!.shape });
  return { W_E: f('W_E', 1 / s), W_D: f('W_D', s), b_E: f('b_E', 1), b_D: f('b_D', s) };
};
const cases: { name: string; x: Float32Array; params: HostParams }[] = [
  { name: 'real_trained', x: real, params: unfold(stored.params) },
  {
    name: 'real_fresh',
    x: real,
    params: await initializeSae(
      cfg,
      InitConfigSchema.parse({ bias_init_method: 'mean', init_encoder_with_decoder_transpose: true }),
      {
        ...unitInit,
        data: { x: real, y: real, rows: B },
      },
    ),
  },
  {
    name: 'random_fresh',
    x: random,
    params: await initializeSae(cfg, InitConfigSchema.parse({ bias_init_method: 'all_zero' }), unitInit),
  },
];

const values = new Float32Array(B * k),
  indices = new Int32Array(B * k),
  fired = new Float32Array(F),
  pre = new Float32Array(B * F),
  baseValues = new Float32Array(B * k),
  baseIndices = new Int32Array(B * k);
// --baseline: another build of the addon (e.g. main's) whose screened encode is timed against this one's, call by
// call, with the outputs compared.
const base = opt.baseline ? (createRequire(import.meta.url)(resolve(opt.baseline)) as Native) : null;
// Each encode's CPU time (all threads: less disturbed than wall time by other processes on a shared machine; with
// OMP_WAIT_POLICY=passive the idle threads do not spin).
const cpuMs: number[] = [];
const encode = (M: Native, c: (typeof cases)[number], screened: boolean, v = values, ix = indices) => {
  M.topkScreening(screened);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  M.topkEncode(
    c.x,
    c.params.b_D!.data,
    c.params.W_E!.data,
    c.params.b_E!.data,
    B,
    d,
    F,
    k,
    screened ? null : pre,
    v,
    ix,
    fired,
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  cpuMs.push((cpu.user + cpu.system) / 1000);
  M.topkScreening(true);
  return ms;
};
const loss = TOPK_LOSS;
const settings: StepSettings = {
  sparse: true,
  fused: true,
  lr: 1e-4,
  lrFactors: {},
  clipGradNorm: 0,
  unitNormDecoder: true,
  loss,
  metrics: false,
};
const steppers = cases.map((c) => {
  const sae = new Sae(cfg, c.params);
  const adam = new Adam(sae.params);
  const why = fusedTopKStepUnavailable(sae, adam, settings);
  if (why) throw new Error(`the fused step does not run here: ${why}`);
  const x = tf.tensor2d(c.x, [B, d]);
  return async () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const st = trainStep(sae, adam, x, x, settings);
    await st.parts.total.data();
    disposeStats(st);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    return ms;
  };
});

const median = (v: number[]) => (v.length ? Number([...v].sort((p, q) => p - q)[v.length >> 1]!.toFixed(2)) : null);
const res = cases.map(() => ({
  screen: [] as number[],
  screenCpu: [] as number[],
  baseCpu: [] as number[],
  stepCpu: [] as number[],
  base: [] as number[],
  sgemm: [] as number[],
  step: [] as number[],
  stats: [0, 0, 0, 0, 0, 0],
  same: true,
}));
// Case by case (the screen learns its list sizes from call to call, as it does over a training run), the calls
// interleaved: screened, baseline, sgemm.
for (let i = 0; i < cases.length; i++) {
  const c = cases[i]!,
    o = res[i]!;
  for (let r = 0; r < 4; r++) {
    encode(K, c, true);
    if (base) encode(base, c, true, baseValues, baseIndices);
  }
  for (let r = 0; r < reps; r++) {
    K.topkScreenStats();
    o.screen.push(encode(K, c, true));
    o.screenCpu.push(cpuMs.at(-1)!);
    const st = K.topkScreenStats();
    for (let q = 0; q < 5; q++) o.stats[q]! += st[q]!;
    o.stats[5] = st[5]!;
    if (base) {
      o.base.push(encode(base, c, true, baseValues, baseIndices));
      o.baseCpu.push(cpuMs.at(-1)!);
      for (let q = 0; q < B * k; q++) if (values[q] !== baseValues[q] || indices[q] !== baseIndices[q]) o.same = false;
    }
    o.sgemm.push(encode(K, c, false));
  }
  // The fused steps (these train the SAE on: the later steps run on updated weights).
  for (let r = -3; r < reps; r++) {
    const ms = await steppers[i]!();
    if (r >= 0) {
      o.step.push(ms);
      o.stepCpu.push(cpuMs.at(-1)!);
    }
  }
}
const out = {
  benchmark: 'step_real_vs_random',
  d_model: d,
  d_sae: F,
  k,
  batch: B,
  reps,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version },
  cases: Object.fromEntries(
    cases.map((c, i) => {
      const o = res[i]!,
        [calls, tokens, cands, gaveUp, prunes, trigger] = o.stats as [number, number, number, number, number, number];
      return [
        c.name,
        {
          screen_encode_ms_median: median(o.screen),
          screen_encode_cpu_ms_median: median(o.screenCpu),
          ...(base
            ? {
                baseline_screen_encode_ms_median: median(o.base),
                baseline_screen_encode_cpu_ms_median: median(o.baseCpu),
                baseline_outputs_identical: o.same,
              }
            : {}),
          sgemm_encode_ms_median: median(o.sgemm),
          fused_step_ms_median: median(o.step),
          fused_step_cpu_ms_median: median(o.stepCpu),
          candidates_per_token: Number((cands / tokens).toFixed(1)),
          prunes_per_token: Number((prunes / tokens).toFixed(2)),
          gave_up_tokens_per_call: gaveUp / calls,
          trigger,
        },
      ];
    }),
  ),
};
for (const [name, v] of Object.entries(out.cases)) process.stderr.write(`${name}: ${JSON.stringify(v)}\n`);
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

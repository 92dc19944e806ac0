// Benchmark: the evaluation of a dictionary (evaluateDictionary) the ways it has been computed, in one process,
// interleaved (A B A B…), checking every number is the same in all:
//   three_pass  three full forward passes with hooks, tfjs's logSumExp for the losses, tfjs-wasm's TopK;
//   per_window  one pass up to the hook resumed three times, the native token losses, tfjs-wasm's TopK;
//   shared      as per_window, zero-ablation's pass once per distinct first row, the native TopK (the default).
// Usage: node --import tsx bench/eval-speed.ts [--dictionary NAME|DIR --home DIR --windows N --reps N
//   --modes per_window,shared --backend B] (default: the demo's trained dictionary in $SAE_STUDIO_HOME).
// Last line: one JSON object (wall and process CPU seconds per run, best-of ratios against `shared`).
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { studioHome } from '../src/core/home';
import { sliceRows } from '../src/core/lm/token-batch';
import { loadDictionary } from '../src/core/sae/dictionary-store';
import { evaluateDictionary, type EvalOptions, type EvalResult } from '../src/core/sae/evaluate';
import { loadModelAndWindows } from '../src/core/sae/train-data';
import { Sae } from '../src/core/sae/variants/sae';
import { initBackend, parseBackendRequest } from '../src/core/tensor/backend';
import { SAE_TOKEN_LOSSES, SAE_TOKEN_LSE } from '../src/core/tensor/kernels/kernel-names';
import { registerRowTopK } from '../src/core/tensor/kernels/row-topk/host';

const MODES = ['three_pass', 'per_window', 'shared'] as const;
type Mode = (typeof MODES)[number];

const { values } = parseArgs({
  options: {
    dictionary: { type: 'string', default: 'demo' },
    home: { type: 'string' },
    windows: { type: 'string' },
    reps: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'per_window,shared' },
    backend: { type: 'string' },
  },
});
const modes = values.modes!.split(',').map((m) => m.trim()) as Mode[];
for (const m of modes) if (!MODES.includes(m)) throw new Error(`--modes: '${m}' is not one of ${MODES.join(', ')}`);
const backend = await initBackend(parseBackendRequest(values.backend, '--backend'));
const home = studioHome(values.home);
const stored = loadDictionary(values.dictionary!, home);
const lm = stored.lmConfig ?? {};
const modelName = typeof lm.model_name === 'string' ? lm.model_name : 'pdlm-4l-256';
const dataset = typeof lm.dataset === 'string' ? lm.dataset : 'pdlm-corpus';
const { model, windows: all } = await loadModelAndWindows(modelName, dataset, {
  home,
  split: 'validation',
  contextSize: null,
  basis: stored.cfg.activation_basis,
});
const windows = values.windows ? sliceRows(all, 0, Number(values.windows)) : all;
const sae = new Sae(stored.cfg, stored.params);

// The native token losses (and their logsumexp) taken away for three_pass (tfjs's formulation), put back after.
const lossKernels = [SAE_TOKEN_LOSSES, SAE_TOKEN_LSE].flatMap((n) => tf.getKernel(n, tf.getBackend()) ?? []);
const useNativeLosses = (on: boolean) => {
  for (const k of lossKernels) {
    const has = !!tf.getKernel(k.kernelName, tf.getBackend());
    if (has && !on) tf.unregisterKernel(k.kernelName, tf.getBackend());
    if (!has && on) tf.registerKernel(k);
  }
};
// The native TopK (wasm): tfjs-wasm's own kernel for three_pass and per_window.
const nativeTopK = tf.getBackend() === 'wasm' && registerRowTopK() !== null;
const useNativeTopK = (on: boolean) => {
  if (!nativeTopK) return;
  const restore = registerRowTopK();
  if (!on) restore?.();
};
const OPTIONS: Record<Mode, EvalOptions> = {
  three_pass: { resume: false },
  per_window: { shareZeroAblation: false },
  shared: {},
};

const wall: Record<Mode, number[]> = { three_pass: [], per_window: [], shared: [] };
const cpu: Record<Mode, number[]> = { three_pass: [], per_window: [], shared: [] };
const results: Partial<Record<Mode, EvalResult>> = {};
for (let rep = 0; rep < Number(values.reps); rep++) {
  for (const mode of modes) {
    useNativeLosses(mode !== 'three_pass');
    useNativeTopK(mode === 'shared');
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await evaluateDictionary(model, sae, windows, OPTIONS[mode]);
    const s = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    wall[mode].push(s);
    cpu[mode].push((c.user + c.system) / 1e6);
    process.stderr.write(
      `${mode.padEnd(10)} ${s.toFixed(2)} s (cpu ${cpu[mode].at(-1)!.toFixed(2)} s)  EV ${r.explained_variance} ` +
        `CE rec ${r.ce_loss_recovered}\n`,
    );
    const prev = results[mode];
    if (prev && JSON.stringify(prev) !== JSON.stringify(r)) throw new Error(`${mode}: a repeat gave other numbers`);
    results[mode] = r;
  }
}
useNativeLosses(true);
useNativeTopK(true);

// Every field of every mode against the first mode's (Object.is: the same doubles).
const base = results[modes[0]!]!;
const differing: Record<string, unknown> = {};
for (const mode of modes.slice(1)) {
  const r = results[mode]!;
  for (const key of Object.keys(base) as Array<keyof EvalResult>) {
    const same =
      typeof base[key] === 'number'
        ? Object.is(base[key], r[key])
        : JSON.stringify(base[key]) === JSON.stringify(r[key]);
    if (!same) differing[`${mode}.${key}`] = [base[key], r[key]];
  }
}
const best = (xs: number[]) => Math.min(...xs);
const round = (xs: number[]) => xs.map((t) => +t.toFixed(2));
const ratios = (of: Record<Mode, number[]>) =>
  modes.includes('shared')
    ? Object.fromEntries(
        modes.filter((m) => m !== 'shared').map((m) => [m, +(best(of[m]) / best(of.shared)).toFixed(3)]),
      )
    : {};
const out = {
  benchmark: 'eval_speed',
  backend: backend.device,
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version },
  native_token_losses: lossKernels.length === 2,
  native_topk: nativeTopK,
  dictionary: stored.dir,
  hook_in: stored.cfg.hook_point_in,
  hook_out: stored.cfg.hook_point_out,
  windows: windows.batch,
  wall_s: Object.fromEntries(modes.map((m) => [m, round(wall[m])])),
  cpu_s: Object.fromEntries(modes.map((m) => [m, round(cpu[m])])),
  speedup_best_vs_shared: ratios(wall),
  cpu_ratio_best_vs_shared: ratios(cpu),
  identical: Object.keys(differing).length === 0,
  differing,
  explained_variance: base.explained_variance,
  ce_loss_recovered: base.ce_loss_recovered,
  ce_zero_ablation: base.ce_zero_ablation,
};
sae.dispose();
model.dispose();
console.log(JSON.stringify(out));

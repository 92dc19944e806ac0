// Benchmark: the evaluation of a dictionary (evaluateDictionary) as before — three full forward passes, tfjs's
// logSumExp for the losses — vs now: one pass up to its hook resumed three times, the native token losses; on the
// validation windows, interleaved A B A B…; checks every number is the same.
// Usage: node --import tsx bench/eval-speed.ts --dictionary DIR [--home DIR --windows N --reps N --backend B]
// (default: the demo's trained dictionary in $SAE_STUDIO_HOME). Last line: one JSON object.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { studioHome } from '../src/core/home';
import { sliceRows } from '../src/core/lm/token-batch';
import { loadDictionary } from '../src/core/sae/dictionary-store';
import { evaluateDictionary, type EvalResult } from '../src/core/sae/evaluate';
import { loadModelAndWindows } from '../src/core/sae/train-data';
import { Sae } from '../src/core/sae/variants/sae';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, parseBackendRequest } from '../src/core/tensor/backend';
import { SAE_TOKEN_LOSSES } from '../src/core/tensor/kernels/kernel-names';

const { values } = parseArgs({
  options: {
    dictionary: { type: 'string', default: 'demo' },
    home: { type: 'string' },
    windows: { type: 'string' },
    reps: { type: 'string', default: '2' },
    backend: { type: 'string' },
  },
});
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

// The native token losses, taken away for the runs as before (tfjs's formulation) and put back after.
const lossKernel = tf.getKernel(SAE_TOKEN_LOSSES, tf.getBackend());
const useNativeLosses = (on: boolean) => {
  if (!lossKernel) return;
  const has = !!tf.getKernel(SAE_TOKEN_LOSSES, tf.getBackend());
  if (has && !on) tf.unregisterKernel(SAE_TOKEN_LOSSES, tf.getBackend());
  if (!has && on) tf.registerKernel(lossKernel);
};

const times: Record<'three_pass' | 'resumed', number[]> = { three_pass: [], resumed: [] };
const results: Record<'three_pass' | 'resumed', EvalResult | null> = { three_pass: null, resumed: null };
for (let rep = 0; rep < Number(values.reps); rep++) {
  for (const mode of ['three_pass', 'resumed'] as const) {
    useNativeLosses(mode === 'resumed');
    const t0 = performance.now();
    const r = await evaluateDictionary(model, sae, windows, { resume: mode === 'resumed' });
    const s = (performance.now() - t0) / 1000;
    times[mode].push(s);
    process.stderr.write(
      `${mode.padEnd(10)} ${s.toFixed(2)} s  EV ${r.explained_variance} CE rec ${r.ce_loss_recovered}\n`,
    );
    const prev = results[mode];
    if (prev && JSON.stringify(prev) !== JSON.stringify(r)) throw new Error(`${mode}: a repeat gave other numbers`);
    results[mode] = r;
  }
}
const a = results.three_pass!;
const b = results.resumed!;
const differing = Object.keys(a).filter(
  (k) => JSON.stringify(a[k as keyof EvalResult]) !== JSON.stringify(b[k as keyof EvalResult]),
);
const best = (xs: number[]) => Math.min(...xs);
const out = {
  benchmark: 'eval_speed',
  backend: backend.device,
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version },
  native_token_losses: !!lossKernel,
  dictionary: stored.dir,
  hook_in: stored.cfg.hook_point_in,
  hook_out: stored.cfg.hook_point_out,
  windows: windows.batch,
  three_pass_s: times.three_pass.map((t) => +t.toFixed(2)),
  resumed_s: times.resumed.map((t) => +t.toFixed(2)),
  speedup_best: +(best(times.three_pass) / best(times.resumed)).toFixed(2),
  identical: differing.length === 0,
  differing: Object.fromEntries(differing.map((k) => [k, [a[k as keyof EvalResult], b[k as keyof EvalResult]]])),
  explained_variance: b.explained_variance,
  ce_loss_recovered: b.ce_loss_recovered,
};
sae.dispose();
model.dispose();
console.log(JSON.stringify(out));

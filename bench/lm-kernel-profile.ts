// Benchmark: pdlm-4l-256 forward at 16×256 on the CPU — the pass to blocks.2.hook_resid_post (activation
// generation) and the full pass with logits, median of interleaved repeats in wall time and in this process's CPU
// time (the steadier figure on a shared machine), plus tf.profile's time per kernel for one pass to blocks.2.
// Usage: node --import tsx bench/lm-kernel-profile.ts [--repeats 7] [--backend wasm]. Last line: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/core/lm/load-model';
import { initBackend, parseBackendRequest } from '../src/core/tensor/backend';
import { entryOf } from '../src/core/util/lookup';

const HOOK = 'blocks.2.hook_resid_post';
const [BATCH, SEQ] = [16, 256];

const { values } = parseArgs({
  options: { backend: { type: 'string' }, repeats: { type: 'string', default: '7' } },
});
const info = await initBackend(parseBackendRequest(values.backend, '--backend'));
const { model } = loadModel('pdlm-4l-256');
const ids = new Int32Array(BATCH * SEQ).map((_, i) => (i * 7919 + 13) % model.cfg.dVocab);
const batch = { ids, batch: BATCH, seq: SEQ };

async function toHook(): Promise<void> {
  const { cache } = model.runWithCache(batch, [HOOK]);
  await entryOf(cache, HOOK, 'cache').data();
  tf.dispose(Object.values(cache));
}
async function full(): Promise<void> {
  const { logits } = model.forward(batch);
  await logits!.data();
  logits!.dispose();
}
/** [wall ms, CPU ms] of one call. */
async function timed(f: () => Promise<void>): Promise<[number, number]> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return [performance.now() - t0, (c.user + c.system) / 1000];
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await toHook();
await full();
const hookMs: number[] = [];
const fullMs: number[] = [];
const hookCpu: number[] = [];
const fullCpu: number[] = [];
for (let r = 0; r < Number(values.repeats); r++) {
  const [hw, hc] = await timed(toHook);
  const [fw, fc] = await timed(full);
  hookMs.push(hw);
  hookCpu.push(hc);
  fullMs.push(fw);
  fullCpu.push(fc);
}
const p0 = performance.now();
const prof = await tf.profile(toHook);
const profileWallMs = performance.now() - p0;
const kernels: Record<string, { ms: number; n: number }> = {};
for (const k of prof.kernels.filter((k) => !k.name.endsWith('__op'))) {
  const e = (kernels[k.name] ??= { ms: 0, n: 0 });
  e.ms += k.kernelTimeMs as number;
  e.n++;
}
const byTime = Object.fromEntries(
  Object.entries(kernels)
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([n, e]) => [n, { ms: Number(e.ms.toFixed(2)), n: e.n }]),
);
const tokens = BATCH * SEQ;
const row = {
  backend: info.name,
  batch: BATCH,
  seq: SEQ,
  hook_ms_median: Number(median(hookMs).toFixed(2)),
  hook_ms_best: Number(Math.min(...hookMs).toFixed(2)),
  hook_tokens_per_second: Math.round(tokens / (median(hookMs) / 1000)),
  full_ms_median: Number(median(fullMs).toFixed(2)),
  full_ms_best: Number(Math.min(...fullMs).toFixed(2)),
  hook_cpu_ms_median: Number(median(hookCpu).toFixed(2)),
  full_cpu_ms_median: Number(median(fullCpu).toFixed(2)),
  profile_wall_ms: Number(profileWallMs.toFixed(2)),
  profile_kernel_ms: Number(
    Object.values(kernels)
      .reduce((a, e) => a + e.ms, 0)
      .toFixed(2),
  ),
  kernels: byTime,
};
model.dispose();
process.stdout.write(`${JSON.stringify(row)}\n`);
process.exit(0);

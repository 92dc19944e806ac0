// Benchmark: the native token losses of this checkout's addon against another build of it (--old, e.g. a copy of
// native/build/Release/sae_blas.node from before a kernel change), on pdlm-4l-256's logits over real validation
// windows, on copies with crafted rows (−∞, NaN, ±0, ±∞, logits far below the max) and on logits spread over
// ~300 nats: every loss's bits compared, and the two timed interleaved (best of --reps, 2 threads).
// Usage: node --import tsx bench/token-losses-addons.ts --old PATH [--windows N --reps N]. Last line: JSON.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../src/core/lm/load-model';
import { tokenBatch } from '../src/core/lm/token-batch';
import { initBackend } from '../src/core/tensor/backend';
import { openSafetensors } from '../src/core/tensor/safetensors';
import { PDLM_REFERENCE } from '../tests/helpers/fixtures';

interface TokenLossAddon {
  tokenLosses(logits: Float32Array, targets: Int32Array, B: number, S: number, V: number, out: Float32Array): void;
}

const { values } = parseArgs({
  options: {
    old: { type: 'string' },
    windows: { type: 'string', default: '96' },
    reps: { type: 'string', default: '3' },
  },
});
if (!values.old) throw new Error('--old: the path of the addon build to compare against is required');
const load = (path: string): TokenLossAddon => {
  const mod = { exports: {} };
  process.dlopen(mod, path);
  return mod.exports as TokenLossAddon;
};
await initBackend('wasm');
const addons = { old: load(values.old), new: load(join(process.cwd(), 'native/build/Release/sae_blas.node')) };
const model = loadModel('pdlm-4l-256').model;
const val = openSafetensors(join(PDLM_REFERENCE, 'val_windows.safetensors')).readInt32('val_windows');
const [B, S, V] = [8, 256, model.cfg.dVocab];
let rows = 0;
let differing = 0;
const ms = { old: [] as number[], new: [] as number[] };
for (let start = 0; start + B <= Number(values.windows); start += B) {
  const w = tokenBatch(
    Array.from({ length: B }, (_, i) => Array.from(val.subarray((start + i) * S, (start + i + 1) * S))),
  );
  const { logits } = model.forward(w);
  const real = (await logits!.data()) as Float32Array;
  logits!.dispose();
  const crafted = real.slice();
  crafted.fill(-Infinity, 3 * V, 4 * V);
  crafted[5 * V] = NaN;
  crafted[6 * V + 100] = NaN;
  crafted.fill(0, 7 * V, 8 * V);
  crafted[7 * V + 5] = -0;
  crafted[9 * V + 3] = Infinity;
  for (let j = 0; j < V; j++) crafted[11 * V + j] = (j % 7) * -30;
  const spread = real.map((v) => v * 9 - 40);
  const targets = new Int32Array(B * (S - 1));
  for (let b = 0; b < B; b++) for (let s = 0; s < S - 1; s++) targets[b * (S - 1) + s] = w.ids[b * S + s + 1]!;
  for (const l of [real, crafted, spread]) {
    const out = { old: new Float32Array(B * (S - 1)), new: new Float32Array(B * (S - 1)) };
    for (let rep = 0; rep < Number(values.reps); rep++) {
      for (const which of ['old', 'new'] as const) {
        const t0 = performance.now();
        addons[which].tokenLosses(l, targets, B, S, V, out[which]);
        ms[which].push(performance.now() - t0);
      }
    }
    const [a, b] = [new Uint32Array(out.old.buffer), new Uint32Array(out.new.buffer)];
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) differing++;
    rows += a.length;
  }
}
model.dispose();
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
console.log(
  JSON.stringify({
    benchmark: 'token_losses_addons',
    old: values.old,
    rows,
    differing_bits: differing,
    batch_rows: B * (S - 1),
    vocab: V,
    old_ms_median: +median(ms.old).toFixed(2),
    new_ms_median: +median(ms.new).toFixed(2),
    speedup_median: +(median(ms.old) / median(ms.new)).toFixed(2),
  }),
);

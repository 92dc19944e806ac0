// Per-kernel timings behind the CPU figures in the README (wasm backend, native addon): the parts of a sparse
// TopK SAE step (d 256, 4096 latents, k 32, batch 4096), tfjs's GatherV2 and LayerNorm against the row gather and
// the fused row norm, and activation generation (pdlm-4l-256 up to blocks.2.hook_resid_post, 16×256 windows).
// Usage: npm run bench:kernels. Last line: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { cpus } from 'node:os';
import { loadModel } from '../src/core/lm/load-model';
import { normalGenerator } from '../src/core/lm/random-params';
import type { SparseTopKKernels } from '../src/core/tensor/kernels/sparse-topk/host-batch-encode';
import { initBackend } from '../src/core/tensor/backend';
import { SAE_ROW_NORM } from '../src/core/tensor/kernels/kernel-names';
import { fusedRowNorm } from '../src/core/tensor/kernels/row-norm/op';
import { registerRowGather } from '../src/core/tensor/kernels/row-gather/host';
import { loadNativeBlas, type NativeBlas } from '../src/core/tensor/native/native-blas';
import { entryOf } from '../src/core/util/lookup';

await initBackend('wasm');
const load = loadNativeBlas();
if (!load.blas) throw new Error(`the native addon is needed: ${load.reason}`);
const K = load.blas as NativeBlas & SparseTopKKernels & { adamUpdate: (...a: unknown[]) => void };

/** Median milliseconds of `f` over `reps` runs after one warm-up. */
async function median(f: () => unknown, reps = 9): Promise<number> {
  await f();
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(reps / 2)];
  if (median === undefined) throw new Error('no timings: reps must be at least 1');
  return Number(median.toFixed(2));
}
const results: { name: string; ms: number }[] = [];
const record = async (name: string, f: () => unknown) => {
  const ms = await median(f);
  results.push({ name, ms });
  process.stderr.write(`${name.padEnd(40)} ${ms.toFixed(2)} ms\n`);
};

// The sparse TopK step's native parts.
const B = 4096,
  d = 256,
  F = 4096,
  k = 32;
const normal = normalGenerator(0);
const r = (n: number) => new Float32Array(n).map(() => normal());
const x = r(B * d),
  WE = r(d * F),
  bE = r(F),
  WD = r(F * d),
  bD = r(d);
const pre = new Float32Array(B * F),
  vals = new Float32Array(B * k),
  idx = new Int32Array(B * k),
  fired = new Float32Array(F),
  rec = new Float32Array(B * d);
await record('sae encoder sgemm [4096,256]x[256,4096]', () =>
  K.sgemm(false, false, B, F, d, 1, x, d, WE, F, 0, pre, F),
);
K.topkScreening?.(false); // the sgemm path first
await record('sae topk encode: sgemm + selection', () =>
  K.topkEncode(x, bD, WE, bE, B, d, F, k, pre, vals, idx, fired),
);
if (K.topkScreening?.(true))
  await record('sae topk encode: int8 screen + exact candidates', () =>
    K.topkEncode(x, bD, WE, bE, B, d, F, k, null, vals, idx, fired),
  );
else process.stderr.write('sae topk encode: no int8 screen on this CPU (AVX-512 VNNI absent)\n');
await record('sae topk decode', () => K.topkDecode(vals, idx, WD, bD, B, k, d, F, rec));
const dWE = new Float32Array(d * F),
  dbE = new Float32Array(F),
  dWD = new Float32Array(F * d),
  dbD = new Float32Array(d);
await record('sae topk backward', () => K.topkBackward(rec, x, bD, vals, idx, WE, WD, B, d, F, k, dWE, dbE, dWD, dbD));
const o1 = new Float32Array(F * d),
  o2 = new Float32Array(F * d),
  o3 = new Float32Array(F * d),
  v = new Float32Array(F * d).fill(0.01);
await record('adam update (1M parameters)', () =>
  K.adamUpdate(WD, WD, WD, v, 1e-4, 0.9, 0.1, 0.999, 0.001, 1e-8, 0.1, o1, o2, o3),
);
// The fused training step's last two passes (its first is the encode above): decode with the loss's gradient,
// then the backward with every parameter's Adam step, in place (2.1M parameters).
const F2 = K as unknown as {
  topkDecodeResidual(...a: unknown[]): void;
  topkBackwardAdam(...a: unknown[]): void;
};
const g = new Float32Array(B * d),
  rowErr = new Float32Array(B),
  dy = new Float32Array(B).fill(Math.fround(1 / B));
await record('fused step: decode + loss gradient', () =>
  F2.topkDecodeResidual(vals, idx, WD, bD, x, dy, B, k, d, F, g, rowErr),
);
const state = (n: number) => {
  const [p, m, s] = [r(n).map((a) => a * 0.05), new Float32Array(n), new Float32Array(n)];
  return [p, m, s, p, m, s];
};
const [sWE, sWD, sbE, sbD] = [state(d * F), state(F * d), state(F), state(d)];
await record('fused step: backward + Adam (in place)', () =>
  F2.topkBackwardAdam(
    g,
    x,
    bD,
    vals,
    idx,
    B,
    d,
    F,
    k,
    sWE,
    sWD,
    sbE,
    sbD,
    [1e-4, 1e-4, 1e-4, 1e-4],
    [0.9, 0.1, 0.999, 0.001, 1e-8, 0.1],
    true,
  ),
);

// tfjs kernels against ours, on the tensors.
const run = async (f: () => tf.Tensor) => {
  const t = f();
  await t.data();
  t.dispose();
};
const table = tf.tensor2d(r(8192 * 256), [8192, 256]);
const ids = tf.tensor1d(
  new Int32Array(B).map((_, i) => (i * 7919) % 8192),
  'int32',
);
const restoreGather = registerRowGather('wasm');
await record('gather 4096 rows of 256: row gather', () => run(() => tf.gather(table, ids)));
restoreGather();
await record('gather 4096 rows of 256: tfjs-wasm', () => run(() => tf.gather(table, ids)));
registerRowGather('wasm');
const xs = tf.tensor2d(x, [B, d]);
const w = tf.ones([d]);
const b = tf.zeros([d]);
await record('layer norm [4096,256]: fused', () => run(() => fusedRowNorm(xs, w, b, 1e-5, false)!));
await record('layer norm [4096,256]: tfjs ops', () =>
  run(() =>
    tf.tidy(() => {
      const c = tf.sub(xs, tf.mean(xs, -1, true));
      return tf.add(tf.mul(tf.div(c, tf.sqrt(tf.add(tf.mean(tf.square(c), -1, true), 1e-5))), w), b);
    }),
  ),
);
tf.dispose([table, ids, xs, w, b]);

// Activation generation.
const { model } = loadModel('pdlm-4l-256');
const hook = 'blocks.2.hook_resid_post';
const tok = new Int32Array(16 * 256).map((_, i) => (i * 7919 + 13) % model.cfg.dVocab);
const forward = async () => {
  const { cache } = model.runWithCache({ ids: tok, batch: 16, seq: 256 }, [hook]);
  await entryOf(cache, hook, 'cached activations').data();
  tf.dispose(Object.values(cache));
};
await record('activation generation pdlm 16x256 to block 2', forward);
const genMs = results.at(-1)!.ms;
const activationTokensPerSecond = Math.round((16 * 256) / (genMs / 1000));
process.stderr.write(
  `activation generation: ${activationTokensPerSecond} tokens/s (fused row norm: ${tf.getKernel(SAE_ROW_NORM, 'wasm') ? 'on' : 'off'})\n`,
);
model.dispose();

process.stdout.write(
  `${JSON.stringify({ benchmark: 'cpu_kernels', date: new Date().toISOString(), machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model }, results, activation_tokens_per_second: activationTokensPerSecond })}\n`,
);
process.exit(0);

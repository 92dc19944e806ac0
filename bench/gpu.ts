// GPU benchmark, bundled to run on a bare NVIDIA host (scripts/gpu-bundle.sh; ../shared/gpu-host/README.md): the
// TopK SAE training step on webgpu, dense vs sparse path, for the two `npm run bench` cases, and the parts of the
// sparse step (encoder matmul — tfjs's and ours —, selection, decode, latent CSR, backward kernels) at d 768 /
// 24576 latents / k 32 / batch 4096. bench/torch_sae_step.py measures the same step in PyTorch in the same call.
// Usage: node .gpu/gpu.mjs [--seconds S] [--small] [--out FILE]. Last line of stdout: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { normalGenerator } from '../src/core/lm/random-params';
import {
  registerWebGpuSparseTopK, webgpuEncoder, webgpuLatentCsr, webgpuLatentGrad, webgpuSegmentOuter, webgpuSegmentReduce, webgpuTopKDecode, webgpuTopKSelect,
} from '../src/core/tensor/kernels/sparse-topk-webgpu';
import { initBackend } from '../src/core/tensor/backend';
import { SAE_CASES, benchSaeStep, type SaeCase } from './sae-train';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, small: { type: 'boolean', default: false }, out: { type: 'string' } } });
const seconds = Number(values.seconds);
// --small: shapes a software adapter (lavapipe) gets through in seconds, to test the bundle before a GPU run.
const cases: SaeCase[] = values.small
  ? [{ name: 'sae_topk_d64_f1024_k32_small', dModel: 64, dSae: 1024, k: 32, batch: 512 }]
  : SAE_CASES;

const info = await initBackend('webgpu');
registerWebGpuSparseTopK();
const adapter = (tf.backend() as unknown as { adapterInfo?: unknown }).adapterInfo;
process.stderr.write(`${info.device}\n`);

const steps: Array<Record<string, unknown>> = [];
for (const c of cases) {
  for (const path of ['dense', 'sparse'] as const) {
    const r = await benchSaeStep(c, path === 'sparse', { minSeconds: seconds, minSteps: 3, maxSteps: 500 });
    const row = { name: c.name, backend: 'webgpu', path, ...r };
    steps.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
}

/** Mean wall time of `f` over `reps` runs after one warm-up, each batch of runs closed by a read-back. */
async function time(f: () => tf.Tensor | tf.Tensor[], reps = 20): Promise<number> {
  const once = () => {
    const out = f();
    return Array.isArray(out) ? out : [out];
  };
  const warm = once();
  await warm[0]!.data();
  tf.dispose(warm);
  const t0 = performance.now();
  let last: tf.Tensor[] = [];
  for (let i = 0; i < reps; i++) {
    tf.dispose(last);
    last = once();
  }
  await last[0]!.data();
  tf.dispose(last);
  return (performance.now() - t0) / reps;
}

const big = cases.at(-1)!;
const { batch: B, dModel: d, dSae: F, k } = big;
const normal = normalGenerator(3);
const rand = (n: number, scale = 1) => new Float32Array(n).map(() => normal() * scale);
const x = tf.tensor2d(rand(B * d), [B, d]);
const W_E = tf.tensor2d(rand(d * F, 1 / Math.sqrt(d)), [d, F]);
const b_E = tf.tensor1d(rand(F, 0.01));
const W_D = tf.tensor2d(rand(F * d, 1 / Math.sqrt(d)), [F, d]);
const b_D = tf.tensor1d(rand(d, 0.01));
const pre = webgpuEncoder(x, W_E, b_E);
const sel = webgpuTopKSelect(pre, k);
const csr = webgpuLatentCsr(sel.indices, F);
const g = tf.tensor2d(rand(B * d), [B, d]);
const dz = webgpuLatentGrad(g, sel.values, sel.indices, W_D);
const flop = 2 * B * d * F;
const parts: Record<string, number> = {
  encoder_tfjs_matmul_bias: await time(() => tf.add(tf.matMul(x, W_E), b_E)),
  encoder_ours: await time(() => webgpuEncoder(x, W_E, b_E)),
  select: await time(() => webgpuTopKSelect(pre, k).indices),
  select_radix_only: await time(() => webgpuTopKSelect(pre, k, { radixOnly: true }).indices),
  decode: await time(() => webgpuTopKDecode(sel.values, sel.indices, W_D, b_D)),
  latent_csr: await time(() => {
    const c = webgpuLatentCsr(sel.indices, F);
    return [c.entries, c.offsets];
  }),
  latent_grad: await time(() => webgpuLatentGrad(g, sel.values, sel.indices, W_D)),
  dW_D_segment_outer: await time(() => webgpuSegmentOuter(sel.values, g, csr)),
  dW_E_segment_outer_transpose: await time(() => tf.transpose(webgpuSegmentOuter(dz, x, csr))),
  db_E_segment_sum: await time(() => webgpuSegmentReduce(dz, csr, 'sum')),
};
const kernels = Object.fromEntries(Object.entries(parts).map(([n, ms]) => [n, Number(ms.toFixed(3))]));
const tflops = {
  encoder_tfjs_matmul_bias: Number((flop / (parts.encoder_tfjs_matmul_bias! / 1000) / 1e12).toFixed(2)),
  encoder_ours: Number((flop / (parts.encoder_ours! / 1000) / 1e12).toFixed(2)),
};
process.stderr.write(`${JSON.stringify({ shape: big.name, kernels_ms: kernels, tflops })}\n`);

const out = { benchmark: 'gpu', date: new Date().toISOString(), device: info.device, adapter, results: steps, kernels_case: big.name, kernels_ms: kernels, tflops };
if (values.out) writeFileSync(values.out, `${JSON.stringify(out, null, 1)}\n`);
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

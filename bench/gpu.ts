// GPU benchmark, bundled to run on a bare NVIDIA host (scripts/gpu-bundle.mjs, then scripts/gpu-host-run.sh): the
// TopK SAE training step on webgpu, dense vs sparse path, for the two `npm run bench` cases, and the parts of the
// sparse step (encoder matmul — tfjs's and ours —, selection, decode, latent CSR, backward kernels) at d 768 /
// 24576 latents / k 32 / batch 4096. bench/torch_sae_step.py measures the same step in PyTorch in the same call.
// Usage: node .gpu/gpu.mjs [--seconds S] [--small] [--out FILE]. Last line of stdout: one JSON object.
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { normalGenerator } from '../src/core/lm/random-params';
import {
  registerWebGpuSparseTopK,
  webgpuLatentCsr,
  webgpuLatentGrad,
  webgpuSegmentOuter,
  webgpuSegmentReduce,
  webgpuTopKDecode,
  webgpuTopKSelect,
} from '../src/core/tensor/kernels/sparse-topk/webgpu';
import { loadModel } from '../src/core/lm/load-model';
import { initBackend } from '../src/core/tensor/backend';
import { registerWebGpuLmKernels, WEBGPU_LM_KERNELS } from '../src/core/tensor/kernels/register-custom-kernels';
import { registerWebGpuFusedStep, webgpuTiledEncoder } from '../src/core/tensor/kernels/fused-step/webgpu';
import { DEFAULT_ENCODER_TILING, type EncoderTiling } from '../src/core/tensor/kernels/fused-step/webgpu/tiled-encoder';
import { LM_CASES, measureForward, sampleRss } from './lm-cases';
import { SAE_CASES, benchSaeStep, makeSaeStep, type SaeCase } from './sae-train';

// --quick: only the sparse steps (fused and general), the LM forward and activation generation, for a short
// device call.
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    small: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const seconds = Number(values.seconds);
// --small: shapes a software adapter (lavapipe) gets through in seconds, to test the bundle before a GPU run.
const cases: SaeCase[] = values.small
  ? [{ name: 'sae_topk_d64_f1024_k32_small', dModel: 64, dSae: 1024, k: 32, batch: 512 }]
  : SAE_CASES;

const info = await initBackend('webgpu');
registerWebGpuSparseTopK();
registerWebGpuFusedStep();
// What the adapter offers (shader-f16, subgroups, …) and the binding limit the device was given, for the record.
const gpuAdapter = await (
  globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<{ features: Iterable<string> } | null> } } }
).navigator.gpu.requestAdapter();
const device = (
  tf.backend() as unknown as { device: { features: Iterable<string>; limits: { maxStorageBufferBindingSize: number } } }
).device;
const adapter = {
  info: (tf.backend() as unknown as { adapterInfo?: unknown }).adapterInfo,
  features: gpuAdapter ? [...gpuAdapter.features].sort() : null,
  device_features: [...device.features].sort(),
  max_storage_binding_mb: device.limits.maxStorageBufferBindingSize / 2 ** 20,
};
process.stderr.write(`${info.device}\n`);

const steps: Array<Record<string, unknown>> = [];
// The fused step with each encoder tiling (d 768 only), before the rows below (which use the default).
const tilings: EncoderTiling[] = [
  { bk: 8, vec4: true },
  { bk: 16, vec4: true },
  { bk: 8, vec4: false },
  { bk: 16, vec4: false },
];
const byTiling: Record<string, unknown> = {};
if (!values.quick) {
  const keep = { ...DEFAULT_ENCODER_TILING };
  for (const t of tilings) {
    Object.assign(DEFAULT_ENCODER_TILING, t);
    const r = await benchSaeStep(cases.at(-1)!, true, {
      minSeconds: Math.min(seconds, 2),
      minSteps: 3,
      maxSteps: 2000,
      fused: true,
    });
    byTiling[`bk${t.bk}_${t.vec4 ? 'vec4' : 'f32'}`] = r;
    process.stderr.write(`${JSON.stringify({ tiling: t, ...r })}\n`);
  }
  Object.assign(DEFAULT_ENCODER_TILING, keep);
}

// 'sparse': the fused TopK step (tensor/kernels/fused-step/webgpu.ts), what the trainer runs; 'sparse_unfused': the
// sparse op under tfjs's backpropagation and per-op Adam, for comparison.
for (const c of cases) {
  for (const path of values.quick
    ? (['sparse_unfused', 'sparse'] as const)
    : (['dense', 'sparse_unfused', 'sparse'] as const)) {
    const r = await benchSaeStep(c, path !== 'dense', {
      minSeconds: seconds,
      minSteps: 3,
      maxSteps: 2000,
      fused: path === 'sparse',
    });
    const mem = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
    // peak_mb: the process's resident memory; gpu_pool_mb: what tfjs's GPU buffer pool holds after the case (it
    // keeps every buffer it ever allocated, so it includes the earlier cases').
    const row = {
      name: c.name,
      backend: 'webgpu',
      path,
      ...r,
      peak_mb: Math.round(sampleRss() / 2 ** 20),
      gpu_pool_mb: Math.round((mem.numBytesAllocatedInGPU ?? 0) / 2 ** 20),
    };
    steps.push(row);
    process.stderr.write(`${JSON.stringify(row)}\n`);
  }
}

/**
 * Mean wall time of `f` over `reps` runs, each batch of runs closed by a read-back; timed on the second batch, so
 * the outputs' buffers come from tfjs's pool (the first batch allocates them).
 */
async function time(f: () => tf.Tensor | tf.Tensor[], reps = 20): Promise<number> {
  const once = () => {
    const out = f();
    return Array.isArray(out) ? out : [out];
  };
  let ms = 0;
  for (let round = 0; round < 2; round++) {
    const t0 = performance.now();
    let last: tf.Tensor[] = [];
    for (let i = 0; i < reps; i++) {
      tf.dispose(last);
      last = once();
    }
    await Promise.all(last.map((t) => t.data())); // waits for the last repetition
    tf.dispose(last);
    ms = (performance.now() - t0) / reps;
  }
  return ms;
}

// The language-model forward of the embedded model and a GPT-2-small-shaped one (full passes with their logits),
// and activation generation as the trainer runs it (pdlm windows up to blocks.2.hook_resid_post, no logits): each
// with the fused LM kernels (attention, row norms, GELU: one dispatch each), then with tfjs's ops in their place.
const forwardJobs = [
  ...LM_CASES.map((lc) => ({
    name: lc.name,
    make: lc.make,
    shape: lc.shape('webgpu'),
    hook: undefined as string | undefined,
  })),
  {
    name: 'activations_pdlm_block2',
    make: () => loadModel('pdlm-4l-256').model,
    shape: [16, 256] as [number, number],
    hook: 'blocks.2.hook_resid_post',
  },
];
for (const job of values.small ? [] : forwardJobs) {
  for (const fused of [true, false]) {
    const path = fused ? 'dense (fused LM kernels)' : 'dense (tfjs ops)';
    if (!fused) for (const k of WEBGPU_LM_KERNELS) tf.unregisterKernel(k, 'webgpu');
    try {
      const model = job.make();
      const [batch, seq] = job.shape;
      const f = await measureForward(model, batch, seq, seconds, job.hook);
      model.dispose();
      const row = {
        name: job.name,
        backend: 'webgpu',
        path,
        batch,
        seq,
        tokens_per_second: f.tokens_per_second,
        ms_per_step: f.ms_per_forward,
        peak_mb: Math.round(sampleRss() / 2 ** 20),
      };
      steps.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    } catch (err) {
      steps.push({ name: job.name, backend: 'webgpu', path, error: (err as Error).message });
    }
    if (!fused) registerWebGpuLmKernels();
  }
}

if (values.quick) {
  const out = {
    benchmark: 'gpu',
    quick: true,
    date: new Date().toISOString(),
    device: info.device,
    adapter,
    results: steps,
  };
  if (values.out) writeFileSync(values.out, `${JSON.stringify(out, null, 1)}\n`);
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

// Where the step's time goes beyond the kernels: steps queued back to back (one read-back at the end), the
// programs one step dispatches through tfjs (tf.profile; the fused step's own dispatches are not in it), and the
// host-side cost of one small tfjs dispatch.
const overhead: Record<string, unknown> = {};
for (const [c, fused] of cases.flatMap(
  (c) =>
    [
      [c, true],
      [c, false],
    ] as const,
)) {
  const label = `${c.name}${fused ? '' : '_unfused'}`;
  const { step, run, dispose } = await makeSaeStep(c, true, fused);
  await step();
  const n = 30;
  let queuedMs = 0;
  let last: tf.Tensor | null = null;
  for (let round = 0; round < 2; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      last?.dispose();
      last = run();
    }
    await last!.data();
    last!.dispose();
    last = null;
    queuedMs = (performance.now() - t0) / n;
  }
  const t1 = performance.now();
  for (let i = 0; i < n; i++) {
    last = run();
    last.dispose();
  }
  const hostMs = (performance.now() - t1) / n;
  await tf.zeros([1]).data();
  const prof = await tf.profile(() => run());
  const byKernel: Record<string, { n: number; ms: number }> = {};
  const dispatches: string[] = [];
  for (const kInfo of prof.kernels) {
    const e = (byKernel[kInfo.name] ??= { n: 0, ms: 0 });
    e.n++;
    const t = await kInfo.kernelTimeMs;
    e.ms += typeof t === 'number' ? t : 0;
    const extra = await kInfo.extraInfo;
    if (fused && extra) dispatches.push(`${kInfo.name}: ${extra}`);
  }
  dispose();
  overhead[label] = {
    queued_ms_per_step: Number(queuedMs.toFixed(3)),
    host_ms_per_step: Number(hostMs.toFixed(3)),
    tfjs_programs_per_step: prof.kernels.length,
    by_kernel: byKernel,
    ...(fused ? { dispatch_ms: dispatches } : {}),
  };
  process.stderr.write(`${JSON.stringify({ [label]: overhead[label] })}\n`);
}
{
  const a = tf.ones([256]);
  let acc = tf.add(a, a);
  await acc.data();
  const n = 500;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const next = tf.add(acc, a);
    acc.dispose();
    acc = next;
  }
  const hostUs = ((performance.now() - t0) / n) * 1000;
  await acc.data();
  overhead.dispatch_us = {
    host: Number(hostUs.toFixed(1)),
    with_execution: Number((((performance.now() - t0) / n) * 1000).toFixed(1)),
  };
  tf.dispose([a, acc]);
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
const pre = webgpuTiledEncoder(x, W_E, b_E);
const sel = webgpuTopKSelect(pre, k);
const csr = webgpuLatentCsr(sel.indices, F);
const g = tf.tensor2d(rand(B * d), [B, d]);
const dz = webgpuLatentGrad(g, sel.values, sel.indices, W_D);
const flop = 2 * B * d * F;
const parts: Record<string, number> = {
  encoder_tfjs_matmul_bias: await time(() => tf.add(tf.matMul(x, W_E), b_E)),
  encoder_tiled128: await time(() => webgpuTiledEncoder(x, W_E, b_E)),
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
// The encoders once more, by GPU timestamps (tf.profile): the wall-clock figures above include the host.
const encoderGpuMs: Record<string, number> = {};
const gpuMs = async (name: string, f: () => tf.Tensor) => {
  for (let i = 0; i < 3; i++) {
    const prof = await tf.profile(() => f());
    let ms = 0;
    for (const kInfo of prof.kernels) {
      const t = await kInfo.kernelTimeMs;
      ms += typeof t === 'number' ? t : 0;
    }
    encoderGpuMs[name] = Math.min(encoderGpuMs[name] ?? Infinity, Number(ms.toFixed(3)));
    tf.dispose(prof.result as tf.Tensor);
  }
};
await gpuMs('tfjs_matmul', () => tf.matMul(x, W_E));
for (const t of tilings)
  await gpuMs(`tiled128_bk${t.bk}_${t.vec4 ? 'vec4' : 'f32'}`, () => webgpuTiledEncoder(x, W_E, b_E, t));
const encoderTflops = Object.fromEntries(
  Object.entries(encoderGpuMs).map(([n, ms]) => [n, Number((flop / (ms / 1000) / 1e12).toFixed(2))]),
);
process.stderr.write(`${JSON.stringify({ encoder_gpu_ms: encoderGpuMs, encoder_tflops: encoderTflops })}\n`);
const kernels = Object.fromEntries(Object.entries(parts).map(([n, ms]) => [n, Number(ms.toFixed(3))]));
const tflops = {
  encoder_tfjs_matmul_bias: Number((flop / (parts.encoder_tfjs_matmul_bias! / 1000) / 1e12).toFixed(2)),
  encoder_tiled128: Number((flop / (parts.encoder_tiled128! / 1000) / 1e12).toFixed(2)),
};
process.stderr.write(`${JSON.stringify({ shape: big.name, kernels_ms: kernels, tflops })}\n`);

const out = {
  benchmark: 'gpu',
  date: new Date().toISOString(),
  device: info.device,
  adapter,
  results: steps,
  fused_by_tiling: byTiling,
  overhead,
  encoder_gpu_ms: encoderGpuMs,
  encoder_tflops: encoderTflops,
  kernels_case: big.name,
  kernels_ms: kernels,
  tflops,
};
if (values.out) writeFileSync(values.out, `${JSON.stringify(out, null, 1)}\n`);
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

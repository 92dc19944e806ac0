// Matmul throughput of tfjs's own kernel against the OpenBLAS one (src/core/tensor/native), as JSON on stdout.
// Usage: npx tsx bench/matmul.ts [--backend wasm|cpu] [--threads N] [--budget-ms 1500]
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/core/tensor/backend';
import {
  registerNativeMatMul, type NativeMatMulRegistration,
} from '../src/core/tensor/native/register-native-matmul';

interface Case {
  name: string;
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
}

const CASES: Case[] = [
  { name: 'mlp-in [2048,256]x[256,768]', a: [2048, 256], b: [256, 768] },
  { name: 'sae-encode [2048,256]x[256,8192]', a: [2048, 256], b: [256, 8192] },
  { name: 'square [4096,256]x[256,4096]', a: [4096, 256], b: [256, 4096] },
  { name: 'attn-pv batched [64,256,32]x[64,32,256]', a: [64, 256, 32], b: [64, 32, 256] },
  { name: 'sae-decode-grad transB [2048,256]x[8192,256]^T', a: [2048, 256], b: [8192, 256], transB: true },
  { name: 'weight-grad transA [2048,256]^T x [2048,768]', a: [2048, 256], b: [2048, 768], transA: true },
  { name: 'attn-qk batched transB [64,256,32]x[64,256,32]^T', a: [64, 256, 32], b: [64, 256, 32], transB: true },
];

const { values: opts } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
    'budget-ms': { type: 'string', default: '1500' },
  },
});
const backend = opts.backend as 'wasm' | 'cpu';
const budgetMs = Number(opts['budget-ms']);

/** 2·M·N·K per output matrix. */
function flops(c: Case): number {
  const [k, m] = c.transA ? c.a.slice(-2) : c.a.slice(-2).reverse();
  const n = c.transB ? c.b[c.b.length - 2]! : c.b[c.b.length - 1]!;
  const batch = c.a.slice(0, -2).reduce((p, d) => p * d, 1);
  return 2 * m! * n * k! * batch;
}

/**
 * Median and best wall time of one matMul: one warm-up, then runs until the budget is spent (at least 2, at most
 * 30). On a shared machine the best run is the one least disturbed by other processes.
 */
function time(a: tf.Tensor, b: tf.Tensor, c: Case): { ms: number; bestMs: number; runs: number } {
  const once = () => {
    const t0 = performance.now();
    tf.matMul(a, b, c.transA, c.transB).dispose();
    return performance.now() - t0;
  };
  once();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < 2 || (samples.length < 30 && performance.now() - start < budgetMs)) samples.push(once());
  samples.sort((x, y) => x - y);
  return { ms: samples[Math.floor(samples.length / 2)]!, bestMs: samples[0]!, runs: samples.length };
}

function useNative(): NativeMatMulRegistration {
  const status = registerNativeMatMul(backend);
  if (!status.registered) {
    console.error(`native matmul unavailable: ${status.reason}`);
    process.exit(1);
  }
  return status;
}

const info = await initBackend(backend);
let registration = useNative();
if (opts.threads) registration.blas.setThreads(Number(opts.threads));
const results = [];
for (const c of CASES) {
  const a = tf.randomUniform(c.a, -1, 1);
  const b = tf.randomUniform(c.b, -1, 1);
  const gflop = flops(c) / 1e9;
  registration.restore();
  const original = time(a, b, c);
  registration = useNative();
  const native = time(a, b, c);
  tf.dispose([a, b]);
  const summary = (t: { ms: number; bestMs: number; runs: number }) => ({
    ms: +t.ms.toFixed(2),
    gflops: +(gflop / (t.ms / 1e3)).toFixed(1),
    bestGflops: +(gflop / (t.bestMs / 1e3)).toFixed(1),
    runs: t.runs,
  });
  const row = {
    case: c.name,
    gflop: +gflop.toFixed(3),
    original: summary(original),
    native: summary(native),
    speedup: +(original.ms / native.ms).toFixed(1),
  };
  console.error(`${c.name}: ${row.original.gflops} -> ${row.native.gflops} GFLOP/s (median)`);
  results.push(row);
}
console.log(JSON.stringify({ backend: info.device, native: registration.description, results }, null, 2));

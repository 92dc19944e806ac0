// Our own sgemm against the system BLAS (OpenBLAS) on the SAE and LM shapes, in one process, alternating run by
// run, as JSON on stdout (GFLOP/s of each, ratio own/system, min and geometric-mean ratio); with --tfjs also
// tfjs's own matmul kernel against the native one. Where no system BLAS is linked, only our own is reported.
// Usage: npm run bench:matmul -- [--threads N] [--isa portable|avx2|avx512] [--budget-ms 1500] [--only substring]
//   [--tfjs [--backend wasm|cpu]]
import * as tf from '@tensorflow/tfjs-core';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/core/tensor/backend';
import { loadNativeBlas, type NativeBlas } from '../src/core/tensor/native/native-blas';
import { registerNativeMatMul, type NativeMatMulRegistration } from '../src/core/tensor/native/register-native-matmul';

/** op(A) is [batch·]M x K and op(B) K x N; a batch > 1 runs sgemmBatched over `batch` stacked pairs. */
interface Case {
  name: string;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  batch?: number;
}

const CASES: Case[] = [
  { name: 'sae d256 encode [4096,256]x[256,4096]', m: 4096, n: 4096, k: 256 },
  { name: 'sae d256 decode [4096,4096]x[4096,256]', m: 4096, n: 256, k: 4096 },
  { name: 'sae d256 dW_E transA [4096,256]^T x [4096,4096]', m: 256, n: 4096, k: 4096, transA: true },
  { name: 'sae d256 dW_D transA [4096,4096]^T x [4096,256]', m: 4096, n: 256, k: 4096, transA: true },
  { name: 'sae d256 dH transB [4096,256]x[4096,256]^T', m: 4096, n: 4096, k: 256, transB: true },
  { name: 'sae d256 F24576 encode [4096,256]x[256,24576]', m: 4096, n: 24576, k: 256 },
  { name: 'sae d768 encode [4096,768]x[768,4096]', m: 4096, n: 4096, k: 768 },
  { name: 'sae d768 decode [4096,4096]x[4096,768]', m: 4096, n: 768, k: 4096 },
  { name: 'sae d768 dW_E transA [4096,768]^T x [4096,4096]', m: 768, n: 4096, k: 4096, transA: true },
  { name: 'sae d768 dH transB [4096,768]x[4096,768]^T', m: 4096, n: 4096, k: 768, transB: true },
  { name: 'lm mlp-in [4096,256]x[256,768]', m: 4096, n: 768, k: 256 },
  { name: 'lm mlp-out [4096,1024]x[1024,256]', m: 4096, n: 256, k: 1024 },
  { name: 'lm attn-pv batched 64x [256,256]x[256,32]', m: 256, n: 32, k: 256, batch: 64 },
  { name: 'lm attn-qk batched 64x transB [256,32]x[256,32]^T', m: 256, n: 256, k: 32, transB: true, batch: 64 },
  { name: 'lm logits transB [4096,256]x[8192,256]^T', m: 4096, n: 8192, k: 256, transB: true },
  { name: 'pdlm d256 qkvo [4096,256]x[256,256]', m: 4096, n: 256, k: 256 },
  { name: 'pdlm d256 mlp-in [4096,256]x[256,1024]', m: 4096, n: 1024, k: 256 },
  { name: 'pdlm d256 mlp-out [4096,1024]x[1024,256]', m: 4096, n: 256, k: 1024 },
  { name: 'pdlm square [2048,2048]x[2048,2048]', m: 2048, n: 2048, k: 2048 },
];

const { values: opts } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    threads: { type: 'string' },
    isa: { type: 'string' },
    'budget-ms': { type: 'string', default: '1500' },
    only: { type: 'string' },
    tfjs: { type: 'boolean', default: false },
  },
});
const budgetMs = Number(opts['budget-ms']);

interface Timing {
  ms: number;
  bestMs: number;
  runs: number;
}

/** Median and best of alternating runs of each function: one warm-up each, then until the budget is spent. */
function timeAlternating(fns: (() => void)[]): Timing[] {
  const samples = fns.map(() => [] as number[]);
  for (const fn of fns) fn();
  const start = performance.now();
  while (samples[0]!.length < 3 || (samples[0]!.length < 30 && performance.now() - start < budgetMs)) {
    fns.forEach((fn, i) => {
      const t0 = performance.now();
      fn();
      samples[i]!.push(performance.now() - t0);
    });
  }
  return samples.map((s) => {
    s.sort((x, y) => x - y);
    return { ms: s[Math.floor(s.length / 2)]!, bestMs: s[0]!, runs: s.length };
  });
}

const summary = (gflop: number, t: Timing) => ({
  ms: +t.ms.toFixed(2),
  gflops: +(gflop / (t.ms / 1e3)).toFixed(1),
  bestGflops: +(gflop / (t.bestMs / 1e3)).toFixed(1),
  runs: t.runs,
});

function random(size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = Math.random() * 2 - 1;
  return out;
}

function ownVsSystem(blas: NativeBlas) {
  const hasSystem = Boolean(blas.info().system) && blas.setBlas?.('system') === true;
  const use = (which: 'own' | 'system') => () => blas.setBlas?.(which);
  const rows = [];
  for (const c of CASES.filter((x) => !opts.only || x.name.includes(opts.only))) {
    const batch = c.batch ?? 1;
    const [lda, ldb] = [c.transA ? c.m : c.k, c.transB ? c.k : c.n];
    const a = random(batch * c.m * c.k);
    const b = random(batch * c.k * c.n);
    const out = new Float32Array(batch * c.m * c.n);
    const gflop = (2 * c.m * c.n * c.k * batch) / 1e9;
    const run = () =>
      batch === 1
        ? blas.sgemm(!!c.transA, !!c.transB, c.m, c.n, c.k, 1, a, lda, b, ldb, 0, out, c.n)
        : blas.sgemmBatched(
            !!c.transA,
            !!c.transB,
            c.m,
            c.n,
            c.k,
            1,
            a,
            lda,
            c.m * c.k,
            b,
            ldb,
            c.k * c.n,
            0,
            out,
            c.n,
            c.m * c.n,
            batch,
          );
    const sides = hasSystem ? [use('own'), use('system')] : [use('own')];
    const timings = timeAlternating(
      sides.map((select) => () => {
        select();
        run();
      }),
    );
    const own = summary(gflop, timings[0]!);
    const system = timings[1] && summary(gflop, timings[1]);
    const row = {
      case: c.name,
      gflop: +gflop.toFixed(3),
      own,
      ...(system && {
        system,
        ratio: +(own.gflops / system.gflops).toFixed(3),
        bestRatio: +(own.bestGflops / system.bestGflops).toFixed(3),
      }),
    };
    console.error(
      `${c.name}: own ${own.gflops}${system ? ` vs system ${system.gflops} GFLOP/s (${row.ratio})` : ' GFLOP/s'}`,
    );
    rows.push(row);
  }
  blas.setBlas?.('own');
  const ratios = rows.flatMap((r) => (r.ratio === undefined ? [] : [r.ratio]));
  const best = rows.flatMap((r) => (r.bestRatio === undefined ? [] : [r.bestRatio]));
  const geomean = (xs: number[]) => +Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length).toFixed(3);
  return {
    results: rows,
    summary: ratios.length
      ? {
          minRatio: Math.min(...ratios),
          geomeanRatio: geomean(ratios),
          minBestRatio: Math.min(...best),
          geomeanBestRatio: geomean(best),
        }
      : { note: 'no system BLAS linked: own sgemm only' },
  };
}

/** tfjs's own matmul kernel against the native one (whatever BLAS it uses) on a few shapes, as before. */
async function tfjsVsNative(blas: NativeBlas) {
  const backend = opts.backend as 'wasm' | 'cpu';
  await initBackend(backend);
  const useNative = (): NativeMatMulRegistration => {
    const status = registerNativeMatMul(backend);
    if (!status.registered) throw new Error(status.reason);
    return status;
  };
  let registration = useNative();
  const rows = [];
  for (const c of CASES.filter((x) => x.k * x.n * x.m * (x.batch ?? 1) <= 4096 * 4096 * 256)) {
    const batch = c.batch ? [c.batch] : [];
    const a = tf.randomUniform([...batch, ...(c.transA ? [c.k, c.m] : [c.m, c.k])], -1, 1);
    const b = tf.randomUniform([...batch, ...(c.transB ? [c.n, c.k] : [c.k, c.n])], -1, 1);
    const gflop = (2 * c.m * c.n * c.k * (c.batch ?? 1)) / 1e9;
    const mm = () => tf.matMul(a, b, c.transA, c.transB).dispose();
    registration.restore();
    const [original] = timeAlternating([mm]);
    registration = useNative();
    const [native] = timeAlternating([mm]);
    tf.dispose([a, b]);
    rows.push({ case: c.name, original: summary(gflop, original!), native: summary(gflop, native!) });
  }
  return { backend, native: registration.description, blas: blas.info().blas, results: rows };
}

const load = loadNativeBlas();
if (!load.blas) {
  console.error(`native sgemm unavailable: ${load.reason}`);
  process.exit(1);
}
const blas = load.blas;
if (opts.threads) blas.setThreads(Number(opts.threads));
if (opts.isa && !blas.setIsa?.(opts.isa as 'avx2')) {
  console.error(`this CPU or addon cannot run our sgemm's ${opts.isa} kernel`);
  process.exit(1);
}
const report = {
  command: ['npm run bench:matmul', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
  date: new Date().toISOString(),
  // The load average says how much other processes shared the cores during the run (timings are noisy then).
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadavg: loadavg() },
  threads: blas.threads(),
  own: (blas.setBlas?.('own'), blas.info().blas),
  system: blas.info().system || null,
  ...ownVsSystem(blas),
  ...(opts.tfjs && { tfjs: await tfjsVsNative(blas) }),
};
console.log(JSON.stringify(report, null, 2));

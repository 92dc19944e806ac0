// The d 256 / 4096 latents / k 32 TopK training step (dense and sparse paths) with our own sgemm and with the system
// BLAS, paired: one process alternates the addon's setBlas('own' | 'system') step by step on the same SAE, so the
// shared machine's slow minutes hit both alike (separate `npm run bench` runs here differ by 15–30%).
// Usage: node --import tsx bench/blas-step.ts [--steps 8]. Prints one JSON object.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/core/tensor/backend';
import { loadNativeBlas } from '../src/core/tensor/native/native-blas';
import { SAE_CASES, makeSaeStep } from './sae-train';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '8' } } });
const steps = Number(values.steps);
const info = await initBackend('wasm');
const load = loadNativeBlas();
if (!load.blas?.setBlas || !load.blas.setBlas('system')) {
  console.error('needs the addon built with a system BLAS (npm run build:native where OpenBLAS is installed)');
  process.exit(1);
}
const blas = load.blas;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = [];
for (const sparse of [false, true]) {
  const { step, dispose } = await makeSaeStep(SAE_CASES[0]!, sparse);
  const ms: Record<'own' | 'system', number[]> = { own: [], system: [] };
  for (const which of ['own', 'system'] as const) {
    // one warm-up step each
    blas.setBlas!(which);
    await step();
  }
  for (let i = 0; i < steps; i++) {
    for (const which of i % 2 ? (['system', 'own'] as const) : (['own', 'system'] as const)) {
      blas.setBlas!(which);
      const t0 = performance.now();
      await step();
      ms[which].push(performance.now() - t0);
    }
  }
  dispose();
  const own = median(ms.own),
    system = median(ms.system);
  results.push({
    case: SAE_CASES[0]!.name,
    path: sparse ? 'sparse' : 'dense',
    own_ms: +own.toFixed(1),
    system_ms: +system.toFixed(1),
    own_over_system: +(own / system).toFixed(3),
    own_samples: ms.own.map((x) => +x.toFixed(1)),
    system_samples: ms.system.map((x) => +x.toFixed(1)),
  });
  console.error(`${sparse ? 'sparse' : 'dense'}: own ${own.toFixed(1)} ms vs system ${system.toFixed(1)} ms per step`);
}
blas.setBlas!('own');
console.log(
  JSON.stringify(
    {
      command: ['node --import tsx bench/blas-step.ts', ...process.argv.slice(2)].join(' '),
      date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, loadavg: loadavg() },
      device: info.device,
      own: blas.info().blas,
      results,
    },
    null,
    2,
  ),
);

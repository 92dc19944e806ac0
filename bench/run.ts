// `npm run bench`: SAE training tokens/s (TopK, d 256 / 4096 latents and d 768 / 24576 latents, k 32, batch 4096;
// BatchTopK at d 256; dense vs sparse path) and LM forward tokens/s on every backend present, with peak memory. Prints a table on
// stderr and, as its last line, one JSON object {"results": [{name, backend, path, tokens_per_second,
// ms_per_step, peak_mb}, …]}. Options: --backends wasm,cpu  --seconds S (per case, default 10).
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { availableBackends, initBackend, type BackendName } from '../src/core/tensor/backend';
import { LM_CASES, measureForward, sampleRss } from './lm-cases';
import { BATCH_CASES, SAE_CASES, benchSaeStep, type SaeCase } from './sae-train';

const { values } = parseArgs({ options: { backends: { type: 'string' }, seconds: { type: 'string', default: '10' } } });
const minSeconds = Number(values.seconds);
const wanted = values.backends?.split(',') as BackendName[] | undefined;

interface Row {
  name: string;
  backend: BackendName;
  path: 'dense' | 'sparse';
  device: string;
  tokens_per_second: number | null;
  ms_per_step: number | null;
  peak_mb: number;
  note?: string;
}

/** Cases that would take minutes per step here are skipped with the reason, rather than run. */
function tooSlow(c: SaeCase, backend: BackendName, path: 'dense' | 'sparse', device: string): string | null {
  const big = c.dSae * c.dModel > 4_000_000;
  if (backend === 'cpu' && (big || path === 'dense'))
    return 'the plain-JavaScript cpu backend takes minutes per step at this size';
  if (backend === 'wasm' && big && path === 'dense')
    return "the dense [4096, 24576] activations and their gradients exceed the wasm backend's 4 GiB heap";
  if (backend === 'webgpu' && big && /llvmpipe|lavapipe|swiftshader/i.test(device))
    return 'software WebGPU adapter: minutes per step at this size';
  return null;
}

const rows: Row[] = [];
const backends = (await availableBackends()).filter((b) => !wanted || wanted.includes(b));
for (const backend of backends) {
  const info = await initBackend(backend);
  for (const c of [...SAE_CASES, ...BATCH_CASES]) {
    for (const path of ['dense', 'sparse'] as const) {
      const slow = tooSlow(c, backend, path, info.device);
      const r = slow
        ? { skipped: slow }
        : await benchSaeStep(c, path === 'sparse', { minSeconds, minSteps: 2, maxSteps: 200 });
      const row: Row =
        'skipped' in r
          ? {
              name: c.name,
              backend,
              path,
              device: info.device,
              tokens_per_second: null,
              ms_per_step: null,
              peak_mb: Math.round(sampleRss() / 2 ** 20),
              note: `skipped: ${r.skipped}`,
            }
          : {
              name: c.name,
              backend,
              path,
              device: info.device,
              tokens_per_second: r.tokens_per_second,
              ms_per_step: r.ms_per_step,
              peak_mb: Math.round(sampleRss() / 2 ** 20),
            };
      rows.push(row);
      process.stderr.write(
        `${row.name.padEnd(26)} ${backend.padEnd(7)} ${path.padEnd(7)} ${row.tokens_per_second === null ? row.note : `${String(row.tokens_per_second).padStart(8)} tok/s ${String(row.ms_per_step).padStart(9)} ms/step`}\n`,
      );
    }
  }
  const lm = LM_CASES.find((c) => c.name === 'lm_forward_pdlm')!;
  const model = lm.make();
  const [batch, seq] = lm.shape(backend);
  const f = await measureForward(model, batch, seq, minSeconds);
  model.dispose();
  rows.push({
    name: 'lm_forward_pdlm',
    backend,
    path: 'dense',
    device: info.device,
    tokens_per_second: f.tokens_per_second,
    ms_per_step: f.ms_per_forward,
    peak_mb: Math.round(sampleRss() / 2 ** 20),
  });
  process.stderr.write(
    `${'lm_forward_pdlm'.padEnd(26)} ${backend.padEnd(7)} dense   ${String(f.tokens_per_second).padStart(8)} tok/s ${String(f.ms_per_forward).padStart(9)} ms/pass [${batch}x${seq}]\n`,
  );
}
const machine = {
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model,
  mem_gb: Math.round(totalmem() / 2 ** 30),
  node: process.version,
};
process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), machine, results: rows })}\n`);
process.exit(0);

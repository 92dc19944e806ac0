// Benchmark: language-model forward throughput (tokens/s, full pass with logits) for the embedded
// pdlm-4l-256 and a GPT-2-small-shaped random model, on every backend this machine offers.
// Usage: npm run bench:lm [-- --backends wasm,cpu]   (last line of output: one JSON object)
import * as tf from '@tensorflow/tfjs-core';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { availableBackends, initBackend, type BackendName } from '../src/core/tensor/backend';
import { LM_CASES, measureForward, peakRssBytes } from './lm-cases';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { backends: { type: 'string' }, seconds: { type: 'string', default: '6' } },
  });
  const minSeconds = Number(values.seconds);
  const wanted = values.backends?.split(',') as BackendName[] | undefined;
  const backends = (await availableBackends()).filter((b) => !wanted || wanted.includes(b));
  const results = [];
  for (const backend of backends) {
    const info = await initBackend(backend);
    for (const c of LM_CASES) {
      const model = c.make();
      const [batch, seq] = c.shape(backend);
      const r = await measureForward(model, batch, seq, minSeconds);
      const row = {
        name: c.name,
        backend,
        path: 'dense',
        device: info.device,
        batch,
        seq,
        ...r,
        peak_mb: Math.round(peakRssBytes() / 2 ** 20),
        backend_mb: Math.round(tf.memory().numBytes / 2 ** 20),
      };
      process.stderr.write(
        `${row.name.padEnd(30)} ${backend.padEnd(7)} ${String(row.tokens_per_second).padStart(8)} tok/s  ${row.ms_per_forward} ms/pass [${batch}x${seq}]\n`,
      );
      results.push(row);
      model.dispose();
    }
  }
  const machine = {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model,
    mem_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), machine, results })}\n`);
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();

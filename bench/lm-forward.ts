// Benchmark: language-model forward throughput (tokens/s, full pass with logits) for the embedded
// pdlm-4l-256 and a GPT-2-small-shaped random model, on every backend this machine offers.
// Usage: npm run bench:lm [-- --backends wasm,cpu]   (last line of output: one JSON object)
import * as tf from '@tensorflow/tfjs-core';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { gpt2 } from '../src/core/lm/architectures/gpt2';
import { HfConfig } from '../src/core/lm/hf-config';
import { HookedTransformer } from '../src/core/lm/hooked-transformer';
import { loadModel } from '../src/core/lm/load-model';
import { randomParams } from '../src/core/lm/random-params';
import { availableBackends, initBackend, type BackendName } from '../src/core/tensor/backend';


const GPT2_SMALL = { model_type: 'gpt2', n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024, vocab_size: 50257, activation_function: 'gelu_new' };

export interface LmCase {
  name: string;
  make: () => HookedTransformer;
  /** [batch, seq] per backend: the slow cpu backend gets fewer tokens per pass. */
  shape: (b: BackendName) => [number, number];
}

export const LM_CASES: LmCase[] = [
  { name: 'lm_forward_pdlm', make: () => loadModel('pdlm-4l-256').model, shape: (b) => (b === 'cpu' ? [1, 256] : [8, 256]) },
  {
    name: 'lm_forward_gpt2_small_random',
    make: () => {
      const cfg = gpt2.parseConfig(new HfConfig(GPT2_SMALL, 'gpt2-small (random)'));
      return HookedTransformer.fromHostParams(cfg, randomParams(cfg, 0));
    },
    shape: (b) => (b === 'cpu' ? [1, 64] : [1, 256]),
  },
];

let peakRss = 0;
export const sampleRss = (): number => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

export async function measureForward(model: HookedTransformer, batch: number, seq: number, minSeconds: number) {
  const ids = new Int32Array(batch * seq).map((_, i) => (i * 7919 + 13) % model.cfg.dVocab);
  const pass = async () => {
    const { logits } = model.forward({ ids, batch, seq });
    await logits!.data();
    logits!.dispose();
    sampleRss();
  };
  await pass(); // warm-up: kernel compilation, mask tables
  let passes = 0;
  const t0 = performance.now();
  while (passes < 2 || performance.now() - t0 < minSeconds * 1000) {
    await pass();
    passes++;
  }
  const ms = (performance.now() - t0) / passes;
  return { ms_per_forward: Number(ms.toFixed(2)), tokens_per_second: Math.round((batch * seq) / (ms / 1000)) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { backends: { type: 'string' }, seconds: { type: 'string', default: '6' } } });
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
      const row = { name: c.name, backend, path: 'dense', device: info.device, batch, seq, ...r, peak_mb: Math.round(peakRss / 2 ** 20), backend_mb: Math.round(tf.memory().numBytes / 2 ** 20) };
      process.stderr.write(`${row.name.padEnd(30)} ${backend.padEnd(7)} ${String(row.tokens_per_second).padStart(8)} tok/s  ${row.ms_per_forward} ms/pass [${batch}x${seq}]\n`);
      results.push(row);
      model.dispose();
    }
  }
  const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, mem_gb: Math.round(totalmem() / 2 ** 30), node: process.version };
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), machine, results })}\n`);
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();

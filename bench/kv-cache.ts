// Benchmark: generation speed (new tokens/s, greedy) with the KV cache against repeated full forwards, for the
// embedded pdlm-4l-256 and a GPT-2-small-shaped random model, on each backend this machine offers.
// Usage: npm run bench:kv [-- --backends cpu --cases pdlm --prompt 64 --tokens 64]   (last line of output: one JSON object)
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { generateTokens } from '../src/core/lm/generate';
import { availableBackends, initBackend, type BackendName } from '../src/core/tensor/backend';
import { Mt19937 } from '../src/core/data/random/mt19937';
import { LM_CASES } from './lm-cases';

async function tokensPerSecond(run: () => Promise<unknown>, tokens: number): Promise<number> {
  await run(); // warm-up: kernels compiled, tables built
  const t0 = performance.now();
  await run();
  return Math.round((tokens / ((performance.now() - t0) / 1000)) * 10) / 10;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string' },
      cases: { type: 'string' },
      prompt: { type: 'string', default: '64' },
      tokens: { type: 'string', default: '64' },
    },
  });
  const promptLength = Number(values.prompt);
  const maxNewTokens = Number(values.tokens);
  const wanted = values.backends?.split(',') as BackendName[] | undefined;
  const backends = (await availableBackends()).filter((b) => !wanted || wanted.includes(b));
  const results = [];
  for (const backend of backends) {
    const info = await initBackend(backend);
    const cases = LM_CASES.filter((c) => !values.cases || values.cases.split(',').some((n) => c.name.includes(n)));
    for (const c of cases) {
      const model = c.make();
      const rng = new Mt19937(1);
      const prompt = Array.from({ length: promptLength }, () => rng.nextUint32() % model.cfg.dVocab);
      const gen = (kvCache: boolean) => () => generateTokens(model, prompt, { maxNewTokens, kvCache });
      const cached = await tokensPerSecond(gen(true), maxNewTokens);
      const uncached = await tokensPerSecond(gen(false), maxNewTokens);
      const same = (await gen(true)()).tokens.join() === (await gen(false)()).tokens.join();
      const row = {
        name: c.name.replace('lm_forward', 'generate'),
        backend,
        device: info.device,
        prompt_tokens: promptLength,
        new_tokens: maxNewTokens,
        cached_tokens_per_second: cached,
        uncached_tokens_per_second: uncached,
        speedup: Math.round((cached / uncached) * 100) / 100,
        identical_tokens: same,
      };
      process.stderr.write(
        `${row.name.padEnd(32)} ${backend.padEnd(7)} cached ${cached} tok/s, uncached ${uncached} tok/s (×${row.speedup})\n`,
      );
      results.push(row);
      model.dispose();
    }
  }
  const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model, mem_gb: Math.round(totalmem() / 2 ** 30) };
  process.stdout.write(
    `${JSON.stringify({ date: new Date().toISOString(), machine, node: process.version, results })}\n`,
  );
  process.exit(0);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();

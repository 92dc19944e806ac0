// Benchmark: the feature-analysis pass on the embedded default over ≥ 1M tokens, reporting tokens/s and peak RSS.
// Uses --dictionary DIR|NAME when given; otherwise first trains a short TopK SAE (k 32, 4096 latents) on
// blocks.2.hook_resid_post of pdlm-4l-256. Usage: npm run bench:analysis [-- --tokens N --dictionary D]. Last line: JSON.
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { analyzeIntoStore } from '../src/core/analysis/analyze-to-store';
import { TrainConfigSchema } from '../src/protocol/run-config';
import { studioHome } from '../src/core/home';
import { referenceTopKRecipe } from '../src/core/sae/recipes';
import { trainDictionary } from '../src/core/sae/trainer';
import { initBackend } from '../src/core/tensor/backend';

const { values } = parseArgs({
  options: { tokens: { type: 'string', default: '1000000' }, dictionary: { type: 'string' }, home: { type: 'string' } },
});
const home = studioHome(values.home ?? mkdtempSync(join(tmpdir(), 'sae-studio-analysis-')));
const backend = await initBackend();
let dictionary = values.dictionary;
if (!dictionary) {
  const cfg = TrainConfigSchema.parse(
    referenceTopKRecipe({ name: 'analysis-bench', total_training_tokens: 409_600, shuffle_windows: 128 }),
  );
  process.stderr.write('training a short TopK SAE to analyse…\n');
  dictionary = (await trainDictionary(cfg, { home, runId: 'analysis-bench' })).dictionaryDir!;
}
let retained = 0;
const r = await analyzeIntoStore(
  {
    dictionary,
    dataset: 'pdlm-corpus',
    split: 'train',
    tokens: Number(values.tokens),
    onProgress: (p) => (retained = Math.max(retained, p.retainedSamples)),
  },
  home,
);
process.stdout.write(
  `${JSON.stringify({
    benchmark: 'analysis_pdlm_topk_4096',
    backend: backend.name,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version },
    tokens: r.tokens,
    seconds: Number(r.seconds.toFixed(1)),
    tokens_per_second: r.tokensPerSecond,
    peak_rss_mb: r.peakRssMb,
    peak_retained_samples: retained,
  })}\n`,
);
process.exit(0);

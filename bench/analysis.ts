// Benchmark: the feature-analysis pass on the embedded default over ≥ 1M tokens, reporting tokens/s and peak RSS.
// Uses --dictionary DIR|NAME when given; otherwise first trains a short TopK SAE (k 32, 4096 latents) on
// blocks.2.hook_resid_post of pdlm-4l-256. With --spool, the analysis reads the rows of one LM pass over the same
// windows (as the demo's reads its training pass's) and, in the same run, the live analysis is timed too (--live 0
// skips it). Usage: npm run bench:analysis [-- --tokens N --dictionary D --spool]. Last line: JSON.
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
import { estimateAverageNorm, hookWidths, RowSpool, spoolKey } from '../src/core/activations';
import { loadModelAndWindows } from '../src/core/sae/train-data';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '1000000' },
    dictionary: { type: 'string' },
    home: { type: 'string' },
    spool: { type: 'boolean', default: false },
    live: { type: 'string', default: '1' },
  },
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
const analyse = (spool?: RowSpool) =>
  analyzeIntoStore(
    {
      dictionary: dictionary!,
      dataset: 'pdlm-corpus',
      split: 'train',
      tokens: Number(values.tokens),
      onProgress: (p) => (retained = Math.max(retained, p.retainedSamples)),
      ...(spool ? { spool } : {}),
    },
    home,
  );
const spool = values.spool ? await spoolOnePass(Number(values.tokens)) : undefined;
const r = await analyse(spool);
spool?.dispose();
const live = spool && values.live !== '0' ? await analyse() : null;
process.stdout.write(
  `${JSON.stringify({
    benchmark: spool ? 'analysis_pdlm_topk_4096_from_spool' : 'analysis_pdlm_topk_4096',
    ...(live
      ? {
          live_tokens_per_second: live.tokensPerSecond,
          speedup_vs_live: Number((r.tokensPerSecond / live.tokensPerSecond).toFixed(2)),
        }
      : {}),
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

/** One LM pass over the analysis's windows, its rows spooled as a training run's statistics pass spools them. */
async function spoolOnePass(tokens: number): Promise<RowSpool> {
  const hook = 'blocks.2.hook_resid_post';
  const { model, windows } = await loadModelAndWindows('pdlm-4l-256', 'pdlm-corpus', {
    ...{ home, split: 'train', contextSize: null },
  });
  const mask = { bosId: null, ignoreTokenIds: [] };
  const spool = new RowSpool(
    join(home.root, 'spool'),
    spoolKey(windows, mask, [hook]),
    await hookWidths(model, [hook]),
  );
  const t0 = performance.now();
  await estimateAverageNorm({ model, windows, hookPoints: [hook], mask, nTokens: tokens, modelBatchSize: 16, spool });
  process.stderr.write(
    `one LM pass over ${spool.rows} tokens spooled in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
  model.dispose();
  return spool;
}

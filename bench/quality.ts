// Benchmark: trains the exact recipe of tests/fixtures/reference/sae-quality.json (TopK SAE, k 32, 4096 latents, on
// blocks.2.hook_resid_post of pdlm-4l-256, one pass over the 21,663 training windows, batch 4096) and evaluates
// it on the 442 validation windows. The PyTorch reference reaches explained variance 0.877 and CE loss recovered
// 0.9865. Usage: npm run bench:quality [-- --backend wasm --tokens N --seed N --shuffle-windows N --norm-tokens N --bias-init-tokens N]. Last line: one JSON object.
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TrainConfigSchema } from '../src/protocol/run-config';
import { studioHome } from '../src/core/home';
import { loadDictionary } from '../src/core/sae/dictionary-store';
import { evaluateDictionary } from '../src/core/sae/evaluate';
import { PDLM_TRAIN_TOKENS, referenceTopKRecipe } from '../src/core/sae/recipes';
import { trainDictionary } from '../src/core/sae/trainer';
import { loadModelAndWindows } from '../src/core/sae/train-data';
import { Sae } from '../src/core/sae/variants/sae';
import { parseBackendRequest } from '../src/core/tensor/backend';

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    tokens: { type: 'string' },
    'shuffle-windows': { type: 'string' },
    seed: { type: 'string' },
    'norm-tokens': { type: 'string' },
    'bias-init-tokens': { type: 'string' },
    home: { type: 'string' },
  },
});
const home = studioHome(values.home ?? mkdtempSync(join(tmpdir(), 'sae-studio-quality-')));
const tokens = values.tokens ? Number(values.tokens) : PDLM_TRAIN_TOKENS;
const overrides = {
  ...(values['shuffle-windows'] ? { shuffle_windows: Number(values['shuffle-windows']) } : {}),
  ...(values.seed ? { seed: Number(values.seed) } : {}),
  ...(values['norm-tokens'] ? { norm_estimation_tokens: Number(values['norm-tokens']) } : {}),
};
const biasInitTokens = values['bias-init-tokens'] ? Number(values['bias-init-tokens']) : undefined;
const recipe = referenceTopKRecipe({
  name: 'quality',
  total_training_tokens: tokens,
  backend: parseBackendRequest(values.backend, '--backend'),
  ...overrides,
});
if (biasInitTokens) recipe.initializer = { ...recipe.initializer, bias_init_tokens: biasInitTokens };
const cfg = TrainConfigSchema.parse(recipe);

const t0 = performance.now();
let backend = '';
// Seconds per phase: model + windows (tokenizing), the LM pass with the statistics, the SAE steps, the evaluation.
const phases: Record<string, number> = {};
let tStarted = t0;
const result = await trainDictionary(cfg, {
  home,
  runId: 'quality',
  onEvent: (e) => {
    if (e.type === 'started') {
      backend = e.backend;
      tStarted = performance.now();
      phases.data = e.prep?.data_seconds ?? 0;
      phases.lm_stats = Number(((tStarted - t0) / 1000 - phases.data).toFixed(1));
    }
    if (e.type === 'log') process.stderr.write(`${e.message}\n`);
    if (e.type === 'metrics' && e.metrics.step % 100 === 0) {
      const m = e.metrics;
      process.stderr.write(
        `step ${m.step} l_rec ${m.l_rec.toFixed(3)} ev ${m.explained_variance.toFixed(4)} dead ${m.dead} ${m.tokens_per_second} tok/s\n`,
      );
    }
  },
});
const trainSeconds = (performance.now() - t0) / 1000;
phases.train_steps = Number(((performance.now() - tStarted) / 1000).toFixed(1));
const tEval = performance.now();

const stored = loadDictionary(result.dictionaryDir!, home);
const { model, windows } = await loadModelAndWindows(cfg.model, cfg.dataset, {
  home,
  split: 'validation',
  contextSize: null,
});
const sae = new Sae(stored.cfg, stored.params);
const ev = await evaluateDictionary(model, sae, windows);
phases.eval = Number(((performance.now() - tEval) / 1000).toFixed(1));
const seconds = (performance.now() - t0) / 1000;
const out = {
  benchmark: 'sae_quality_reference_topk',
  backend,
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model, node: process.version },
  shuffle_windows: cfg.shuffle_windows,
  seed: cfg.seed,
  norm_estimation_tokens: cfg.norm_estimation_tokens,
  bias_init_tokens: cfg.initializer.bias_init_tokens,
  dataset_average_activation_norm: stored.cfg.dataset_average_activation_norm,
  train_tokens: result.tokens,
  train_steps: result.steps,
  train_seconds: Number(trainSeconds.toFixed(1)),
  seconds: Number(seconds.toFixed(1)),
  phase_seconds: phases,
  tokens_per_second: Math.round(result.tokens / trainSeconds),
  explained_variance: ev.explained_variance,
  ce_loss_recovered: ev.ce_loss_recovered,
  l0: ev.l0,
  dead_fraction: ev.dead_fraction,
  ce_orig: ev.ce_orig,
  ce_with_dictionary: ev.ce_with_dictionary,
  ce_zero_ablation: ev.ce_zero_ablation,
  reference: { explained_variance: 0.877, ce_loss_recovered: 0.9865 },
  meets_reference: ev.explained_variance >= 0.877 && ev.ce_loss_recovered >= 0.9865,
};
sae.dispose();
model.dispose();
process.stderr.write(
  `phases: ${Object.entries(phases)
    .map(([k, v]) => `${k} ${v} s`)
    .join(', ')}; total ${out.seconds} s\n`,
);
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

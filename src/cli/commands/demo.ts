// `sae-studio demo`: the main job on the embedded default — a TopK SAE (k 32, 4096 latents) on
// blocks.2.hook_resid_post of pdlm-4l-256 over the embedded corpus — then its evaluation on the validation
// windows, and where everything was saved.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { TrainConfigSchema } from '../../protocol/run-config';
import { runDir, studioHome, type StudioHome } from '../../core/home';
import { evaluateDictionary } from '../../core/sae/evaluate';
import { loadDictionary } from '../../core/sae/dictionary-store';
import { PDLM_TRAIN_TOKENS, referenceTopKRecipe } from '../../core/sae/recipes';
import { trainDictionary } from '../../core/sae/trainer';
import { analyzeIntoStore } from '../../core/analysis/analyze-to-store';
import { loadModelAndWindows } from '../../core/sae/train-data';
import { Sae } from '../../core/sae/variants/sae';
import { parseBackendRequest } from '../../core/tensor/backend';
import { BACKEND_OPTION, type Command } from '../command';
import { progressBar } from '../progress';
import { runTrainingWithProgress } from '../train-progress';
import { positiveInt } from './lm-forward';
import { runKindRecipe } from './demo-recipe';
import { PhaseClock, demoTimes, phaseSummary } from './demo-phases';
import { KIND_RECIPES, type KindRecipeName } from '../../core/dictionary/recipes';
import { InputError } from '../../core/errors';
import { evaluationMetrics } from '../../core/sae/evaluate-run';
import { startCliRun } from '../record-run';
import { tee } from '../train-record';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Train and evaluate a TopK SAE on pdlm-4l-256 (blocks.2.hook_resid_post) over the embedded corpus.',
  usage: `demo [--tokens N] [--name NAME]   (default: one pass, ${PDLM_TRAIN_TOKENS.toLocaleString('en-US')} tokens)`,
  options: {
    tokens: {
      type: 'string',
      valueName: 'N',
      help: `training tokens (default ${PDLM_TRAIN_TOKENS}, one pass over the training windows)`,
    },
    name: { type: 'string', valueName: 'NAME', help: 'dictionary name (default demo)' },
    recipe: {
      type: 'string',
      valueName: 'NAME',
      help: `another dictionary kind's small example instead: ${KIND_RECIPES.join(', ')}`,
    },
    'analyze-tokens': {
      type: 'string',
      valueName: 'N',
      help: 'tokens of the feature analysis into the store (default 1000000)',
    },
    ...BACKEND_OPTION,
  },
  async run(values) {
    const home = studioHome();
    if (values.recipe !== undefined) return demoRecipe(values, home);
    const tokens = values.tokens === undefined ? PDLM_TRAIN_TOKENS : positiveInt(values.tokens as string, '--tokens');
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const cfg = TrainConfigSchema.parse(
      referenceTopKRecipe({
        total_training_tokens: tokens,
        name: (values.name as string | undefined) ?? 'demo',
        backend,
      }),
    );
    const runId = `${cfg.name}-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
    const t0 = performance.now();
    const clock = new PhaseClock();
    const rec = startCliRun(home, { id: runId, dictionaryName: cfg.name, config: cfg });
    // The run keeps its one LM pass's activations (keepSpool) for the analysis below; 'started' ends that pass.
    const result = await runTrainingWithProgress((onEvent, signal) =>
      trainDictionary(cfg, {
        ...{ home, runId, signal, keepSpool: true },
        onEvent: tee(rec, (e) => {
          if (e.type === 'started') clock.markSplit('data', e.prep?.data_seconds ?? 0, 'lm_stats');
          onEvent(e);
        }),
      }),
    );
    const spool = result.spool ?? undefined;
    process.once('exit', () => spool?.dispose()); // scratch: removed however the command ends
    if (!result.dictionaryDir) {
      rec.finish({ cancelled: true });
      process.stderr.write(`stopped; resume with: sae-studio train --resume ${runId}\n`);
      return;
    }
    const trainSeconds = (performance.now() - t0) / 1000;
    clock.mark('train_steps');

    const stored = loadDictionary(result.dictionaryDir, home);
    const { model, windows } = await loadModelAndWindows(cfg.model, cfg.dataset, {
      home,
      split: 'validation',
      contextSize: null,
      basis: stored.cfg.activation_basis,
    });
    const sae = new Sae(stored.cfg, stored.params);
    const bar = progressBar('evaluating');
    const ev = await evaluateDictionary(model, sae, windows, {
      onProgress: (phase, done, total) => bar.update(done, total, `windows (${phase})`),
    });
    bar.done();
    sae.dispose();
    model.dispose();
    clock.mark('eval');
    const dictionary = { name: cfg.name, path: result.dictionaryDir, modelName: cfg.model, config: { ...stored.cfg } };
    rec.finish({ dictionary, evaluation: evaluationMetrics(ev) });

    const analyzeTokens =
      values['analyze-tokens'] === undefined
        ? 1_000_000
        : positiveInt(values['analyze-tokens'] as string, '--analyze-tokens');
    const abar = progressBar('analysing features');
    const analysis = await analyzeIntoStore(
      {
        dictionary: result.dictionaryDir,
        dataset: cfg.dataset,
        split: 'train',
        tokens: analyzeTokens,
        onProgress: (p) => p.phase === 'activations' && abar.update(p.done, p.total, 'tokens'),
        ...(spool ? { spool } : {}),
      },
      home,
    );
    abar.done();
    spool?.dispose();
    clock.mark('analysis');
    rec.log(`feature analysis of ${analysis.tokens} tokens saved to the store`);

    const rows: [string, string][] = [
      ['explained variance', ev.explained_variance.toFixed(4)],
      ['L0', ev.l0.toFixed(2)],
      ['MSE', ev.mse.toFixed(4)],
      ['dead fraction', ev.dead_fraction.toFixed(4)],
      ['CE original', ev.ce_orig.toFixed(4)],
      ['CE with SAE', ev.ce_with_dictionary.toFixed(4)],
      ['CE zero-ablation', ev.ce_zero_ablation.toFixed(4)],
      ['CE loss recovered', ev.ce_loss_recovered.toFixed(4)],
    ];
    const out = [
      '',
      `TopK SAE (k 32, 4096 latents) on blocks.2.hook_resid_post of pdlm-4l-256`,
      `trained on ${result.tokens.toLocaleString('en-US')} tokens in ${trainSeconds.toFixed(1)} s (${Math.round(result.tokens / result.seconds).toLocaleString('en-US')} tokens/s)`,
      `evaluated on ${ev.tokens.toLocaleString('en-US')} validation tokens:`,
      ...rows.map(([k, v]) => `  ${k.padEnd(20)} ${v}`),
      '',
      `analysed ${analysis.tokens.toLocaleString('en-US')} tokens into the store (${analysis.tokensPerSecond.toLocaleString('en-US')} tokens/s):`,
      `  sae-studio features --dictionary ${analysis.dictionaryName} --sort frequency`,
      `  sae-studio feature ${analysis.dictionaryName} 0`,
      '',
      `dictionary: ${result.dictionaryDir}`,
      `store:      ${join(home.root, 'studio.db')}`,
      `run:        ${runDir(home, runId)}`,
      '',
      phaseSummary(clock),
      '',
    ];
    process.stderr.write(out.join('\n'));
    process.stdout.write(
      `${JSON.stringify({ dictionary: result.dictionaryDir, run_id: runId, train_seconds: Number(trainSeconds.toFixed(1)), train_tokens: result.tokens, ...ev, ...demoTimes(clock, analysis.tokens) })}\n`,
    );
  },
};

/** `demo --recipe NAME`: a small example of another dictionary kind (src/core/dictionary/recipes.ts). */
async function demoRecipe(values: Record<string, string | boolean | undefined>, home: StudioHome): Promise<void> {
  const recipe = String(values.recipe);
  if (!(KIND_RECIPES as readonly string[]).includes(recipe))
    throw new InputError(`--recipe '${recipe}': expected one of ${KIND_RECIPES.join(', ')}`);
  const tokens = values.tokens === undefined ? undefined : positiveInt(values.tokens as string, '--tokens');
  const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
  const r = await runKindRecipe(recipe as KindRecipeName, home, { tokens, backend });
  const e = r.evaluation as Record<string, unknown>;
  const num = (k: string) => (typeof e[k] === 'number' ? (e[k] as number).toFixed(4) : '—');
  process.stderr.write(
    [
      '',
      `${r.description}: trained on ${r.train_tokens.toLocaleString('en-US')} tokens in ${r.train_seconds.toFixed(1)} s`,
      `  explained variance ${num('explained_variance')}, L0 ${num('l0')}, CE loss recovered ${num('ce_loss_recovered')}`,
      ...r.dictionaries.map((d) => `  dictionary: ${d}`),
      '',
    ].join('\n'),
  );
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

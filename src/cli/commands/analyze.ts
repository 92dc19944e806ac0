// `sae-studio analyze` and `sae-studio infer`: the feature-analysis pass into the local store, and which features
// fire on each token of a text.
import { analyzeIntoStore } from '../../core/analysis/analyze-to-store';
import { featuresOnText } from '../../core/analysis';
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import { loadModel } from '../../core/lm/load-model';
import { ModelTokenizer } from '../../core/lm/tokenizer';
import { loadDictionary, recordedModel } from '../../core/sae/dictionary-store';
import { Sae } from '../../core/sae/variants/sae';
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import { parseBasisOption } from '../../core/lm/activation-basis';
import { BASIS_OPTION, basisForCli } from '../basis-option';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { progressBar } from '../progress';
import { newCliRunId, recordCliRun, startCliRun } from '../record-run';
import { basename } from 'node:path';
import { positiveInt } from './lm-forward';

function splitOption(v: unknown): 'train' | 'validation' | 'all' | null {
  if (v === undefined) return null;
  if (v === 'train' || v === 'validation' || v === 'all') return v;
  throw new InputError(`--split is '${String(v)}', expected train, validation or all`);
}

export const analyzeCommand: Command = {
  name: 'analyze',
  summary:
    'Analyse every feature of a dictionary over a dataset (statistics, samples, logits, neighbours) into the store.',
  usage:
    'analyze --dictionary DIR|NAME [--dataset SPEC] [--split train|validation|all] [--tokens N] [--model DIR|NAME] [--name NAME] [--basis NAME]',
  options: {
    dictionary: {
      type: 'string',
      valueName: 'DIR|NAME',
      help: 'dictionary folder or name under $SAE_STUDIO_HOME/dictionaries',
    },
    dataset: {
      type: 'string',
      valueName: 'SPEC',
      help: 'folder of .txt, .jsonl, .parquet, or pdlm-corpus (default pdlm-corpus)',
    },
    split: {
      type: 'string',
      valueName: 'NAME',
      help: "train, validation or all (default: 'train' where the dataset has a reference split)",
    },
    tokens: { type: 'string', valueName: 'N', help: 'tokens to analyse (default 1000000)' },
    model: { type: 'string', valueName: 'DIR|NAME', help: 'the model (default: the one recorded with the dictionary)' },
    name: { type: 'string', valueName: 'NAME', help: "analysis name (default 'default'; replaces an earlier one)" },
    ...BASIS_OPTION,
    ...BACKEND_OPTION,
  },
  async run(values) {
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const dictionary = requireOption(this, values, 'dictionary');
    const tokens = values.tokens === undefined ? 1_000_000 : positiveInt(values.tokens as string, '--tokens');
    const split = splitOption(values.split);
    const basis = parseBasisOption(values.basis);
    await initBackend(backend);
    const bar = progressBar('analysing');
    const home = studioHome();
    const dataset = (values.dataset as string | undefined) ?? 'pdlm-corpus';
    const config = { job: 'analyze', dictionary, dataset, split, tokens, name: values.name ?? 'default' };
    const rec = startCliRun(home, { id: newCliRunId('analyze'), dictionaryName: basename(dictionary), config });
    const r = await recordCliRun(
      rec,
      () =>
        analyzeIntoStore(
          {
            dictionary,
            dataset,
            split,
            tokens,
            model: values.model as string | undefined,
            name: values.name as string | undefined,
            basis,
            // Recorded when it ends (or fails other than for bad input): the store stays free for the analysis's
            // own save, which a full disk must find as it was (tests/kill/disk-full.test.ts).
            onProgress: (p) => p.phase === 'activations' && bar.update(p.done, p.total, 'tokens'),
            onLog: (m) => {
              rec.log(m);
              process.stderr.write(`${m}\n`);
            },
          },
          home,
        ),
      (done) => {
        rec.log(
          `feature analysis of ${done.tokens} tokens saved to the store (analysis '${done.saved.name ?? 'default'}')`,
        );
        return {};
      },
    );
    bar.done();
    process.stdout.write(
      `${JSON.stringify({ dictionary: r.dictionaryName, analysis: r.saved.name ?? 'default', tokens: r.tokens, seconds: Number(r.seconds.toFixed(1)), tokens_per_second: r.tokensPerSecond, peak_rss_mb: r.peakRssMb })}\n`,
    );
  },
};

export const inferCommand: Command = {
  name: 'infer',
  summary: 'Which features of a dictionary fire on each token of a text.',
  usage: 'infer NAME --text STR [--top N] [--json] [--basis NAME]',
  positionals: 1,
  options: {
    text: { type: 'string', valueName: 'STR', help: 'the text' },
    top: { type: 'string', valueName: 'N', help: 'features shown per token (default 5)' },
    json: { type: 'boolean', help: 'print JSON' },
    ...BASIS_OPTION,
    ...BACKEND_OPTION,
  },
  async run(values, positionals) {
    const name = positionals[0];
    if (!name) throw new InputError("expected a dictionary name (see 'sae-studio infer --help')");
    const text = requireOption(this, values, 'text');
    const home = studioHome();
    const stored = loadDictionary(name, home);
    const modelRef = recordedModel(stored) ?? 'pdlm-4l-256';
    const basis = basisForCli(stored, values);
    await initBackend(parseBackendRequest(values.backend as string | undefined, '--backend'));
    const { model, location } = loadModel(modelRef, { basis });
    const sae = new Sae(stored.cfg, stored.params);
    try {
      const top = values.top === undefined ? 5 : positiveInt(values.top as string, '--top');
      const rows = await featuresOnText(model, sae, ModelTokenizer.load(location.dir), text, { topFeatures: top });
      if (values.json) {
        process.stdout.write(
          `${JSON.stringify(rows.map((r) => ({ position: r.position, token_id: r.tokenId, token: r.token, features: r.features })))}\n`,
        );
        return;
      }
      const lines = rows.map(
        (r) =>
          `${String(r.position).padStart(4)} ${JSON.stringify(r.token).padEnd(16)} ${r.features.map((f) => `${f.index}:${f.activation.toFixed(2)}`).join('  ')}`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    } finally {
      sae.dispose();
      model.dispose();
    }
  },
};

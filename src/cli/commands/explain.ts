// `sae-studio explain`: auto-interpretation of a dictionary's analysed features (lm-saes's explanation, detection
// and fuzzing), by a local model folder or an OpenAI-compatible endpoint, stored as each feature's interpretation.
// The endpoint's key comes from SAE_STUDIO_OPENAI_API_KEY or is asked for on the terminal; it is never printed
// or stored.
import { createInterface } from 'node:readline';
import {
  autoInterpConfig,
  explainFeatures,
  loadPromptTemplates,
  OPENAI_KEY_ENV,
  openExplainer,
  parseExplainer,
  parseFeatureSelection,
  parseScorers,
} from '../../core/autointerp';
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import { getDictionary, openStore } from '../../core/store';
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { progressBar } from '../progress';
import { positiveInt } from './lm-forward';

/** Reads the key from the terminal without echoing it; null when stdin is not a terminal or the answer is empty. */
async function askKey(): Promise<string | null> {
  if (!process.stdin.isTTY) return null;
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
  process.stderr.write(`API key (or set ${OPENAI_KEY_ENV}; empty for none): `);
  out._writeToOutput = () => undefined;
  const key = await new Promise<string>((resolve) => rl.question('', resolve));
  rl.close();
  process.stderr.write('\n');
  return key.trim() === '' ? null : key.trim();
}

function numberOption(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InputError(`${what} is '${String(value)}', expected a number`);
  return n;
}

export const explainCommand: Command = {
  name: 'explain',
  summary: "Explain and score a dictionary's features (lm-saes's auto-interpretation) into the store.",
  usage:
    'explain --dictionary NAME --explainer local:MODEL_DIR|openai:BASE_URL [--model M] [--features 0-99|all] [--scorers detection,fuzzing]',
  options: {
    dictionary: { type: 'string', valueName: 'NAME', help: 'dictionary name in the store' },
    features: { type: 'string', valueName: 'LIST', help: "indices and ranges (0-99,120) or 'all' (default all)" },
    explainer: {
      type: 'string',
      valueName: 'SPEC',
      help: `local:MODEL_DIR (a model folder or bundled name) or openai:BASE_URL (key from ${OPENAI_KEY_ENV})`,
    },
    model: { type: 'string', valueName: 'ID', help: "the endpoint's model id (with openai:)" },
    scorers: { type: 'string', valueName: 'LIST', help: 'detection,fuzzing (default both; empty for none)' },
    'max-tokens': { type: 'string', valueName: 'N', help: 'tokens per answer (default 512)' },
    temperature: { type: 'string', valueName: 'T', help: 'sampling temperature (default 0: greedy)' },
    analysis: { type: 'string', valueName: 'NAME', help: "the analysis whose samples are shown (default 'default')" },
    overwrite: { type: 'boolean', help: 'replace interpretations already stored' },
    seed: { type: 'string', valueName: 'N', help: 'seed of the example selection (default 42)' },
    ...BACKEND_OPTION,
  },
  async run(values) {
    const home = studioHome();
    const dictionary = requireOption(this, values, 'dictionary');
    const spec = parseExplainer(requireOption(this, values, 'explainer'), values.model as string | undefined);
    const config = autoInterpConfig({
      ...(values.scorers !== undefined ? { scorers: parseScorers(values.scorers as string, '--scorers') } : {}),
      ...(values['max-tokens'] !== undefined
        ? { maxTokens: positiveInt(values['max-tokens'] as string, '--max-tokens') }
        : {}),
      ...(values.temperature !== undefined ? { temperature: numberOption(values.temperature, '--temperature') } : {}),
      ...(values.seed !== undefined ? { seed: numberOption(values.seed, '--seed') } : {}),
      overwriteExisting: Boolean(values.overwrite),
    });
    const templates = loadPromptTemplates(home);
    const store = openStore({ dir: home.root });
    try {
      const dict = getDictionary(store, dictionary);
      const dSae = Number((dict.config as { d_sae?: unknown }).d_sae);
      const features = parseFeatureSelection((values.features as string | undefined) ?? 'all', dSae);
      let apiKey: string | null = null;
      if (spec.backend === 'openai') apiKey = process.env[OPENAI_KEY_ENV] || (await askKey());
      else await initBackend(parseBackendRequest(values.backend as string | undefined, '--backend'));
      const explainer = openExplainer(spec, apiKey, config.seed);
      const bar = progressBar('explaining');
      try {
        const summary = await explainFeatures(store, {
          dictionary,
          features,
          explainer,
          config,
          templates,
          analysis: values.analysis as string | undefined,
          onProgress: (p) => bar.update(p.done, p.total, 'features'),
          onLog: (m) => process.stderr.write(`${m}\n`),
        });
        bar.done();
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      } finally {
        explainer.dispose();
      }
    } finally {
      store.close();
    }
  },
};

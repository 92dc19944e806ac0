// `sae-studio generate`: writes a model's activations over a dataset to an on-disk cache in lm-saes's layout
// (<out>/<hook>/chunk-NNNNNNNN.safetensors + .meta.json); resumable — complete chunks are skipped.
import { existsSync, statSync } from 'node:fs';
import { generateActivationCache } from '../../core/activations';
import { studioHome } from '../../core/home';
import { dictionaryHooks, loadModelAndWindows, resolveSplit } from '../../core/sae/train-data';
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { progressBar } from '../progress';
import { newCliRunId, recordCliRun, startCliRun } from '../record-run';
import { positiveInt } from './lm-forward';
import { InputError } from '../../core/errors';

export const generateCommand: Command = {
  name: 'generate',
  summary: "Cache a model's activations at hook points over a dataset (lm-saes layout, resumable).",
  usage:
    'generate --model DIR|NAME --dataset SPEC --hooks h1[,h2] --out DIR [--split train|validation|all] [--max-windows N]',
  options: {
    model: { type: 'string', valueName: 'DIR|NAME', help: 'model folder or bundled model name' },
    dataset: {
      type: 'string',
      valueName: 'SPEC',
      help: 'folder of .txt, .jsonl, .parquet, or an embedded corpus (pdlm-corpus)',
    },
    hooks: { type: 'string', valueName: 'LIST', help: 'comma-separated hook names, e.g. blocks.2.hook_resid_post' },
    out: { type: 'string', valueName: 'DIR', help: 'cache folder' },
    split: {
      type: 'string',
      valueName: 'NAME',
      help: "train, validation or all (default: 'train' where the dataset has a reference split)",
    },
    'context-size': { type: 'string', valueName: 'N', help: "tokens per window (default: the model's context)" },
    'chunk-size': { type: 'string', valueName: 'N', help: 'windows per chunk file (default 256)' },
    'model-batch-size': { type: 'string', valueName: 'N', help: 'windows per forward pass (default 16)' },
    'max-windows': { type: 'string', valueName: 'N', help: 'stop after this many windows' },
    ...BACKEND_OPTION,
  },
  async run(values) {
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const home = studioHome();
    const dataset = requireOption(this, values, 'dataset');
    const splitArg = values.split as string | undefined;
    if (splitArg !== undefined && !['train', 'validation', 'all'].includes(splitArg))
      throw new InputError(`--split is '${splitArg}', expected train, validation or all`);
    const hooks = requireOption(this, values, 'hooks')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const out = requireOption(this, values, 'out');
    const modelRef = requireOption(this, values, 'model');
    const int = (name: string, fallback: number) =>
      values[name] === undefined ? fallback : positiveInt(values[name] as string, `--${name}`);
    // The flags and the output folder are checked before the model runs over the dataset (minutes on a corpus).
    for (const name of ['max-windows', 'chunk-size', 'model-batch-size', 'context-size']) int(name, 1);
    if (existsSync(out) && !statSync(out).isDirectory())
      throw new InputError(`--out '${out}': is a file, expected the cache folder to write (or resume)`);
    await initBackend(backend);
    const data = await loadModelAndWindows(modelRef, dataset, {
      home,
      split: resolveSplit(dataset, (splitArg as 'train' | 'validation' | 'all' | undefined) ?? null),
      contextSize: values['context-size'] === undefined ? null : int('context-size', 0),
    });
    try {
      for (const h of hooks) dictionaryHooks(data.model.cfg, h, h);
      const maxWindows = int('max-windows', data.windows.batch);
      const windows = {
        ...data.windows,
        batch: Math.min(maxWindows, data.windows.batch),
        ids: data.windows.ids.subarray(0, Math.min(maxWindows, data.windows.batch) * data.windows.seq),
      };
      const bar = progressBar('generating');
      const config = { job: 'generate', model: modelRef, dataset, hooks, out, windows: windows.batch };
      const rec = startCliRun(home, { id: newCliRunId('generate'), dictionaryName: '', config });
      const result = await recordCliRun(
        rec,
        () =>
          generateActivationCache({
            model: data.model,
            windows,
            hookPoints: hooks,
            outDir: out,
            chunkSize: int('chunk-size', 256),
            modelBatchSize: int('model-batch-size', 16),
            modelName: modelRef,
            datasetName: dataset,
            onProgress: (p) => {
              rec.markStarted();
              bar.update(p.windowsDone, windows.batch, 'windows');
            },
          }),
        () => {
          rec.log(`activations of ${windows.batch} windows at ${hooks.join(', ')} cached in ${out}`);
          return {};
        },
      );
      bar.done();
      process.stdout.write(`${JSON.stringify({ out, hooks, windows: windows.batch, ...result })}\n`);
    } finally {
      data.model.dispose();
    }
  },
};

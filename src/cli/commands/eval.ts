// `sae-studio eval`: evaluates a dictionary on token windows (EV, L0, MSE, dead fraction, CE loss recovered).
import { evaluateDictionary } from '../../core/sae/evaluate';
import { loadDictionary, recordedModel } from '../../core/sae/dictionary-store';
import { Sae } from '../../core/sae/variants/sae';
import { loadModel } from '../../core/lm/load-model';
import { readTokenFile } from '../../core/lm/token-file';
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { progressBar } from '../progress';
import { positiveInt } from './lm-forward';

export const evalCommand: Command = {
  name: 'eval',
  summary:
    'Evaluate a dictionary on token windows: explained variance, L0, MSE, dead fraction, CE loss recovered (JSON).',
  usage: 'eval --dictionary DIR|NAME --model DIR|NAME --windows FILE [--batch-size N]',
  options: {
    dictionary: {
      type: 'string',
      valueName: 'DIR|NAME',
      help: 'dictionary folder (lm-saes or SAELens layout) or name under $SAE_STUDIO_HOME/dictionaries',
    },
    model: {
      type: 'string',
      valueName: 'DIR|NAME',
      help: 'the model the dictionary reads (default: the one recorded with it)',
    },
    windows: {
      type: 'string',
      valueName: 'FILE',
      help: 'token windows [n, seq] (safetensors, any integer dtype, or JSON)',
    },
    'batch-size': { type: 'string', valueName: 'N', help: 'windows per forward pass' },
    ...BACKEND_OPTION,
  },
  async run(values) {
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const home = studioHome();
    const stored = loadDictionary(requireOption(this, values, 'dictionary'), home);
    const windows = readTokenFile(requireOption(this, values, 'windows'));
    const modelRef = (values.model as string | undefined) ?? recordedModel(stored);
    if (!modelRef) throw new InputError(`missing --model (the dictionary at ${stored.dir} does not record its model)`);
    await initBackend(backend);
    const { model } = loadModel(modelRef);
    if (model.cfg.dModel !== stored.cfg.d_model) {
      throw new InputError(
        `${stored.dir}: d_model ${stored.cfg.d_model} does not match the model's d_model ${model.cfg.dModel}`,
      );
    }
    const sae = new Sae(stored.cfg, stored.params);
    try {
      const bar = progressBar('evaluating');
      const batchSize =
        values['batch-size'] === undefined ? undefined : positiveInt(values['batch-size'] as string, '--batch-size');
      const result = await evaluateDictionary(model, sae, windows, {
        batchSize,
        onProgress: (phase, done, total) => bar.update(done, total, `windows (${phase})`),
      });
      bar.done();
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      sae.dispose();
      model.dispose();
    }
  },
};

// `sae-studio lm eval`: mean next-token cross-entropy of a model over token windows.
import { crossEntropy } from '../../core/lm/cross-entropy';
import { loadModel } from '../../core/lm/load-model';
import { readTokenFile } from '../../core/lm/token-file';
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { positiveInt } from './lm-forward';
import { progressBar } from '../progress';

export const lmEvalCommand: Command = {
  name: 'lm eval',
  summary: 'Mean next-token cross-entropy (nats/token) of a model over token windows; prints JSON.',
  usage: 'lm eval --model DIR|NAME --windows FILE [--tensor NAME] [--batch-size N]',
  options: {
    model: { type: 'string', valueName: 'DIR|NAME', help: 'model folder, or a bundled model name (pdlm-4l-256)' },
    windows: {
      type: 'string',
      valueName: 'FILE',
      help: 'safetensors with an integer [n, seq] tensor (any integer dtype), or JSON',
    },
    tensor: {
      type: 'string',
      valueName: 'NAME',
      help: 'which tensor of the file holds the windows (default: the only integer one)',
    },
    'batch-size': { type: 'string', valueName: 'N', help: 'windows per forward pass (default: fits ~64 MB of logits)' },
    ...BACKEND_OPTION,
  },
  async run(values) {
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const modelRef = requireOption(this, values, 'model');
    const windows = readTokenFile(requireOption(this, values, 'windows'), values.tensor as string | undefined);
    const info = await initBackend(backend);
    const { model } = loadModel(modelRef);
    try {
      const bar = progressBar(`cross-entropy on ${info.name}`);
      const batchSize =
        values['batch-size'] === undefined ? undefined : positiveInt(values['batch-size'] as string, '--batch-size');
      const result = await crossEntropy(model, windows, {
        batchSize,
        onProgress: (done, total) => bar.update(done, total, 'windows'),
      });
      bar.done();
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      model.dispose();
    }
  },
};

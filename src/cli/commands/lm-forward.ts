// `sae-studio lm forward`: logits and hook activations of a model on token ids, written to safetensors.
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import { forwardToFile } from '../../core/lm/forward-to-file';
import { loadModel } from '../../core/lm/load-model';
import { readTokenFile } from '../../core/lm/token-file';
import { InputError } from '../../core/errors';
import { BACKEND_OPTION, requireOption, type Command } from '../command';

export const lmForwardCommand: Command = {
  name: 'lm forward',
  summary: 'Run a model on token ids and save the logits and the activations at the given hooks (F32 safetensors).',
  usage: 'lm forward --model DIR|NAME --ids FILE --out OUT.safetensors [--hooks h1,h2] [--no-logits] [--list-hooks]',
  options: {
    model: { type: 'string', valueName: 'DIR|NAME', help: 'model folder, or a bundled model name (pdlm-4l-256)' },
    ids: {
      type: 'string',
      valueName: 'FILE',
      help: 'safetensors with an integer [batch, seq] tensor (input_ids), or a JSON array of arrays',
    },
    hooks: {
      type: 'string',
      valueName: 'LIST',
      help: 'comma-separated hook names, e.g. blocks.0.hook_resid_post,ln_final.hook_normalized',
    },
    out: { type: 'string', valueName: 'FILE', help: 'output safetensors file (written atomically)' },
    'no-logits': { type: 'boolean', help: 'skip the logits and stop after the deepest hook' },
    'batch-size': { type: 'string', valueName: 'N', help: 'sequences per forward pass (default: all)' },
    'list-hooks': { type: 'boolean', help: "print the model's hook names and exit" },
    ...BACKEND_OPTION,
  },
  async run(values) {
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const modelRef = requireOption(this, values, 'model');
    await initBackend(backend);
    const { model } = loadModel(modelRef);
    try {
      if (values['list-hooks']) {
        process.stdout.write(`${JSON.stringify(model.hookNames, null, 1)}\n`);
        return;
      }
      const input = readTokenFile(requireOption(this, values, 'ids'));
      const out = requireOption(this, values, 'out');
      const hooks =
        typeof values.hooks === 'string'
          ? values.hooks
              .split(',')
              .map((h) => h.trim())
              .filter(Boolean)
          : [];
      if (values['no-logits'] && hooks.length === 0)
        throw new InputError('--no-logits needs at least one hook in --hooks');
      const batchSize =
        values['batch-size'] === undefined ? undefined : positiveInt(values['batch-size'] as string, '--batch-size');
      const shapes = await forwardToFile(model, input, out, { hooks, logits: !values['no-logits'], batchSize });
      process.stdout.write(`${JSON.stringify({ out, tensors: shapes })}\n`);
    } finally {
      model.dispose();
    }
  },
};

export function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InputError(`${what} is '${v}', expected a positive integer`);
  return n;
}

// `sae-studio dictionary forward`: applies a dictionary of any kind to a model's own activations on token ids and
// writes float32 `feature_acts` and `reconstruction` (lm-saes's axis orders: [B, S, F] / [B, S, d] for sae, lorsa
// and molt; [B, S, H, F] / [B, S, H, d] for a crosscoder's heads; [B, S, L, F] / [B, S, L, d] for a CLT's layers).
import { resolve } from 'node:path';
import { applyDictionary } from '../../core/dictionary/apply';
import { loadAnyDictionary } from '../../core/dictionary/registry';
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import { loadModel } from '../../core/lm/load-model';
import { readTokenFile } from '../../core/lm/token-file';
import { resolveDictionaryDir } from '../../core/sae/dictionary-store';
import { writeFileAtomic } from '../../core/util/atomic-file';
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import { serializeSafetensors } from '../../core/tensor/safetensors';
import { BASIS_OPTION, basisForCli } from '../basis-option';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { positiveInt } from './lm-forward';

export const dictionaryForwardCommand: Command = {
  name: 'dictionary forward',
  summary:
    "Apply a dictionary (any kind) to a model's activations on token ids; write feature_acts and reconstruction.",
  usage:
    'dictionary forward --dictionary DIR|NAME --model DIR|NAME --ids FILE --out OUT.safetensors [--batch-size N] [--basis NAME]',
  options: {
    dictionary: {
      type: 'string',
      valueName: 'DIR|NAME',
      help: 'dictionary folder (lm-saes layout; SAELens for sae) or name',
    },
    model: { type: 'string', valueName: 'DIR|NAME', help: 'the model (default: the one recorded with the dictionary)' },
    ids: { type: 'string', valueName: 'FILE', help: 'token ids [batch, seq] (safetensors integer tensor, or JSON)' },
    out: { type: 'string', valueName: 'FILE', help: 'output safetensors (written atomically)' },
    'batch-size': { type: 'string', valueName: 'N', help: 'sequences per forward pass (default: all)' },
    ...BASIS_OPTION,
    ...BACKEND_OPTION,
  },
  async run(values) {
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const dir = resolveDictionaryDir(requireOption(this, values, 'dictionary'), studioHome());
    const dict = loadAnyDictionary(dir);
    const ids = readTokenFile(requireOption(this, values, 'ids'));
    const out = resolve(requireOption(this, values, 'out'));
    const recorded = typeof dict.lmConfig?.model_name === 'string' ? dict.lmConfig.model_name : dict.cfg.model_name;
    const basis = basisForCli(dict, values);
    const modelRef = (values.model as string | undefined) ?? recorded;
    if (!modelRef) throw new InputError(`missing --model (the dictionary at ${dir} does not record its model)`);
    const batchSize =
      values['batch-size'] === undefined ? undefined : positiveInt(values['batch-size'] as string, '--batch-size');
    await initBackend(backend);
    const { model } = loadModel(modelRef, { basis });
    try {
      if (model.cfg.dModel !== dict.cfg.d_model)
        throw new InputError(
          `${dir}: d_model ${dict.cfg.d_model} does not match the model's d_model ${model.cfg.dModel}`,
        );
      const r = await applyDictionary(model, dict.kind, dict.cfg, dict.params, ids, { batchSize });
      const lead = [ids.batch, ids.seq];
      const fShape = r.axes === 1 ? [...lead, dict.cfg.d_sae] : [...lead, r.axes, dict.cfg.d_sae];
      const yShape = r.nOut === 1 ? [...lead, dict.cfg.d_model] : [...lead, r.nOut, dict.cfg.d_model];
      const bytes = serializeSafetensors(
        {
          feature_acts: { dtype: 'F32', shape: fShape, data: r.featureActs },
          reconstruction: { dtype: 'F32', shape: yShape, data: r.recon },
        },
        { producer: 'sae-studio dictionary forward', sae_type: dict.kind.saeType },
      );
      writeFileAtomic(out, bytes);
      process.stdout.write(
        `${JSON.stringify({ out, sae_type: dict.kind.saeType, feature_acts: fShape, reconstruction: yShape })}\n`,
      );
    } finally {
      model.dispose();
    }
  },
};

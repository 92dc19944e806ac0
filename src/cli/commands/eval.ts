// `sae-studio eval`: evaluates a dictionary of any kind on token windows, in the activation basis it was trained in.
// An `sae` prints evaluateDictionary's result (EV, L0, MSE, dead fraction, CE loss recovered); every other kind
// prints evaluateKind's (per-axis EV and L0, the kind's metrics, CE loss recovered with its splice mode).
import { evaluateKind } from '../../core/dictionary/evaluate-kind';
import { loadAnyDictionary } from '../../core/dictionary/registry';
import { evaluateDictionary } from '../../core/sae/evaluate';
import { resolveDictionaryDir } from '../../core/sae/dictionary-store';
import { Sae } from '../../core/sae/variants/sae';
import { loadModel } from '../../core/lm/load-model';
import { readTokenFile } from '../../core/lm/token-file';
import { InputError } from '../../core/errors';
import { studioHome } from '../../core/home';
import { initBackend, parseBackendRequest } from '../../core/tensor/backend';
import type { SaeConfig } from '../../protocol/dictionary-config';
import { BASIS_OPTION, basisForCli } from '../basis-option';
import { BACKEND_OPTION, requireOption, type Command } from '../command';
import { progressBar } from '../progress';
import { recordDictionaryEvaluation } from '../record-run';
import { evaluationMetrics } from '../../core/sae/evaluate-run';
import { kindEvaluationMetrics } from '../../engine/train-kind-job';
import { basename } from 'node:path';
import { positiveInt } from './lm-forward';

export const evalCommand: Command = {
  name: 'eval',
  summary:
    'Evaluate a dictionary (any kind) on token windows: explained variance, L0, MSE, dead fraction, CE loss recovered (JSON).',
  usage: 'eval --dictionary DIR|NAME --model DIR|NAME --windows FILE [--batch-size N] [--basis NAME]',
  options: {
    dictionary: {
      type: 'string',
      valueName: 'DIR|NAME',
      help: 'dictionary folder (lm-saes layout, any kind; SAELens for sae) or name under $SAE_STUDIO_HOME/dictionaries',
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
    ...BASIS_OPTION,
    ...BACKEND_OPTION,
  },
  async run(values) {
    const backend = parseBackendRequest(values.backend as string | undefined, '--backend');
    const dict = loadAnyDictionary(resolveDictionaryDir(requireOption(this, values, 'dictionary'), studioHome()));
    const windows = readTokenFile(requireOption(this, values, 'windows'));
    const recorded = typeof dict.lmConfig?.model_name === 'string' ? dict.lmConfig.model_name : dict.cfg.model_name;
    const basis = basisForCli(dict, values);
    const modelRef = (values.model as string | undefined) ?? recorded;
    if (!modelRef) throw new InputError(`missing --model (the dictionary at ${dict.dir} does not record its model)`);
    const batchSize =
      values['batch-size'] === undefined ? undefined : positiveInt(values['batch-size'] as string, '--batch-size');
    await initBackend(backend);
    const { model } = loadModel(modelRef, { basis });
    try {
      if (model.cfg.dModel !== dict.cfg.d_model)
        throw new InputError(
          `${dict.dir}: d_model ${dict.cfg.d_model} does not match the model's d_model ${model.cfg.dModel}`,
        );
      const bar = progressBar('evaluating');
      let result: object;
      let metrics: Record<string, number>;
      if (dict.kind.saeType === 'sae') {
        const sae = new Sae(dict.cfg as unknown as SaeConfig, dict.params);
        try {
          const saeResult = await evaluateDictionary(model, sae, windows, {
            batchSize,
            onProgress: (phase, done, total) => bar.update(done, total, `windows (${phase})`),
          });
          result = saeResult;
          metrics = evaluationMetrics(saeResult);
        } finally {
          sae.dispose();
        }
      } else {
        const kindResult = await evaluateKind(model, dict.kind, dict.cfg, dict.params, windows, {
          batchSize,
          onProgress: (done, total) => bar.update(done, total, 'windows'),
        });
        result = kindResult;
        metrics = kindEvaluationMetrics(kindResult);
      }
      bar.done();
      // The evaluation is stored with the dictionary (the app shows it), under the folder's name.
      const recorded = { name: basename(dict.dir), path: dict.dir, modelName: modelRef, config: { ...dict.cfg } };
      recordDictionaryEvaluation(studioHome(), recorded, metrics);
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } finally {
      model.dispose();
    }
  },
};

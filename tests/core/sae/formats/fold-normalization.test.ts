// Folding the dataset-wise activation scale: the folded dictionary on raw activations must give the feature
// activations, and the de-normalised reconstruction, of the unfolded one on normalised activations.
import { beforeAll, describe, expect, it } from 'vitest';
import { ACT_FNS, type SaeConfig } from '../../../../src/protocol/dictionary-config';
import { foldActivationNorm } from '../../../../src/core/sae/formats/fold-normalization';
import { datasetScale } from '../../../../src/core/sae/sparse-dictionary';
import { initBackend } from '../../../../src/core/tensor/backend';
import { expectClose } from '../../../helpers/expect-close';
import {
  buildSaeConfig,
  buildTranscoderConfig,
  countNonzero,
  forward,
  HOOK,
  HOOK_IN,
  HOOK_OUT,
  randomInputs,
  randomParams,
  scaledCopy,
} from './helpers';

beforeAll(async () => {
  await initBackend('cpu');
});

const KINDS = {
  sae: (act_fn: SaeConfig['act_fn']) =>
    buildSaeConfig({ act_fn, norm_activation: 'dataset-wise', dataset_average_activation_norm: { [HOOK]: 7.5 } }),
  transcoder: (act_fn: SaeConfig['act_fn']) =>
    buildTranscoderConfig({
      act_fn,
      norm_activation: 'dataset-wise',
      dataset_average_activation_norm: { [HOOK_IN]: 1.3, [HOOK_OUT]: 21 },
    }),
};

describe('foldActivationNorm', () => {
  for (const [kind, build] of Object.entries(KINDS)) {
    for (const act_fn of ACT_FNS) {
      for (const sparsity_include_decoder_norm of [true, false]) {
        it(`${kind} ${act_fn} (decoder norms ${sparsity_include_decoder_norm ? 'in' : 'out of'} the sparsity): raw x through the folded dictionary = normalised x through the original`, async () => {
          const cfg = { ...build(act_fn), sparsity_include_decoder_norm };
          const params = randomParams(cfg, 11);
          const before = JSON.stringify(Object.entries(params).map(([n, t]) => [n, Array.from(t.data)]));
          const sIn = datasetScale(cfg, cfg.hook_point_in);
          const sOut = datasetScale(cfg, cfg.hook_point_out);
          // Raw activations with norms around the dataset's, so normalised inputs have norm ≈ sqrt(d_model).
          const x = randomInputs(32, cfg.d_model, 5, 1 / sIn);
          const unfolded = await forward(cfg, params, scaledCopy(x, sIn));
          const folded = foldActivationNorm(cfg, params);
          const out = await forward(folded.cfg, folded.params, x);

          expect(folded.cfg.norm_activation).toBe('inference');
          expect(folded.cfg.dataset_average_activation_norm).toBeNull();
          expect(JSON.stringify(Object.entries(params).map(([n, t]) => [n, Array.from(t.data)]))).toBe(before); // pure
          const active = countNonzero(unfolded.acts);
          expect(active).toBeGreaterThan(0);
          if (act_fn !== 'relu') expect(active).toBeLessThan(unfolded.acts.length);
          expectClose(out.acts, unfolded.acts, { rtol: 1e-5, label: 'feature activations' });
          expectClose(out.recon, scaledCopy(unfolded.recon, 1 / sOut), {
            rtol: 1e-5,
            label: 'de-normalised reconstruction',
          });
        });
      }
    }
  }

  it('returns an inference dictionary as it is', () => {
    const cfg = buildSaeConfig();
    const params = randomParams(cfg, 1);
    const folded = foldActivationNorm(cfg, params);
    expect(folded.cfg).toBe(cfg);
    expect(folded.params).toBe(params);
  });

  it.each(['token-wise', 'batch-wise'] as const)(
    'refuses %s normalisation, which depends on each input',
    (norm_activation) => {
      const cfg = buildSaeConfig({ norm_activation });
      expect(() => foldActivationNorm(cfg, randomParams(cfg, 1))).toThrow(
        `norm_activation '${norm_activation}' cannot be folded`,
      );
    },
  );

  it('names the missing norm of a dataset-wise dictionary', () => {
    const cfg = buildTranscoderConfig({
      norm_activation: 'dataset-wise',
      dataset_average_activation_norm: { [HOOK_IN]: 2 },
    });
    expect(() => foldActivationNorm(cfg, randomParams(cfg, 1))).toThrow(`no norm for '${HOOK_OUT}'`);
  });
});

// `export --to lm-saes-config`: for a run of each kind, the settings written for lm-saes's runner hold exactly the
// fields its pydantic classes declare (lm-saes-runner-fields.ts, copied from the source), and the values come from
// the run config.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { studioHome } from '../../../src/core/home';
import { parseConfig } from '../../../src/core/config/validate';
import { exportLmSaesRunConfig, readRunConfig, runnerSettingsOf } from '../../../src/core/interop/export-run-config';
import { TrainConfigSchema } from '../../../src/protocol/run-config';
import { openStore, type Store } from '../../../src/core/store';
import { buildInteropHome, RUN_SAE_CONFIGS, runConfig } from './interop-home';
import * as F from './lm-saes-runner-fields';
import { PDLM_DIR } from '../../helpers/fixtures';

let root: string;
let store: Store;
beforeAll(() => {
  root = buildInteropHome();
  store = openStore({ dir: root, readonly: true });
});
afterAll(() => {
  store.close();
  rmSync(root, { recursive: true, force: true });
});

const keys = (o: unknown) => Object.keys(o as object).sort();
const sorted = (a: readonly string[]) => [...a].sort();
const CLASSES: Record<string, string> = {
  sae: 'TrainSAESettings',
  crosscoder: 'TrainCrosscoderSettings',
  clt: 'TrainCLTSettings',
  lorsa: 'TrainLorsaSettings',
  molt: 'TrainMOLTSettings',
};

describe('export --to lm-saes-config', () => {
  for (const saeType of Object.keys(RUN_SAE_CONFIGS)) {
    it(`a ${saeType} run: the settings have the runner's fields and the run's values`, () => {
      const dir = join(root, 'cluster', saeType);
      const r = exportLmSaesRunConfig(store, studioHome(root), `run-${saeType}`, dir);
      expect(r.what).toContain(CLASSES[saeType]);
      const s = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      const crosscoder = saeType === 'crosscoder';
      expect(keys(s)).toEqual(sorted(crosscoder ? F.TRAIN_CROSSCODER_SETTINGS_FIELDS : F.TRAIN_SETTINGS_FIELDS));
      expect(keys(s.trainer)).toEqual(sorted(F.TRAINER_CONFIG_FIELDS));
      expect(keys(s.initializer)).toEqual(sorted(F.INITIALIZER_CONFIG_FIELDS));
      expect(keys(s.model)).toEqual(sorted(F.LANGUAGE_MODEL_CONFIG_FIELDS));
      expect(keys(s.datasets.dataset)).toEqual(sorted(F.DATASET_CONFIG_FIELDS));
      const sae = s.sae as Record<string, unknown>;
      for (const k of Object.keys(sae)) expect(F.SAE_CONFIG_FIELDS[saeType], `sae.${k}`).toContain(k);
      for (const k of F.SAE_REQUIRED_FIELDS[saeType]!) expect(sae, `sae.${k}`).toHaveProperty(k);
      const factories = (crosscoder ? s.activation_factories : [s.activation_factory]) as Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
      for (const f of factories) {
        expect(keys(f)).toEqual(sorted(F.ACTIVATION_FACTORY_CONFIG_FIELDS));
        expect(F.ACTIVATION_FACTORY_TARGETS).toContain(f.target);
        expect(keys(f.buffer_shuffle)).toEqual(sorted(F.BUFFER_SHUFFLE_FIELDS));
        for (const src of f.sources) expect(keys(src)).toEqual(sorted(F.DATASET_SOURCE_FIELDS));
        expect(f.sources[0].name).toBe(Object.keys(s.datasets)[0]);
      }

      // Values round-trip from the run config.
      const run = runConfig(saeType);
      expect(s).toMatchObject({ sae_name: run.name, sae_series: 'interop', model_name: 'pdlm-4l-256', wandb: null });
      expect(s.sae).toMatchObject({ sae_type: saeType, d_model: 256, device: 'cuda' });
      expect(s.trainer).toMatchObject({
        lr: run.lr,
        l1_coefficient: run.l1_coefficient,
        total_training_tokens: run.total_training_tokens,
        n_checkpoints: 4,
        check_point_save_mode: 'linear',
        exp_result_path: `results/${run.name}`,
      });
      const hooks = factories.flatMap((f) => f.hook_points as string[]);
      const cfgHooks = Object.entries(RUN_SAE_CONFIGS[saeType]!)
        .filter(([k]) => k.startsWith('hook_point'))
        .flatMap(([, v]) => (Array.isArray(v) ? v : [v]) as string[]);
      expect(sorted(hooks)).toEqual(sorted([...new Set(cfgHooks)]));
      for (const f of factories)
        expect(f).toMatchObject({
          batch_size: run.batch_size,
          context_size: 64,
          buffer_size: 16 * 64,
          ignore_token_ids: [0],
          buffer_shuffle: { perm_seed: 5 },
        });
      expect(s.datasets.dataset.dataset_name_or_path).toBe('pdlm-corpus');
      expect(s.model).toMatchObject({ model_name: 'pdlm-4l-256', backend: 'huggingface', max_length: 64 });

      const script = readFileSync(join(dir, 'train.py'), 'utf8');
      expect(script).toContain(`from lm_saes import `);
      expect(script).toContain(`${CLASSES[saeType]}.model_validate(raw)`);
    });
  }

  it('carries a JumpReLU initial threshold as log θ, and lists what lm-saes has no setting for', () => {
    const run = parseConfig(
      TrainConfigSchema,
      {
        ...runConfig('sae'),
        sae: { ...RUN_SAE_CONFIGS.sae, act_fn: 'jumprelu', jumprelu_threshold: 0.05 },
        eps: 1e-6,
      },
      'test run',
    );
    const r = runnerSettingsOf(run);
    expect(r.settings.initializer).toMatchObject({ init_log_jumprelu_threshold_value: Math.log(0.05) });
    expect(r.settings.sae).toMatchObject({ act_fn: 'jumprelu' });
    expect(r.notCarried).toMatchObject({ eps: 1e-6, 'sae.apply_decoder_bias_to_pre_encoder': true });
    expect(
      runnerSettingsOf(parseConfig(TrainConfigSchema, runConfig('sae'), 'topk run')).settings.initializer,
    ).toMatchObject({
      init_log_jumprelu_threshold_value: null,
    });
  });

  it('a run from an activation cache reads it as an activations source, with no dataset', () => {
    const run = parseConfig(TrainConfigSchema, { ...runConfig('clt'), activation_cache: '/data/acts' }, 'cached run');
    const s = runnerSettingsOf(run).settings as { activation_factory: { sources: Record<string, unknown>[] } };
    expect(s.activation_factory.sources).toHaveLength(1);
    expect(keys(s.activation_factory.sources[0])).toEqual(sorted(F.ACTIVATIONS_SOURCE_FIELDS));
    expect(s.activation_factory.sources[0]).toMatchObject({ type: 'activations', path: '/data/acts' });
    expect(s).toMatchObject({ datasets: null });
  });

  it("names a model folder's Hub id (config.json _name_or_path) instead of this machine's path", () => {
    const dir = join(root, 'hub-model');
    mkdirSync(dir);
    const cfg = JSON.parse(readFileSync(join(PDLM_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, _name_or_path: 'EleutherAI/pythia-70m' }));
    const run = parseConfig(TrainConfigSchema, { ...runConfig('sae'), model: dir }, 'hub run');
    const s = runnerSettingsOf(run).settings;
    expect(s).toMatchObject({ model_name: 'EleutherAI/pythia-70m' });
    expect(s.model).toMatchObject({ model_name: 'EleutherAI/pythia-70m', model_from_pretrained_path: null });
    const local = runnerSettingsOf(parseConfig(TrainConfigSchema, runConfig('sae'), 'local run')).settings;
    expect(local.model).toMatchObject({ model_name: 'pdlm-4l-256', model_from_pretrained_path: PDLM_DIR });
  });

  it('reads a run folder that is not in the store (runs/<id>/train-config.json)', () => {
    const home = studioHome(root);
    mkdirSync(join(home.runs, 'folder-run'));
    writeFileSync(join(home.runs, 'folder-run', 'train-config.json'), JSON.stringify(runConfig('molt')));
    const { id, config } = readRunConfig(store, home, 'folder-run');
    expect(id).toBe('folder-run');
    expect(config.sae.sae_type).toBe('molt');
    expect(config.lr).toBe(runConfig('molt').lr);
    expect(() => readRunConfig(store, studioHome(root), 'no-such-run')).toThrow(
      /^unknown run 'no-such-run': not in the store/,
    );
  });
});

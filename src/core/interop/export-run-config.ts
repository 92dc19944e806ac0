// `export --to lm-saes-config RUN DIR`: a run's training config as lm-saes's Python runner takes it, so that a recipe
// tried here runs unchanged at scale on the lab's cluster. Writes DIR/settings.json (the settings object, see
// lm-saes-runner-config.ts) and DIR/train.py, which validates it with the kind's pydantic classes and runs it.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { TrainConfigSchema, type TrainConfig } from '../../protocol/run-config';
import { parseConfig } from '../config/validate';
import { kindOf } from '../dictionary/registry';
import type { KindConfigBase } from '../dictionary/kind';
import { InputError } from '../errors';
import { runDir, type StudioHome } from '../home';
import { readModelConfig, resolveModel } from '../lm/load-model';
import { readJsonObject } from '../sae/formats/check-params';
import { getRun, type Store } from '../store';
import { writeFileAtomic } from '../util/atomic-file';
import type { ExportResult } from './export-dictionary';
import { LM_SAES_RUNNERS, lmSaesRunnerSettings, type RunnerSettings } from './lm-saes-runner-config';

export const SETTINGS_FILE = 'settings.json';
export const TRAIN_SCRIPT = 'train.py';

/** The run config of `ref`: a run id in the store, or a run folder (runs/<id>/ or a path) with train-config.json. */
export function readRunConfig(store: Store, home: StudioHome, ref: string): { id: string; config: TrainConfig } {
  const known = store.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(ref) !== undefined;
  if (known) return { id: ref, config: parseConfig(TrainConfigSchema, getRun(store, ref).config, `run '${ref}'`) };
  const candidates = [ref, ...(/[\\/]/.test(ref) ? [] : [runDir(home, ref)])];
  for (const dir of candidates) {
    const file = join(dir, 'train-config.json');
    if (existsSync(dir) && statSync(dir).isDirectory() && existsSync(file))
      return { id: basename(resolve(dir)), config: parseConfig(TrainConfigSchema, readJsonObject(file), file) };
  }
  throw new InputError(`unknown run '${ref}': not in the store, and no train-config.json in a run folder of that name`);
}

/**
 * The Hugging Face Hub id a model folder came from (config.json's `_name_or_path`, as transformers writes it), which
 * lm-saes loads by name on the cluster; null when the folder does not say (its local path is written instead).
 */
function hubName(dir: string): string | null {
  const raw = readJsonObject(join(dir, 'config.json'))._name_or_path;
  return typeof raw === 'string' && /^[\w.-]+\/[\w.-]+$/.test(raw) ? raw : null;
}

/** The runner settings of a run config: its dictionary config parsed against the model's d_model. */
export function runnerSettingsOf(run: TrainConfig, device = 'cuda'): RunnerSettings {
  const loc = resolveModel(run.model);
  const model = readModelConfig(loc.dir);
  const kind = kindOf(run.sae.sae_type, 'sae.sae_type');
  const dict = parseConfig(
    kind.schema,
    { model_name: run.model, ...run.sae, d_model: model.dModel },
    `run config 'sae'`,
  ) as KindConfigBase;
  const datasetPath = existsSync(run.dataset) ? resolve(run.dataset) : run.dataset;
  const hub = hubName(loc.dir);
  return lmSaesRunnerSettings({
    run,
    kind,
    dict,
    modelName: hub ?? loc.name ?? basename(loc.dir),
    modelPath: hub ? null : loc.dir,
    datasetPath,
    contextSize: run.context_size,
    device,
  });
}

function trainScript(s: RunnerSettings, runId: string): string {
  const r = LM_SAES_RUNNERS[s.saeType];
  const localModel = (s.settings.model as { model_from_pretrained_path: string | null }).model_from_pretrained_path;
  const notCarried = Object.entries(s.notCarried).map(([k, v]) => `#   ${k} = ${JSON.stringify(v)}`);
  return [
    `# Trains SAE Studio run '${runId}' with lm-saes (OpenMOSS/Language-Model-SAEs): python ${TRAIN_SCRIPT}`,
    '# (or torchrun --nproc-per-node N train.py after raising data_parallel_size in settings.json).',
    "# The sae config is validated with its own class first: the settings' `sae` field is typed by an abstract base.",
    ...(localModel
      ? [
          `# model.model_from_pretrained_path is this machine's folder ${localModel}: copy it to the cluster and set it.`,
        ]
      : []),
    '# SAE Studio run fields with no lm-saes setting (not carried over):',
    ...notCarried,
    'import json',
    'import os',
    '',
    `from lm_saes import ${r.config}, ${r.settings}, ${r.runner}`,
    '',
    'if __name__ == "__main__":',
    `    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "${SETTINGS_FILE}")) as f:`,
    '        raw = json.load(f)',
    `    raw["sae"] = ${r.config}.model_validate(raw["sae"])`,
    `    ${r.runner}(${r.settings}.model_validate(raw))`,
    '',
  ].join('\n');
}

/** Writes DIR/settings.json and DIR/train.py for run `ref` (each file atomically). */
export function exportLmSaesRunConfig(store: Store, home: StudioHome, ref: string, dir: string): ExportResult {
  const { id, config } = readRunConfig(store, home, ref);
  const s = runnerSettingsOf(config);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new InputError(`${dir}: is a file, expected a folder`);
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(join(dir, SETTINGS_FILE), `${JSON.stringify(s.settings, null, 2)}\n`);
  writeFileAtomic(join(dir, TRAIN_SCRIPT), trainScript(s, id));
  return { what: `run '${id}' as lm-saes ${LM_SAES_RUNNERS[s.saeType].settings}`, path: dir };
}

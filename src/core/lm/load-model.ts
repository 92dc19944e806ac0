// Opens a model folder in Hugging Face layout (or a bundled model by name) and builds a HookedTransformer on
// the active backend, validating the folder, the config and every weight shape on the way.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError } from '../errors';
import { bundledModelsDir } from '../resources/resource-dir';
import { architectureFor } from './architectures/registry';
import { HfConfig } from './hf-config';
import { HookedTransformer, type HostParamsOptions } from './hooked-transformer';
import type { ModelConfig } from './model-config';
import { WeightSource } from './weight-source';

export interface ModelLocation {
  dir: string;
  /** The bundled model's name when it was referred to by name. */
  name: string | null;
}

export function bundledModelNames(): string[] {
  const dir = bundledModelsDir();
  return existsSync(dir) ? readdirSync(dir).filter((n) => existsSync(join(dir, n, 'config.json'))) : [];
}

/** A path to a folder, or the name of a model under resources/models (e.g. `pdlm-4l-256`). */
export function resolveModel(ref: string): ModelLocation {
  if (existsSync(ref)) {
    if (!statSync(ref).isDirectory())
      throw new InputError(`${ref}: is a file, expected a model folder with config.json and model.safetensors`);
    return { dir: resolve(ref), name: null };
  }
  if (!/[\\/]/.test(ref) && bundledModelNames().includes(ref)) return { dir: join(bundledModelsDir(), ref), name: ref };
  const names = bundledModelNames();
  throw new InputError(
    `model '${ref}' not found: expected a model folder or one of the bundled models (${names.join(', ') || 'none'})`,
  );
}

export function readModelConfig(dir: string): ModelConfig {
  const file = join(dir, 'config.json');
  if (!existsSync(file)) throw new InputError(`${dir}: no config.json, expected a Hugging Face model folder`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InputError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new InputError(`${file}: expected a JSON object`);
  const cfg = new HfConfig(raw as Record<string, unknown>, file);
  if (!cfg.has('model_type')) throw new InputError(`${file}: field 'model_type' is missing`);
  return architectureFor(cfg.string('model_type'), file).parseConfig(cfg);
}

export interface LoadedModel {
  model: HookedTransformer;
  location: ModelLocation;
}

/** Loads `ref` (a folder or a bundled model's name); `opts.basis` picks the activation basis (default unprocessed). */
export function loadModel(ref: string, opts: HostParamsOptions = {}): LoadedModel {
  const location = resolveModel(ref);
  const cfg = readModelConfig(location.dir);
  const src = WeightSource.open(location.dir);
  try {
    const host = architectureFor(cfg.modelType, join(location.dir, 'config.json')).loadParams(src, cfg);
    return { model: HookedTransformer.fromHostParams(cfg, host, opts), location };
  } finally {
    src.close();
  }
}

/** The models a run can use: the bundled ones, and the check of a Hugging Face folder the user points at. */
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { isInputError } from '../core/errors';
import { bundledModelNames, readModelConfig, resolveModel } from '../core/lm/load-model';
import { listHookNames } from '../core/lm/hooks';
import type { ModelConfig } from '../core/lm/model-config';
import type { ModelFolderCheck, ModelInfo } from '../protocol/models';
import { oneLine } from '../protocol/service-dispatch';

export function listModels(): ModelInfo[] {
  return bundledModelNames().map((name) => modelInfo(name, name, readModelConfig(resolveModel(name).dir), true));
}

/** A folder is usable when it holds a supported config.json, safetensors weights and a tokenizer.json. */
export function checkModelFolder(path: string): ModelFolderCheck {
  const dir = resolve(path);
  const fail = (message: string): ModelFolderCheck => ({ ok: false, issues: [{ field: 'path', message }] });
  if (!existsSync(dir)) return fail(`${dir}: no such folder`);
  if (!statSync(dir).isDirectory()) return fail(`${dir}: is a file, expected a model folder`);
  let cfg: ModelConfig;
  try {
    cfg = readModelConfig(dir);
  } catch (err) {
    if (!isInputError(err)) throw err;
    return fail(oneLine(err));
  }
  if (!existsSync(join(dir, 'model.safetensors')) && !existsSync(join(dir, 'model.safetensors.index.json'))) {
    return fail(
      `${dir}: no model.safetensors or model.safetensors.index.json (only safetensors weights are supported)`,
    );
  }
  if (!existsSync(join(dir, 'tokenizer.json')))
    return fail(`${dir}: no tokenizer.json (a Hugging Face fast-tokenizer file is needed)`);
  return { ok: true, model: modelInfo(basename(dir), dir, cfg, false) };
}

function modelInfo(name: string, ref: string, cfg: ModelConfig, bundled: boolean): ModelInfo {
  return {
    name,
    ref,
    bundled,
    architecture: cfg.architecture,
    modelType: cfg.modelType,
    nLayers: cfg.nLayers,
    dModel: cfg.dModel,
    nHeads: cfg.nHeads,
    dVocab: cfg.dVocab,
    nCtx: cfg.nCtx,
    dHead: cfg.dHead,
    rotary: modelRotary(cfg),
    hookNames: listHookNames(cfg),
  };
}

function modelRotary(cfg: ModelConfig): ModelInfo['rotary'] {
  const r = cfg.rotary;
  if (!r) return null;
  const s = r.scaling;
  return {
    dim: r.dim,
    base: r.theta,
    adjacentPairs: false,
    ntkByParts:
      s.type === 'llama3'
        ? {
            factor: s.factor,
            lowFreqFactor: s.lowFreqFactor,
            highFreqFactor: s.highFreqFactor,
            oldContextLen: s.originalMaxPositionEmbeddings,
          }
        : null,
  };
}

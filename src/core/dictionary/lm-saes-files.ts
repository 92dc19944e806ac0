// lm-saes dictionary directories for every kind other than `sae` (which keeps its own reader and writer in
// sae/formats/lm-saes.ts): config.json + sae_weights.safetensors, written so that lm-saes's strict loading accepts
// them and read with the same strictness — every key of the kind's state_dict present with its exact shape, no
// other key, one `dataset_average_activation_norm.<hook>` scalar per hook the dictionary reads or writes.
//
// Norm scalars: lm-saes writes one per hook always (torch.empty garbage when there is no norm). Where SAE Studio
// knows no norm it writes √d_model, the value whose norm factor √d/norm is exactly 1, so the file means the same
// whichever norm_activation a reader applies. Buffers (Lorsa's mask, IGNORE, rotary tables) are written as lm-saes
// registers them and, on loading, checked against the values the config implies: a file whose rotary tables
// disagree with its own config would compute something else in lm-saes than here.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../config/validate';
import { InputError } from '../errors';
import { lmSaesRecordedBasis, type BasisSource } from '../lm/activation-basis';
import { withBackend } from '../sae/formats/lm-saes';
import { hostParam, type HostParams } from '../sae/host-tensor';
import { holdsAnyOf, writeDirAtomically } from '../sae/formats/atomic-dir';
import { readJsonObject, sameShape, shapeText } from '../sae/formats/check-params';
import {
  openSafetensors,
  readWeight,
  writeSafetensors,
  type SafetensorsFile,
  type TensorToWrite,
} from '../tensor/safetensors';
import type { DictionaryKind, KindConfigBase } from './kind';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'sae_weights.safetensors';
export const LM_CONFIG_FILE = 'lm_config.json';
const NORM_PREFIX = 'dataset_average_activation_norm.';

export function kindHooks(kind: DictionaryKind, cfg: KindConfigBase): string[] {
  return [...new Set([...kind.hooksIn(cfg), ...kind.hooksOut(cfg)])];
}

/** Throws a one-line InputError naming the first missing, extra or mis-shaped trainable tensor. */
export function checkKindParams(kind: DictionaryKind, cfg: KindConfigBase, params: HostParams, label: string): void {
  const shapes = kind.stateShapes(cfg);
  const trainable = new Set(kind.trainable(cfg));
  for (const name of trainable) {
    const shape = shapes[name];
    const t = params[name];
    if (!shape) throw new Error(`${kind.saeType}: trainable '${name}' is not in its state_dict shapes`);
    if (!t) throw new InputError(`${label}: missing tensor '${name}' (expected shape ${shapeText(shape)})`);
    if (!sameShape(t.shape, shape) || t.data.length !== shape.reduce((a, b) => a * b, 1))
      throw new InputError(`${label}: tensor '${name}' has shape ${shapeText(t.shape)}, expected ${shapeText(shape)}`);
  }
  const buffers = kind.buffers(cfg);
  for (const name of Object.keys(params))
    if (!trainable.has(name) && !(name in buffers))
      throw new InputError(
        `${label}: unexpected tensor '${name}' (a ${kind.saeType} dictionary has ${[...trainable].join(', ')})`,
      );
}

/** Writes `dir` atomically (replacing a dictionary there) in lm-saes's layout for this kind. */
export function saveKindDictionary(
  dir: string,
  kind: DictionaryKind,
  cfg: KindConfigBase,
  params: HostParams,
  opts: { lmConfig?: object } = {},
): void {
  checkKindParams(kind, cfg, params, dir);
  const tensors: Record<string, TensorToWrite> = {};
  for (const name of kind.trainable(cfg)) {
    const t = hostParam(params, name);
    tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  }
  Object.assign(tensors, kind.buffers(cfg));
  for (const hook of kindHooks(kind, cfg)) {
    const norm = cfg.dataset_average_activation_norm?.[hook] ?? Math.sqrt(cfg.d_model);
    tensors[NORM_PREFIX + hook] = { dtype: 'F32', shape: [], data: Float32Array.of(norm) };
  }
  writeDirAtomically(
    dir,
    { what: `lm-saes ${kind.saeType}`, canReplace: holdsAnyOf([CONFIG_FILE, WEIGHTS_FILE]) },
    (w) => {
      writeSafetensors(join(w.dir, WEIGHTS_FILE), tensors, { format: 'lm-saes', sae_type: kind.saeType });
      if (opts.lmConfig) w.writeFile(LM_CONFIG_FILE, `${JSON.stringify(withBackend(opts.lmConfig, cfg), null, 4)}\n`);
      w.writeFile(CONFIG_FILE, `${JSON.stringify(kind.configJson(cfg), null, 4)}\n`); // last: see atomic-dir.ts
    },
  );
}

function readNormScalars(file: SafetensorsFile, hooks: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const hook of hooks) {
    const name = NORM_PREFIX + hook;
    if (!file.has(name)) continue;
    const v = file.readFloat32(name);
    if (v.length !== 1)
      throw new InputError(
        `${file.path}: tensor '${name}' has shape ${shapeText(file.info(name).shape)}, expected a scalar`,
      );
    if (Number.isFinite(v[0]!) && v[0]! > 0) out[hook] = v[0]!;
  }
  return out;
}

function checkBuffer(file: SafetensorsFile, name: string, expected: TensorToWrite): void {
  const info = file.info(name);
  if (!sameShape(info.shape, expected.shape))
    throw new InputError(
      `${file.path}: tensor '${name}' has shape ${shapeText(info.shape)}, expected ${shapeText(expected.shape)}`,
    );
  const want = expected.data as ArrayLike<number | boolean>;
  const got = info.dtype === 'BOOL' || expected.dtype === 'BOOL' ? file.readInt32(name) : file.readFloat32(name);
  for (let i = 0; i < want.length; i++) {
    const w = Number(want[i]);
    const g = got[i]!;
    const same = w === g || Math.abs(w - g) <= 1e-5 * Math.max(1, Math.abs(w));
    if (!same)
      throw new InputError(
        `${file.path}: buffer '${name}' differs from what the config implies at element ${i} (file ${g}, config ${w}): check the rotary / n_ctx fields of config.json`,
      );
  }
}

export interface LoadedKindDictionary<C extends KindConfigBase = KindConfigBase> {
  kind: DictionaryKind<C>;
  cfg: C;
  params: HostParams;
  lmConfig: Record<string, unknown> | null;
  /** Where cfg.activation_basis came from ('default': nothing in the files says). */
  basisSource: BasisSource;
}

/** Reads an lm-saes dictionary directory of a non-`sae` kind, as strictly as lm-saes's strict loading. */
export function loadKindDictionary(
  dir: string,
  kindOf: (saeType: string, file: string) => DictionaryKind,
): LoadedKindDictionary {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: no such dictionary directory`);
  const configPath = join(dir, CONFIG_FILE);
  if (!existsSync(configPath))
    throw new InputError(
      `${configPath}: missing (an lm-saes dictionary directory holds ${CONFIG_FILE} and ${WEIGHTS_FILE})`,
    );
  const raw = readJsonObject(configPath);
  const kind = kindOf(typeof raw.sae_type === 'string' ? raw.sae_type : 'sae', configPath);
  const weightsPath = join(dir, WEIGHTS_FILE);
  if (!existsSync(weightsPath))
    throw new InputError(`${weightsPath}: missing (only safetensors weights are supported)`);
  const lmConfigPath = join(dir, LM_CONFIG_FILE);
  const lmConfig = existsSync(lmConfigPath) ? readJsonObject(lmConfigPath) : null;
  const file = openSafetensors(weightsPath);
  try {
    const input = kind.translateLmSaesConfig(raw, configPath);
    const recorded = lmSaesRecordedBasis(raw, lmConfig, lmConfigPath);
    if (recorded.source !== 'config') input.activation_basis = recorded.basis;
    // The hooks come from the config; their norms from the weights (lm-saes keeps them only there).
    const provisional = parseConfig(kind.schema, { ...input, dataset_average_activation_norm: null }, configPath);
    const hooks = kindHooks(kind, provisional);
    const norms = readNormScalars(file, hooks);
    const fromConfig = input.dataset_average_activation_norm;
    const cfg = parseConfig(
      kind.schema,
      {
        ...input,
        dataset_average_activation_norm:
          provisional.norm_activation === 'dataset-wise' || provisional.norm_activation === 'inference'
            ? { ...((fromConfig as Record<string, number> | null | undefined) ?? {}), ...norms }
            : null,
      },
      configPath,
    );
    if (cfg.norm_activation === 'dataset-wise') {
      for (const hook of hooks)
        if (cfg.dataset_average_activation_norm?.[hook] === undefined)
          throw new InputError(
            `${weightsPath}: tensor '${NORM_PREFIX}${hook}' is missing or not a positive number (needed by norm_activation 'dataset-wise')`,
          );
    }
    const shapes = kind.stateShapes(cfg);
    const buffers = kind.buffers(cfg);
    const normNames = new Set(hooks.map((h) => NORM_PREFIX + h));
    for (const name of file.names()) {
      if (!(name in shapes) && !normNames.has(name))
        throw new InputError(
          `${weightsPath}: unexpected tensor '${name}' (a ${kind.saeType} dictionary with this config holds ${Object.keys(shapes).join(', ')} and the norm scalars)`,
        );
    }
    const params: HostParams = {};
    for (const [name, shape] of Object.entries(shapes)) {
      if (!file.has(name))
        throw new InputError(`${weightsPath}: missing tensor '${name}' (expected shape ${shapeText(shape)})`);
      const buffer = buffers[name];
      if (buffer) {
        checkBuffer(file, name, buffer);
        params[name] = { data: Float32Array.from(buffer.data as ArrayLike<number>, Number), shape: [...buffer.shape] };
        continue;
      }
      const actual = file.info(name).shape;
      if (!sameShape(actual, shape))
        throw new InputError(
          `${weightsPath}: tensor '${name}' has shape ${shapeText(actual)}, expected ${shapeText(shape)}`,
        );
      params[name] = { data: readWeight(file, name), shape: [...shape] };
    }
    for (const hook of hooks)
      if (!file.has(NORM_PREFIX + hook))
        throw new InputError(
          `${weightsPath}: missing tensor '${NORM_PREFIX}${hook}' (lm-saes writes one scalar per hook)`,
        );
    return { kind: kind as DictionaryKind, cfg, params, lmConfig, basisSource: recorded.source };
  } finally {
    file.close();
  }
}

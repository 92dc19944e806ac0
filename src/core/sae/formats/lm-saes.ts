// lm-saes (OpenMOSS Language-Model-SAEs) dictionary directories: config.json + sae_weights.safetensors
// (+ lm_config.json), read and written so that lm-saes computes exactly what our `Sae` computes.
//
// The format (src/lm_saes/models/sparse_dictionary.py, models/sae.py, activation_functions.py, runners/train.py):
// - config.json = SAEConfig.model_dump(): sae_type 'sae', hook_point_in, hook_point_out (required), d_model,
//   expansion_factor (float; lm-saes takes d_sae = int(d_model·expansion_factor), truncating), use_decoder_bias,
//   act_fn, norm_activation, sparsity_include_decoder_norm, top_k, jumprelu_threshold_window, use_glu_encoder,
//   use_triton_kernel, sparsity_threshold_for_triton_spmm_kernel. dtype/device are excluded from the dump;
//   pydantic ignores unknown keys. The runner writes it and lm_config.json (LanguageModelConfig: model_name, …)
//   when training starts; `save_pretrained` writes only the weights (after folding when fold_activation_scale).
// - sae_weights.safetensors: W_E [d_model, d_sae], b_E [d_sae], W_D [d_sae, d_model], b_D [d_model],
//   `activation_function.log_jumprelu_threshold` [d_sae] (older versions: `log_jumprelu_threshold`), and a scalar
//   `dataset_average_activation_norm.<hook>` per hook point (uninitialised torch.empty when no norm is set).
// - Forward: pre = x W_E + b_E (current lm-saes has no apply_decoder_bias_to_pre_encoder; older configs did,
//   default false); with sparsity_include_decoder_norm every act_fn gates pre·‖W_D,i‖ (JumpReLU too);
//   BatchTopK always selects over the batch: there is no inference threshold.
//
// Our mapping: apply_decoder_bias_to_pre_encoder is folded into the encoder bias (b_E − b_D W_E) and written as
// false, with `studio_apply_decoder_bias_to_pre_encoder: true` (ignored by lm-saes) to undo it on load. Our JumpReLU
// gates pre > θ, so with decoder norms the file holds log θ + log‖W_D,i‖. The BatchTopK threshold goes into the
// safetensors metadata (`batchtopk_threshold`), not a tensor, so lm-saes's strict loading accepts the file.
// Norms are only tensors: required for dataset-wise, kept for inference when finite and positive, else ignored.
// Loading drops the lm-saes-only keys below and rejects other unknown keys (they might change the forward).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SaeConfigSchema, type SaeConfig } from '../../../protocol/dictionary-config';
import { parseConfig } from '../../config/validate';
import { InputError } from '../../errors';
import { lmSaesBackend, lmSaesRecordedBasis, type BasisSource } from '../../lm/activation-basis';
import {
  openSafetensors,
  readWeight,
  writeSafetensors,
  type SafetensorsFile,
  type TensorToWrite,
} from '../../tensor/safetensors';
import { hostParam, type HostParams } from '../host-tensor';
import { saeParamShapes } from '../variants/sae';
import { holdsAnyOf, writeDirAtomically } from './atomic-dir';
import { checkHostParams, readJsonObject, sameShape, shapeText } from './check-params';
import { decoderNorms, encoderBiasShift } from './host-math';

const CONFIG = 'config.json';
const WEIGHTS = 'sae_weights.safetensors';
const LM_CONFIG = 'lm_config.json';
/** Where lm-saes's `from_local` looks for safetensors weights, in its order. */
const WEIGHT_FILES = [WEIGHTS, 'checkpoints/pruned.safetensors', 'checkpoints/final.safetensors'];
const JUMPRELU_KEY = 'activation_function.log_jumprelu_threshold';
const LEGACY_JUMPRELU_KEY = 'log_jumprelu_threshold';
const NORM_PREFIX = 'dataset_average_activation_norm.';
const BIAS_MARKER = 'studio_apply_decoder_bias_to_pre_encoder';
const THRESHOLD_METADATA = 'batchtopk_threshold';

/** lm-saes config keys with no bearing on the forward pass: kernels, loading info, placement, old names. */
const LM_SAES_ONLY_KEYS = [
  'use_triton_kernel',
  'sparsity_threshold_for_triton_spmm_kernel',
  'sparsity_threshold_for_csr',
  'sae_pretrained_name_or_path',
  'strict_loading',
  'device',
  'dtype',
  'promote_act_fn_dtype',
  'jump_relu_threshold',
];

export interface LmSaesDictionary {
  cfg: SaeConfig;
  params: HostParams;
  /** lm_config.json, when the directory has one. */
  lmConfig: Record<string, unknown> | null;
  /** Where cfg.activation_basis came from ('default': nothing in the files says). */
  basisSource: BasisSource;
}

export interface LmSaesLoadOptions {
  /** BatchTopK threshold to use when the file has none (dictionaries trained by lm-saes itself). */
  batchtopkThreshold?: number;
}

/**
 * d_sae / d_model, nudged up by an ulp where needed so that lm-saes's int(d_model * expansion_factor) (which
 * truncates) gives d_sae back.
 */
function lmSaesExpansionFactor(dModel: number, dSae: number): number {
  const bits = new Float64Array([dSae / dModel]);
  const word = new BigInt64Array(bits.buffer);
  while (Math.trunc(dModel * bits[0]!) < dSae) word[0]! += 1n;
  return bits[0]!;
}

export function configJson(cfg: SaeConfig): Record<string, unknown> {
  const fields: Record<Exclude<keyof SaeConfig, 'dataset_average_activation_norm'>, unknown> = {
    sae_type: cfg.sae_type,
    hook_point_in: cfg.hook_point_in,
    hook_point_out: cfg.hook_point_out,
    d_model: cfg.d_model,
    expansion_factor: lmSaesExpansionFactor(cfg.d_model, cfg.d_sae),
    d_sae: cfg.d_sae,
    act_fn: cfg.act_fn,
    top_k: cfg.top_k,
    jumprelu_threshold: cfg.jumprelu_threshold,
    jumprelu_threshold_window: cfg.jumprelu_threshold_window,
    use_decoder_bias: cfg.use_decoder_bias,
    apply_decoder_bias_to_pre_encoder: false, // folded into b_E (see the file header)
    norm_activation: cfg.norm_activation,
    sparsity_include_decoder_norm: cfg.sparsity_include_decoder_norm,
    model_name: cfg.model_name,
    activation_basis: cfg.activation_basis,
    dtype: cfg.dtype,
  };
  return {
    ...fields,
    ...(cfg.apply_decoder_bias_to_pre_encoder ? { [BIAS_MARKER]: true } : {}),
    use_glu_encoder: false,
  };
}

/** lm_config.json with `backend` saying the dictionary's basis (lm-saes loads the model the same way). */
export function withBackend(lmConfig: object, cfg: { activation_basis: SaeConfig['activation_basis'] }): object {
  return { ...lmConfig, backend: lmSaesBackend(cfg.activation_basis) };
}

/** Writes `dir` (atomically, replacing an existing dictionary there) in the lm-saes layout. */
export function saveLmSaesDictionary(
  dir: string,
  cfg: SaeConfig,
  params: HostParams,
  opts: { lmConfig?: object } = {},
): void {
  checkHostParams(cfg, params, dir);
  const f32 = (data: Float32Array, shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data });
  const tensors: Record<string, TensorToWrite> = {
    W_E: f32(hostParam(params, 'W_E').data, [cfg.d_model, cfg.d_sae]),
    b_E: f32(cfg.apply_decoder_bias_to_pre_encoder ? encoderBiasShift(params, -1) : hostParam(params, 'b_E').data, [
      cfg.d_sae,
    ]),
    W_D: f32(hostParam(params, 'W_D').data, [cfg.d_sae, cfg.d_model]),
  };
  if (params.b_D) tensors.b_D = f32(params.b_D.data, [cfg.d_model]);
  if (cfg.act_fn === 'jumprelu') {
    const log = hostParam(params, 'log_jumprelu_threshold').data;
    const norms = cfg.sparsity_include_decoder_norm
      ? decoderNorms(hostParam(params, 'W_D').data, cfg.d_sae, cfg.d_model)
      : null;
    tensors[JUMPRELU_KEY] = f32(norms ? Float32Array.from(log, (v, i) => v + Math.log(norms[i]!)) : log, [cfg.d_sae]);
  }
  for (const [hook, norm] of Object.entries(cfg.dataset_average_activation_norm ?? {}))
    tensors[NORM_PREFIX + hook] = f32(Float32Array.of(norm), []);
  const metadata: Record<string, string> = { format: 'lm-saes' };
  if (cfg.act_fn === 'batchtopk')
    metadata[THRESHOLD_METADATA] = String(hostParam(params, 'batchtopk_threshold').data[0]);

  writeDirAtomically(dir, { what: 'lm-saes dictionary', canReplace: holdsAnyOf([CONFIG, WEIGHTS]) }, (w) => {
    writeSafetensors(join(w.dir, WEIGHTS), tensors, metadata);
    if (opts.lmConfig) w.writeFile(LM_CONFIG, `${JSON.stringify(withBackend(opts.lmConfig, cfg), null, 4)}\n`);
    w.writeFile(CONFIG, `${JSON.stringify(configJson(cfg), null, 4)}\n`); // last: see atomic-dir.ts
  });
}

/** lm-saes config.json → the input of SaeConfigSchema (norms are added from the weights by the caller). */
export function translateConfig(
  raw: Record<string, unknown>,
  file: string,
): { input: Record<string, unknown>; biasFolded: boolean } {
  const input: Record<string, unknown> = { ...raw };
  for (const key of LM_SAES_ONLY_KEYS) delete input[key];
  if (input.use_glu_encoder === true)
    throw new InputError(`${file}: field 'use_glu_encoder': GLU encoders are not supported`);
  delete input.use_glu_encoder;
  if (typeof input.sae_type === 'string' && input.sae_type !== 'sae') {
    throw new InputError(`${file}: field 'sae_type': '${input.sae_type}' is not supported (only 'sae')`);
  }
  if ('jumprelu_threshold_grad_scale' in input) {
    input.jumprelu_threshold_window ??= input.jumprelu_threshold_grad_scale; // its name before lm-saes renamed it
    delete input.jumprelu_threshold_grad_scale;
  }
  const marker = input[BIAS_MARKER];
  delete input[BIAS_MARKER];
  if (marker !== undefined && typeof marker !== 'boolean')
    throw new InputError(`${file}: field '${BIAS_MARKER}': expected a boolean`);
  input.apply_decoder_bias_to_pre_encoder = marker === true ? true : (input.apply_decoder_bias_to_pre_encoder ?? false); // lm-saes default
  if (input.d_sae === undefined && typeof input.expansion_factor === 'number' && typeof input.d_model === 'number') {
    input.d_sae = Math.trunc(input.d_model * input.expansion_factor); // lm-saes: int(d_model * expansion_factor)
    delete input.expansion_factor;
  }
  return { input, biasFolded: marker === true };
}

function readNorms(file: SafetensorsFile): Record<string, number> {
  const norms: Record<string, number> = {};
  for (const name of file.names()) {
    if (!name.startsWith(NORM_PREFIX)) continue;
    const value = file.readFloat32(name);
    if (value.length !== 1)
      throw new InputError(
        `${file.path}: tensor '${name}' has shape ${shapeText(file.info(name).shape)}, expected a scalar`,
      );
    norms[name.slice(NORM_PREFIX.length)] = value[0]!;
  }
  return norms;
}

const usable = (norms: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(norms).filter(([, v]) => Number.isFinite(v) && v > 0));

function readParams(file: SafetensorsFile, cfg: SaeConfig): HostParams {
  const expected = saeParamShapes(cfg);
  const fileName = (ours: string) => (ours === LEGACY_JUMPRELU_KEY ? JUMPRELU_KEY : ours);
  const params: HostParams = {};
  for (const name of file.names()) {
    if (name.startsWith(NORM_PREFIX)) continue;
    const ours = name === JUMPRELU_KEY ? LEGACY_JUMPRELU_KEY : name;
    const shape = expected[ours];
    if (!shape)
      throw new InputError(
        `${file.path}: unexpected tensor '${name}' (a ${cfg.act_fn} dictionary holds ${Object.keys(expected).map(fileName).join(', ')})`,
      );
    if (params[ours])
      throw new InputError(`${file.path}: both '${JUMPRELU_KEY}' and '${LEGACY_JUMPRELU_KEY}' are present`);
    const actual = file.info(name).shape;
    if (!sameShape(actual, shape))
      throw new InputError(
        `${file.path}: tensor '${name}' has shape ${shapeText(actual)}, expected ${shapeText(shape)}`,
      );
    params[ours] = { data: readWeight(file, name), shape: [...shape] };
  }
  for (const [name, shape] of Object.entries(expected)) {
    if (!params[name])
      throw new InputError(`${file.path}: missing tensor '${fileName(name)}' (expected shape ${shapeText(shape)})`);
  }
  return params;
}

/** Reads an lm-saes dictionary directory (ours or one lm-saes wrote), checking every field and tensor. */
export function loadLmSaesDictionary(dir: string, opts: LmSaesLoadOptions = {}): LmSaesDictionary {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: no such dictionary directory`);
  const configPath = join(dir, CONFIG);
  if (!existsSync(configPath))
    throw new InputError(`${configPath}: missing (an lm-saes dictionary directory holds ${CONFIG} and ${WEIGHTS})`);
  const raw = readJsonObject(configPath);
  const weightsPath = WEIGHT_FILES.map((f) => join(dir, f)).find((f) => existsSync(f));
  if (!weightsPath) throw new InputError(`${join(dir, WEIGHTS)}: missing (only safetensors weights are supported)`);
  const lmConfigPath = join(dir, LM_CONFIG);
  const lmConfig = existsSync(lmConfigPath) ? readJsonObject(lmConfigPath) : null;

  const file = openSafetensors(weightsPath);
  try {
    const { input, biasFolded } = translateConfig(raw, configPath);
    const norms = readNorms(file);
    const mode = input.norm_activation ?? 'dataset-wise'; // lm-saes's default
    const found = usable(norms);
    const fromConfig = input.dataset_average_activation_norm;
    if (mode === 'dataset-wise') {
      // A malformed value in config.json is left for the schema to reject.
      if (fromConfig === undefined || fromConfig === null || typeof fromConfig === 'object')
        input.dataset_average_activation_norm = { ...(fromConfig ?? {}), ...found };
    } else if (mode === 'inference') {
      if (Object.keys(norms).length > 0 && Object.keys(found).length === Object.keys(norms).length)
        input.dataset_average_activation_norm = found;
    } else input.dataset_average_activation_norm = null; // token/batch-wise: the tensors are torch.empty garbage
    if (input.model_name === undefined && typeof lmConfig?.model_name === 'string')
      input.model_name = lmConfig.model_name;
    const recorded = lmSaesRecordedBasis(raw, lmConfig, lmConfigPath);
    if (recorded.source !== 'config') input.activation_basis = recorded.basis;
    const cfg = parseConfig(SaeConfigSchema, input, configPath);
    if (cfg.norm_activation === 'dataset-wise') {
      for (const hook of new Set([cfg.hook_point_in, cfg.hook_point_out])) {
        if (cfg.dataset_average_activation_norm?.[hook] === undefined) {
          throw new InputError(
            `${weightsPath}: tensor '${NORM_PREFIX}${hook}' is missing or not a positive number (needed by norm_activation 'dataset-wise')`,
          );
        }
      }
    }
    const params = readParams(file, cfg);
    if (biasFolded && params.b_D) params.b_E = { data: encoderBiasShift(params, +1), shape: [cfg.d_sae] };
    if (cfg.act_fn === 'jumprelu' && cfg.sparsity_include_decoder_norm) {
      const norms = decoderNorms(hostParam(params, 'W_D').data, cfg.d_sae, cfg.d_model);
      const log = hostParam(params, 'log_jumprelu_threshold').data;
      // A zero decoder row never passes lm-saes's gate (0 > θ): θ = +∞ keeps it silent here too.
      hostParam(params, 'log_jumprelu_threshold').data = Float32Array.from(log, (v, i) =>
        norms[i]! > 0 ? v - Math.log(norms[i]!) : Infinity,
      );
    }
    if (cfg.act_fn === 'batchtopk') {
      const stored = file.metadata[THRESHOLD_METADATA];
      const threshold = stored !== undefined ? Number(stored) : opts.batchtopkThreshold;
      if (threshold === undefined) {
        throw new InputError(
          `${weightsPath}: no BatchTopK inference threshold (lm-saes selects over each batch and stores none); supply batchtopkThreshold when loading`,
        );
      }
      if (!Number.isFinite(threshold))
        throw new InputError(
          `${weightsPath}: metadata '${THRESHOLD_METADATA}' is not a number (got ${JSON.stringify(stored)})`,
        );
      params.batchtopk_threshold = { data: Float32Array.of(threshold), shape: [] };
    }
    return { cfg, params, lmConfig, basisSource: recorded.source };
  } finally {
    file.close();
  }
}

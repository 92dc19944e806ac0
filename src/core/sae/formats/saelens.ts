// SAELens (jbloomAus/SAELens) dictionary directories: cfg.json + sae_weights.safetensors (a sparsity.safetensors
// beside them is ignored). SAELens names appear only here, at the import/export edge.
//
// The format (sae_lens/saes/sae.py, standard_sae.py, jumprelu_sae.py, topk_sae.py, batchtopk_sae.py, transcoder.py,
// loading/pretrained_sae_loaders.py):
// - v6 cfg.json = SAEConfig.to_dict(): architecture, d_in, d_sae, dtype, device, apply_b_dec_to_input (default
//   true), normalize_activations none|expected_average_only_in|constant_norm_rescale|layer_norm, reshape_activations
//   none|hook_z, metadata {model_name, hook_name, hook_head_index, context_size, prepend_bos, dataset_path,
//   sae_lens_version, …}; topk adds k and rescale_acts_by_decoder_norm (newer 6.x); transcoders add d_out,
//   hook_name_out, hook_layer_out, hook_head_index_out. Without a sae_lens_version ≥ 6 (top level or metadata)
//   SAELens reads the pre-6 flat layout: hook_name|hook_point, hook_layer, model_name, activation_fn_str,
//   activation_fn_kwargs.k, normalize_activations as a bool (true = expected_average_only_in).
// - Weights: W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_out], b_dec [d_out], threshold [d_sae] (jumprelu).
// - Forward: pre = (x − b_dec·apply_b_dec_to_input) W_enc + b_enc (transcoders never subtract b_dec); standard
//   relu(pre); jumprelu relu(pre)·(pre > threshold); topk: relu of the k largest pre, or of pre·‖W_dec,i‖ with
//   rescale_acts_by_decoder_norm (feature activations are then pre·‖W_dec,i‖; decode divides them back).
//   BatchTopK has no inference class: SAELens saves it as jumprelu with `threshold` filled with its learned
//   topk_threshold. expected_average_only_in is the identity at inference (its factor lives in
//   pretrained_saes.yaml and only from_pretrained folds it); constant_norm_rescale scales each token to norm
//   sqrt(d_in) and the output back.
//
// Mapping: relu ↔ standard / transcoder; jumprelu ↔ jumprelu / jumprelu_transcoder (threshold = exp(log θ));
// topk ↔ topk (k = top_k, rescale_acts_by_decoder_norm = sparsity_include_decoder_norm; SAELens has no TopK
// transcoder); batchtopk → jumprelu with threshold θ_b/‖W_D,i‖ (θ_b without decoder norms), since SAELens
// thresholds pre itself; it comes back as jumprelu. dataset-wise is folded (fold-normalization.ts) and written as
// 'none'; a token-wise SAE ↔ constant_norm_rescale; batch-wise has no equivalent. apply_b_dec_to_input ↔
// apply_decoder_bias_to_pre_encoder; without use_decoder_bias b_dec is zeros (it comes back as a zero b_D).
// Import maps 'none' to 'inference' and rejects expected_average_only_in (the factor is not in the files),
// layer_norm, head-indexed hooks and every other architecture (gated, skip_transcoder, …).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SaeConfigSchema, type SaeConfig } from '../../../protocol/dictionary-config';
import { parseConfig } from '../../config/validate';
import { InputError } from '../../errors';
import { saeLensProcessingKwargs, saeLensRecordedBasis, type BasisSource } from '../../lm/activation-basis';
import { openSafetensors, writeSafetensors, type TensorToWrite } from '../../tensor/safetensors';
import { hostParam, type HostParams } from '../host-tensor';
import { holdsAnyOf, writeDirAtomically } from './atomic-dir';
import { checkHostParams, readJsonObject, sameShape, shapeText } from './check-params';
import { foldActivationNorm } from './fold-normalization';
import { decoderNorms } from './host-math';

const CFG = 'cfg.json';
const WEIGHTS = 'sae_weights.safetensors';
/** The cfg.json layout we write; SAELens reads files older than 6.0 through its pre-6 converter. */
const FORMAT_VERSION = '6.0.0';
/** SAELens architectures we read, and the act_fn each is. */
const ARCHITECTURES = {
  standard: 'relu',
  jumprelu: 'jumprelu',
  topk: 'topk',
  transcoder: 'relu',
  jumprelu_transcoder: 'jumprelu',
} as const;
type Architecture = keyof typeof ARCHITECTURES;

export interface SaeLensMeta {
  model_name?: string;
  hook_layer?: number;
  context_size?: number;
  prepend_bos?: boolean;
  dataset_path?: string;
}

/** The layer of a TransformerLens block hook (`blocks.{L}.…`). */
function hookLayer(hook: string): number | undefined {
  const m = /^blocks\.(\d+)\./.exec(hook);
  return m ? Number(m[1]) : undefined;
}

function batchTopKThresholds(cfg: SaeConfig, params: HostParams): Float32Array {
  const theta = hostParam(params, 'batchtopk_threshold').data[0]!;
  if (!cfg.sparsity_include_decoder_norm) return new Float32Array(cfg.d_sae).fill(theta);
  // Ours gates pre·‖W_D,i‖ > θ, i.e. pre > θ/‖W_D,i‖; a zero decoder row passes iff 0 > θ.
  const norms = decoderNorms(hostParam(params, 'W_D').data, cfg.d_sae, cfg.d_model);
  return Float32Array.from(norms, (n) => (n > 0 ? theta / n : theta >= 0 ? Infinity : 0));
}

/** Writes `dir` (atomically, replacing an existing SAELens dictionary there) for SAELens ≥ 6. */
export function exportSaeLens(dir: string, cfg: SaeConfig, params: HostParams, meta: SaeLensMeta = {}): void {
  checkHostParams(cfg, params, dir);
  const transcoder = cfg.hook_point_out !== cfg.hook_point_in;
  if (cfg.norm_activation === 'batch-wise')
    throw new InputError(
      `${dir}: norm_activation 'batch-wise' has no SAELens equivalent (the scale depends on each batch)`,
    );
  if (cfg.norm_activation === 'token-wise' && transcoder) {
    throw new InputError(
      `${dir}: a token-wise transcoder cannot be exported to SAELens (its output scale comes from the target activation)`,
    );
  }
  // dataset-wise → inference; token-wise stays a runtime step (constant_norm_rescale).
  const { cfg: c, params: p } =
    cfg.norm_activation === 'dataset-wise' ? foldActivationNorm(cfg, params) : { cfg, params };
  if (c.act_fn === 'topk' && transcoder)
    throw new InputError(`${dir}: SAELens has no TopK transcoder (architectures: transcoder, jumprelu_transcoder)`);
  const thresholded = c.act_fn === 'jumprelu' || c.act_fn === 'batchtopk';
  const architecture: Architecture =
    c.act_fn === 'topk'
      ? 'topk'
      : transcoder
        ? thresholded
          ? 'jumprelu_transcoder'
          : 'transcoder'
        : thresholded
          ? 'jumprelu'
          : 'standard';

  const f32 = (data: Float32Array, shape: number[]): TensorToWrite => ({ dtype: 'F32', shape, data });
  const tensors: Record<string, TensorToWrite> = {
    W_enc: f32(p.W_E!.data, [c.d_model, c.d_sae]),
    b_enc: f32(p.b_E!.data, [c.d_sae]),
    W_dec: f32(p.W_D!.data, [c.d_sae, c.d_model]),
    b_dec: f32(p.b_D?.data ?? new Float32Array(c.d_model), [c.d_model]),
  };
  if (c.act_fn === 'jumprelu')
    tensors.threshold = f32(Float32Array.from(p.log_jumprelu_threshold!.data, Math.exp), [c.d_sae]);
  if (c.act_fn === 'batchtopk') tensors.threshold = f32(batchTopKThresholds(c, p), [c.d_sae]);
  const json = {
    architecture,
    d_in: c.d_model,
    d_sae: c.d_sae,
    dtype: 'float32',
    device: 'cpu',
    apply_b_dec_to_input: !transcoder && c.apply_decoder_bias_to_pre_encoder && c.use_decoder_bias,
    normalize_activations: c.norm_activation === 'token-wise' ? 'constant_norm_rescale' : 'none',
    reshape_activations: c.hook_point_in.endsWith('hook_z') ? 'hook_z' : 'none',
    ...(architecture === 'topk' ? { k: c.top_k, rescale_acts_by_decoder_norm: c.sparsity_include_decoder_norm } : {}),
    ...(transcoder
      ? {
          d_out: c.d_model,
          hook_name_out: c.hook_point_out,
          hook_layer_out: hookLayer(c.hook_point_out),
          hook_head_index_out: null,
        }
      : {}),
    metadata: {
      model_name: meta.model_name ?? c.model_name ?? undefined,
      hook_name: c.hook_point_in,
      hook_layer: meta.hook_layer ?? hookLayer(c.hook_point_in),
      hook_head_index: null,
      context_size: meta.context_size,
      prepend_bos: meta.prepend_bos,
      dataset_path: meta.dataset_path,
      // SAELens's load_model passes these to HookedTransformer.from_pretrained_no_processing: the basis.
      model_class_name: 'HookedTransformer',
      model_from_pretrained_kwargs: saeLensProcessingKwargs(c.activation_basis),
      sae_lens_version: FORMAT_VERSION,
      sae_lens_training_version: FORMAT_VERSION,
    },
  };
  writeDirAtomically(dir, { what: 'SAELens dictionary', canReplace: holdsAnyOf([CFG, WEIGHTS]) }, (w) => {
    writeSafetensors(join(w.dir, WEIGHTS), tensors);
    w.writeFile(CFG, `${JSON.stringify(json, null, 2)}\n`); // last: see atomic-dir.ts
  });
}

const optionalString = z.string().nullish();
/** The cfg.json fields we read, v6 and pre-6 names (anything else SAELens writes is allowed and ignored). */
const SaeLensCfgSchema = z.looseObject({
  architecture: z.string().default('standard'),
  d_in: z.number().int().positive(),
  d_sae: z.number().int().positive(),
  d_out: z.number().int().positive().optional(),
  apply_b_dec_to_input: z.boolean().default(true),
  normalize_activations: z
    .union([z.enum(['none', 'expected_average_only_in', 'constant_norm_rescale', 'layer_norm']), z.boolean()])
    .nullish(),
  reshape_activations: z.enum(['none', 'hook_z']).optional(),
  k: z.number().int().positive().optional(),
  rescale_acts_by_decoder_norm: z.boolean().default(false),
  hook_name_out: z.string().min(1).optional(),
  activation_fn: optionalString,
  activation_fn_str: optionalString,
  activation_fn_kwargs: z.looseObject({ k: z.number().int().positive().optional() }).nullish(),
  hook_name: optionalString,
  hook_point: optionalString,
  hook_head_index: z.number().int().nullish(),
  hook_point_head_index: z.number().int().nullish(),
  model_name: optionalString,
  metadata: z
    .looseObject({ hook_name: optionalString, hook_head_index: z.number().int().nullish(), model_name: optionalString })
    .optional(),
});

function readCfg(cfgPath: string): {
  input: Record<string, unknown>;
  architecture: Architecture;
  dOut: number;
  basisSource: BasisSource;
} {
  const raw = readJsonObject(cfgPath);
  const c = parseConfig(SaeLensCfgSchema, raw, cfgPath);
  const recorded = saeLensRecordedBasis(raw, cfgPath);
  const fail = (field: string, detail: string): never => {
    throw new InputError(`${cfgPath}: field '${field}': ${detail}`);
  };
  const act = c.activation_fn ?? c.activation_fn_str ?? 'relu';
  if (act !== 'relu' && act !== 'topk') fail('activation_fn', `'${act}' is not supported (relu, topk)`);
  const name = c.architecture === 'standard' && act === 'topk' ? 'topk' : c.architecture; // pre-6 TopK: standard + topk
  if (!(name in ARCHITECTURES))
    fail('architecture', `'${name}' is not supported (supported: ${Object.keys(ARCHITECTURES).join(', ')})`);
  const architecture = name as Architecture;
  const transcoder = architecture.endsWith('transcoder');
  const hook = c.metadata?.hook_name ?? c.hook_name ?? c.hook_point;
  if (!hook) fail('metadata.hook_name', 'missing');
  if ((c.metadata?.hook_head_index ?? c.hook_head_index ?? c.hook_point_head_index ?? null) !== null)
    fail('metadata.hook_head_index', 'head-indexed hooks are not supported');
  const dOut = transcoder ? (c.d_out ?? fail('d_out', 'missing')) : c.d_in;
  if (dOut !== c.d_in)
    fail('d_out', `must equal d_in = ${c.d_in} (different input and output widths are not supported)`);
  const hookOut = transcoder ? (c.hook_name_out ?? fail('hook_name_out', 'missing')) : hook;
  const normalize = c.normalize_activations === true ? 'expected_average_only_in' : c.normalize_activations || 'none';
  if (normalize === 'expected_average_only_in') {
    fail(
      'normalize_activations',
      "'expected_average_only_in' needs a scaling factor this file does not hold; fold it in SAELens (sae.fold_activation_norm_scaling_factor) and save again",
    );
  }
  if (normalize === 'layer_norm') fail('normalize_activations', "'layer_norm' is not supported");
  if (normalize === 'constant_norm_rescale' && transcoder)
    fail('normalize_activations', "'constant_norm_rescale' is not supported for transcoders");
  const actFn = ARCHITECTURES[architecture];
  const k = c.k ?? c.activation_fn_kwargs?.k;
  if (actFn === 'topk' && k === undefined) fail('k', 'missing');
  const input = {
    sae_type: 'sae',
    hook_point_in: hook,
    hook_point_out: hookOut,
    d_model: c.d_in,
    d_sae: c.d_sae,
    act_fn: actFn,
    ...(actFn === 'topk' ? { top_k: k } : {}),
    use_decoder_bias: true,
    apply_decoder_bias_to_pre_encoder: !transcoder && c.apply_b_dec_to_input,
    norm_activation: normalize === 'constant_norm_rescale' ? 'token-wise' : 'inference',
    sparsity_include_decoder_norm: actFn === 'topk' && c.rescale_acts_by_decoder_norm,
    dataset_average_activation_norm: null,
    model_name: c.metadata?.model_name ?? c.model_name ?? null,
    activation_basis: recorded.basis,
  };
  return { input, architecture, dOut, basisSource: recorded.source };
}

/** Reads a SAELens dictionary directory (v6, or the pre-6 flat cfg.json) into our `sae` layout. */
export function importSaeLens(dir: string): { cfg: SaeConfig; params: HostParams; basisSource: BasisSource } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: no such dictionary directory`);
  const cfgPath = join(dir, CFG);
  if (!existsSync(cfgPath))
    throw new InputError(`${cfgPath}: missing (a SAELens dictionary directory holds ${CFG} and ${WEIGHTS})`);
  const { input, architecture, dOut, basisSource } = readCfg(cfgPath);
  const cfg = parseConfig(SaeConfigSchema, input, cfgPath);
  const weightsPath = join(dir, WEIGHTS);
  if (!existsSync(weightsPath)) throw new InputError(`${weightsPath}: missing`);
  const expected: Record<string, number[]> = {
    W_enc: [cfg.d_model, cfg.d_sae],
    b_enc: [cfg.d_sae],
    W_dec: [cfg.d_sae, dOut],
    b_dec: [dOut],
  };
  if (ARCHITECTURES[architecture] === 'jumprelu') expected.threshold = [cfg.d_sae];
  const file = openSafetensors(weightsPath);
  const read: Record<string, Float32Array> = {};
  try {
    for (const name of file.names()) {
      // Pre-6 files may carry a finetuning scaling factor; all ones means none.
      if (
        (name === 'scaling_factor' || name === 'finetuning_scaling_factor') &&
        file.readFloat32(name).every((v) => v === 1)
      )
        continue;
      const shape = expected[name];
      if (!shape)
        throw new InputError(
          `${weightsPath}: unexpected tensor '${name}' (a SAELens ${architecture} dictionary holds ${Object.keys(expected).join(', ')})`,
        );
      const actual = file.info(name).shape;
      if (!sameShape(actual, shape))
        throw new InputError(
          `${weightsPath}: tensor '${name}' has shape ${shapeText(actual)}, expected ${shapeText(shape)}`,
        );
      read[name] = file.readFloat32(name);
    }
  } finally {
    file.close();
  }
  for (const [name, shape] of Object.entries(expected)) {
    if (!read[name])
      throw new InputError(`${weightsPath}: missing tensor '${name}' (expected shape ${shapeText(shape)})`);
  }
  const params: HostParams = {
    W_E: { data: read.W_enc!, shape: [cfg.d_model, cfg.d_sae] },
    b_E: { data: read.b_enc!, shape: [cfg.d_sae] },
    W_D: { data: read.W_dec!, shape: [cfg.d_sae, cfg.d_model] },
    b_D: { data: read.b_dec!, shape: [cfg.d_model] },
  };
  // θ ≤ 0 gates like θ → 0⁺ after SAELens's ReLU, i.e. log θ = −∞.
  if (read.threshold)
    params.log_jumprelu_threshold = {
      data: Float32Array.from(read.threshold, (t) => (t > 0 ? Math.log(t) : -Infinity)),
      shape: [cfg.d_sae],
    };
  return { cfg, params, basisSource };
}

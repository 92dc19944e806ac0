// The cross-layer transcoder (lm-saes `CrossLayerTranscoder`, sae_type 'clt'): per layer s an encoder
// h_s = x_s W_E[s] + b_E[s], the gate f_s = act(h_s ⊙ n_s) / n_s with n_s the norm of feature i's decoders into every
// target layer t ≥ s (under no-grad), and per target t the output y_t = Σ_{s≤t} f_s W_D.{t}[s] + b_D.{t}.
// Float64 reference, file layout, initialisation, fold and metrics; the tensor forward is in ./clt-tf.ts.
import { CltConfigObject, CltConfigSchema, type CltConfig } from '../../../protocol/kind-configs/clt';
import { InputError } from '../../errors';
import type { HostParams } from '../../sae/host-tensor';
import { decoderNormGate, f64, l0PerAxis, matmul, uniformGenerator } from '../host64';
import type { DictionaryKind, HostForward, HostInput, KindMetrics, ReferenceForwardOptions } from '../kind';
import { cltTf } from './clt-tf';
import { DICTIONARY_KIND_TEXTS } from '../../../protocol/dictionary-kinds';

export const CLT_JUMPRELU_KEY = 'activation_function.log_jumprelu_threshold';
export const cltDecoderKey = (t: number): string => `W_D.${t}`;
export const cltDecoderBiasKey = (t: number): string => `b_D.${t}`;

/** lm-saes config keys that choose kernels or record how a file was loaded: no bearing on the forward pass. */
const LM_SAES_ONLY_KEYS = [
  'use_triton_kernel',
  'sparsity_threshold_for_triton_spmm_kernel',
  'decode_with_csr',
  'sparsity_threshold_for_csr',
  'sae_pretrained_name_or_path',
  'strict_loading',
  'device',
  'dtype',
  'promote_act_fn_dtype',
];

const layers = (cfg: CltConfig): number => cfg.hook_points_in.length;

function stateShapes(cfg: CltConfig): Record<string, number[]> {
  const L = layers(cfg);
  const { d_model: d, d_sae: F } = cfg;
  const shapes: Record<string, number[]> = { W_E: [L, d, F], b_E: [L, F] };
  for (let t = 0; t < L; t++) shapes[cltDecoderKey(t)] = [t + 1, F, d];
  for (let t = 0; t < L; t++) shapes[cltDecoderBiasKey(t)] = [d];
  if (cfg.act_fn === 'jumprelu') shapes[CLT_JUMPRELU_KEY] = [L, F];
  return shapes;
}

/** n [L, F]: n[s, i] = sqrt(Σ_{t≥s} ‖W_D.{t}[s, i, :]‖²), the norm of feature (s, i)'s concatenated decoders. */
export function cltGateNorms(cfg: CltConfig, params: HostParams): Float64Array {
  const perTarget = cltDecoderNormsPerTarget(cfg, params);
  const L = layers(cfg);
  const out = new Float64Array(L * cfg.d_sae);
  for (let r = 0; r < out.length; r++) {
    let s2 = 0;
    for (let t = 0; t < L; t++) s2 += perTarget[r * L + t]! ** 2;
    out[r] = Math.sqrt(s2);
  }
  return out;
}

/**
 * For the feature page: ‖W_D.{t}[s, i]‖ for every feature (s, i) and target layer t, as [L·F, L] (row s·F + i, the
 * order of featureActs' [A, F]); 0 for targets t < s, which a feature of layer s cannot write to.
 */
export function cltDecoderNormsPerTarget(cfg: CltConfig, params: HostParams): Float64Array {
  const L = layers(cfg);
  const { d_model: d, d_sae: F } = cfg;
  const out = new Float64Array(L * F * L);
  for (let t = 0; t < L; t++) {
    const W = f64(params, cltDecoderKey(t)); // [t+1, F, d]
    for (let s = 0; s <= t; s++)
      for (let i = 0; i < F; i++) {
        let s2 = 0;
        for (let c = 0; c < d; c++) s2 += W[(s * F + i) * d + c]! ** 2;
        out[(s * F + i) * L + t] = Math.sqrt(s2);
      }
  }
  return out;
}

/** The selections of the TopK family over h [N, L, F] (entry (n, s, i) at (n·L + s)·F + i) and the k of each. */
function selections(cfg: CltConfig, N: number, k: number) {
  const L = layers(cfg);
  const F = cfg.d_sae;
  switch (cfg.act_fn) {
    case 'layertopk': // a token's whole L×F grid, k in total (lm-saes's code; its docstring says k·L)
      return { groups: { count: N, size: L * F, index: (g: number, j: number) => g * L * F + j }, k };
    case 'batchtopk': // per layer over the batch's B×F, k·B in total
      return {
        groups: { count: L, size: N * F, index: (s: number, j: number) => (Math.floor(j / F) * L + s) * F + (j % F) },
        k: k * N,
      };
    case 'batchlayertopk': // the whole batch's B×L×F, k·B in total
      return { groups: { count: 1, size: N * L * F, index: (_g: number, j: number) => j }, k: k * N };
    default: // topk per (token, layer) over F; relu and jumprelu ignore the groups
      return { groups: { count: N * L, size: F, index: (g: number, j: number) => g * F + j }, k };
  }
}

export interface CltReferenceOptions extends ReferenceForwardOptions {
  /** Gate norms n [L, F] to use instead of those of params (a test holds n fixed, as lm-saes's no-grad does). */
  norms?: Float64Array;
}

/** The float64 forward pass of the specification (tokens first: x [N, L, d] → f, h [N, L, F], ŷ [N, L, d]). */
export function cltReference(
  cfg: CltConfig,
  params: HostParams,
  input: HostInput,
  opts: CltReferenceOptions = {},
): HostForward {
  const L = layers(cfg);
  const { d_model: d, d_sae: F } = cfg;
  const N = input.B * input.S;
  const W_E = f64(params, 'W_E');
  const b_E = f64(params, 'b_E');
  const h = new Float64Array(N * L * F);
  const xs = new Float64Array(N * d);
  for (let s = 0; s < L; s++) {
    for (let n = 0; n < N; n++) for (let c = 0; c < d; c++) xs[n * d + c] = input.x[(n * L + s) * d + c]!;
    const hs = matmul(xs, W_E.subarray(s * d * F, (s + 1) * d * F), N, d, F); // [N, F]
    for (let n = 0; n < N; n++) for (let i = 0; i < F; i++) h[(n * L + s) * F + i] = hs[n * F + i]! + b_E[s * F + i]!;
  }
  const n = opts.norms ?? cltGateNorms(cfg, params);
  let entryNorms: Float64Array | null = null;
  if (cfg.sparsity_include_decoder_norm) {
    entryNorms = new Float64Array(h.length);
    for (let e = 0; e < h.length; e++) entryNorms[e] = n[e % (L * F)]!;
  }
  const logThreshold = cfg.act_fn === 'jumprelu' ? f64(params, CLT_JUMPRELU_KEY) : null;
  const sel = selections(cfg, N, opts.k ?? cfg.top_k);
  const featureActs = decoderNormGate(h, entryNorms, cfg.act_fn, sel.groups, {
    k: sel.k,
    logThreshold: (e) => logThreshold![e % (L * F)]!,
  });
  const recon = new Float64Array(N * L * d);
  const fs = new Float64Array(N * F);
  for (let t = 0; t < L; t++) {
    const W = f64(params, cltDecoderKey(t)); // [t+1, F, d]
    const b = f64(params, cltDecoderBiasKey(t));
    for (let s = 0; s <= t; s++) {
      for (let r = 0; r < N; r++) for (let i = 0; i < F; i++) fs[r * F + i] = featureActs[(r * L + s) * F + i]!;
      const ys = matmul(fs, W.subarray(s * F * d, (s + 1) * F * d), N, F, d);
      for (let r = 0; r < N; r++) for (let c = 0; c < d; c++) recon[(r * L + t) * d + c]! += ys[r * d + c]!;
    }
    for (let r = 0; r < N; r++) for (let c = 0; c < d; c++) recon[(r * L + t) * d + c]! += b[c]!;
  }
  return { featureActs, hiddenPre: h, recon };
}

/** lm-saes's init_parameters: W_E ~ U(±1/√F), every W_D.{t} ~ U(±1/√(L·d)), biases 0, log θ = log jumprelu_threshold. */
function init(cfg: CltConfig, seed: number): HostParams {
  const L = layers(cfg);
  const { d_model: d, d_sae: F } = cfg;
  const draw = uniformGenerator(seed);
  const encoderBound = 1 / Math.sqrt(F);
  const decoderBound = 1 / Math.sqrt(L * d);
  const params: HostParams = {
    W_E: { data: Float32Array.from({ length: L * d * F }, () => draw(encoderBound)), shape: [L, d, F] },
    b_E: { data: new Float32Array(L * F), shape: [L, F] },
  };
  for (let t = 0; t < L; t++) {
    const W = Float32Array.from({ length: (t + 1) * F * d }, () => draw(decoderBound));
    if (cfg.init_cross_layer_decoder_all_zero) W.fill(0, 0, t * F * d); // W_D.{t}[s < t] = 0
    params[cltDecoderKey(t)] = { data: W, shape: [t + 1, F, d] };
    params[cltDecoderBiasKey(t)] = { data: new Float32Array(d), shape: [d] };
  }
  if (cfg.act_fn === 'jumprelu')
    params[CLT_JUMPRELU_KEY] = {
      data: new Float32Array(L * F).fill(Math.log(cfg.jumprelu_threshold)),
      shape: [L, F],
    };
  return params;
}

/**
 * d_sae / d_model, nudged up by an ulp where needed so that lm-saes's int(d_model · expansion_factor) (which
 * truncates) gives d_sae back.
 */
function lmSaesExpansionFactor(dModel: number, dSae: number): number {
  const bits = new Float64Array([dSae / dModel]);
  const word = new BigInt64Array(bits.buffer);
  while (Math.trunc(dModel * bits[0]!) < dSae) word[0]! += 1n;
  return bits[0]!;
}

function configJson(cfg: CltConfig): Record<string, unknown> {
  return {
    sae_type: 'clt',
    d_model: cfg.d_model,
    expansion_factor: lmSaesExpansionFactor(cfg.d_model, cfg.d_sae),
    use_decoder_bias: cfg.use_decoder_bias,
    act_fn: cfg.act_fn,
    norm_activation: cfg.norm_activation,
    sparsity_include_decoder_norm: cfg.sparsity_include_decoder_norm,
    top_k: cfg.top_k,
    use_triton_kernel: false,
    sparsity_threshold_for_triton_spmm_kernel: 0.996,
    jumprelu_threshold_window: cfg.jumprelu_threshold_window,
    init_cross_layer_decoder_all_zero: cfg.init_cross_layer_decoder_all_zero,
    hook_points_in: [...cfg.hook_points_in],
    hook_points_out: [...cfg.hook_points_out],
    decode_with_csr: false,
    sparsity_threshold_for_csr: 0.05,
    // SAE Studio's own fields (pydantic ignores them): d_sae for readers, the initial θ, provenance.
    d_sae: cfg.d_sae,
    jumprelu_threshold: cfg.jumprelu_threshold,
    model_name: cfg.model_name,
    activation_basis: cfg.activation_basis,
  };
}

function translateLmSaesConfig(raw: Record<string, unknown>, file: string): Record<string, unknown> {
  const input: Record<string, unknown> = { ...raw };
  for (const key of LM_SAES_ONLY_KEYS) delete input[key];
  if (input.sae_type !== 'clt')
    throw new InputError(
      `${file}: field 'sae_type': expected 'clt' for a cross-layer transcoder (got ${JSON.stringify(input.sae_type)})`,
    );
  if ('jumprelu_threshold_grad_scale' in input) {
    input.jumprelu_threshold_window ??= input.jumprelu_threshold_grad_scale; // its name before lm-saes renamed it
    delete input.jumprelu_threshold_grad_scale;
  }
  if (input.d_sae === undefined && typeof input.expansion_factor === 'number' && typeof input.d_model === 'number') {
    input.d_sae = Math.trunc(input.d_model * input.expansion_factor); // lm-saes: int(d_model · expansion_factor)
    delete input.expansion_factor;
  }
  const known = new Set(Object.keys(CltConfigObject.shape));
  for (const key of Object.keys(input))
    if (!known.has(key))
      throw new InputError(
        `${file}: field '${key}': not a field SAE Studio knows for an lm-saes 'clt' dictionary; it may change the forward pass, so it is not ignored`,
      );
  return input;
}

/** √d / mean‖x_hook‖ for a dataset-wise dictionary; an InputError naming the hook when a norm is missing. */
function normFactor(cfg: CltConfig, hook: string): number {
  const norm = cfg.dataset_average_activation_norm?.[hook];
  if (norm === undefined)
    throw new InputError(
      `field 'dataset_average_activation_norm': no norm for '${hook}' (needed to fold a dataset-wise dictionary)`,
    );
  return Math.sqrt(cfg.d_model) / norm;
}

/**
 * Folds c_in(s) = √d/‖x_in(s)‖ and c_out(t) into the weights, as lm-saes's standardize_parameters_of_dataset_norm:
 * b_E[s] /= c_in(s), W_D.{t}[s] *= c_in(s)/c_out(t), b_D.{t} /= c_out(t); then f_s is f'_s/c_in(s) and the gate score
 * h·n changes by r[s,i] = n_new/(c_in(s)·n) (1/c_in(s) without gating). JumpReLU: log θ += log r, exact always (lm-saes
 * divides θ by c_in, exact only when r = 1/c_in). Ungated layertopk/batchlayertopk with unequal c_in: W_E[s] *= c_in(s)
 * and b_E kept, so f and the scores do not change (exact). Gated TopK family: exact when r is constant over each
 * selection (all c_out equal), otherwise approximate and said in `warnings`.
 */
function fold(cfg: CltConfig, params: HostParams): { cfg: CltConfig; params: HostParams; warnings: string[] } {
  if (cfg.norm_activation === 'inference') return { cfg, params, warnings: [] };
  if (cfg.norm_activation !== 'dataset-wise')
    throw new InputError(
      `field 'norm_activation': '${cfg.norm_activation}' cannot be folded into the weights (each input is scaled by its own norm); only 'dataset-wise' can`,
    );
  const L = layers(cfg);
  const { d_model: d, d_sae: F } = cfg;
  const cIn = cfg.hook_points_in.map((h) => normFactor(cfg, h));
  const cOut = cfg.hook_points_out.map((h) => normFactor(cfg, h));
  const layerWide = cfg.act_fn === 'layertopk' || cfg.act_fn === 'batchlayertopk';
  const unequal = (c: number[]) => c.some((v) => Math.abs(v - c[0]!) > 1e-12 * Math.abs(c[0]!));
  // α[s]: the factor f_s gets (lm-saes: 1/c_in(s)); 1 where the scores must keep one scale across layers.
  const alpha = cIn.map((c) => (!cfg.sparsity_include_decoder_norm && layerWide && unequal(cIn) ? 1 : 1 / c));
  const out: HostParams = {};
  const W_E = f64(params, 'W_E');
  const b_E = f64(params, 'b_E');
  for (let s = 0; s < L; s++) {
    const scale = alpha[s]! * cIn[s]!;
    for (let j = s * d * F; j < (s + 1) * d * F; j++) W_E[j] = W_E[j]! * scale;
    for (let i = 0; i < F; i++) b_E[s * F + i] = b_E[s * F + i]! * alpha[s]!;
  }
  out.W_E = { data: Float32Array.from(W_E), shape: [L, d, F] };
  out.b_E = { data: Float32Array.from(b_E), shape: [L, F] };
  for (let t = 0; t < L; t++) {
    const W = f64(params, cltDecoderKey(t));
    for (let s = 0; s <= t; s++) {
      const scale = 1 / (alpha[s]! * cOut[t]!);
      for (let j = s * F * d; j < (s + 1) * F * d; j++) W[j] = W[j]! * scale;
    }
    out[cltDecoderKey(t)] = { data: Float32Array.from(W), shape: [t + 1, F, d] };
    const b = f64(params, cltDecoderBiasKey(t)).map((v) => v / cOut[t]!);
    out[cltDecoderBiasKey(t)] = { data: Float32Array.from(b), shape: [d] };
  }
  const nOld = cltGateNorms(cfg, params);
  const nNew = cltGateNorms(cfg, out);
  const ratio = new Float64Array(L * F); // score_new / score_old per feature; NaN where n = 0 (never active)
  for (let e = 0; e < L * F; e++) {
    const s = Math.floor(e / F);
    ratio[e] = cfg.sparsity_include_decoder_norm
      ? nOld[e]! > 0
        ? (alpha[s]! * nNew[e]!) / nOld[e]!
        : Number.NaN
      : alpha[s]!;
  }
  const warnings: string[] = [];
  if (cfg.act_fn === 'jumprelu') {
    const logT = f64(params, CLT_JUMPRELU_KEY);
    out[CLT_JUMPRELU_KEY] = {
      data: Float32Array.from(logT, (v, e) => (Number.isNaN(ratio[e]) ? v : v + Math.log(ratio[e]!))),
      shape: [L, F],
    };
  } else if (cfg.act_fn !== 'relu') {
    const groups = layerWide ? [ratio] : Array.from({ length: L }, (_, s) => ratio.subarray(s * F, (s + 1) * F));
    const constant = groups.every((g) => {
      const vals = Array.from(g).filter((v) => !Number.isNaN(v));
      return vals.every((v) => Math.abs(v - vals[0]!) <= 1e-6 * Math.abs(vals[0]!)); // float32 weights
    });
    if (!constant)
      warnings.push(
        `fold: ${cfg.act_fn} selects on h·n with n the norm over all target layers, and the output norms differ across layers, so the folded selection can differ from the dataset-wise one (approximate fold)`,
      );
  }
  for (const [name, t] of Object.entries(params)) if (!(name in out)) out[name] = t;
  return {
    cfg: { ...cfg, norm_activation: 'inference', dataset_average_activation_norm: null },
    params: out,
    warnings,
  };
}

/**
 * lm-saes's CLT metrics (what compute_training_metrics intends; its code calls .size(1) on 1-D tensors): the legacy
 * EV per layer, mean_tok(1 − ‖ŷ_t−y_t‖²/‖y_t−ȳ_t‖²), the L0 per layer, and metrics/l0 = their sum over layers.
 */
function metrics(cfg: CltConfig, _params: HostParams, fwd: HostForward, y: Float64Array, tokens: number): KindMetrics {
  const L = layers(cfg);
  const { d_model: d, d_sae: F } = cfg;
  const out: KindMetrics = {};
  for (let t = 0; t < L; t++) {
    const mean = new Float64Array(d);
    for (let n = 0; n < tokens; n++) for (let c = 0; c < d; c++) mean[c]! += y[(n * L + t) * d + c]! / tokens;
    let ev = 0;
    for (let n = 0; n < tokens; n++) {
      let err = 0;
      let vari = 0;
      for (let c = 0; c < d; c++) {
        const i = (n * L + t) * d + c;
        err += (fwd.recon[i]! - y[i]!) ** 2;
        vari += (y[i]! - mean[c]!) ** 2;
      }
      ev += (1 - err / vari) / tokens;
    }
    out[`metrics/explained_variance_L${t}`] = ev;
  }
  const l0 = l0PerAxis(fwd.featureActs, tokens, L, F);
  l0.forEach((v, l) => (out[`metrics/l0_layer${l}`] = v));
  out['metrics/l0'] = l0.reduce((a, b) => a + b, 0);
  return out;
}

export const cltKind: DictionaryKind<CltConfig> = {
  saeType: 'clt',
  label: DICTIONARY_KIND_TEXTS.clt.label,
  description: DICTIONARY_KIND_TEXTS.clt.description,
  schema: CltConfigSchema,
  configJson,
  translateLmSaesConfig,
  hooksIn: (cfg) => [...cfg.hook_points_in],
  hooksOut: (cfg) => [...cfg.hook_points_out],
  featureAxes: layers,
  needsSequences: false,
  stateShapes,
  trainable: (cfg) => Object.keys(stateShapes(cfg)),
  buffers: () => ({}),
  init,
  reference: (cfg, params, input, opts) => cltReference(cfg, params, input, opts),
  gateNorms: cltGateNorms,
  fold,
  tf: cltTf,
  metrics,
};

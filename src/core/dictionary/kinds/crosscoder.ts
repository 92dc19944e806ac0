// The crosscoder kind (lm-saes `sae_type: "crosscoder"`, models/crosscoder.py): one sparse code shared by H heads.
//   h = Σ_h (x_h W_E^h + b_E^h)                     [F], one pre-activation for all heads
//   f^h = act(h ⊙ n^h) / n^h, n^h_i = ‖W_D^h[i, :]‖  [H, F], the heads differ only through their decoder norms
//   x̂_h = f^h W_D^h + b_D^h                          [H, d]
// Heads narrower than d_model are zero-padded to d_model by the caller (lm-saes's prepare_input does the same), so
// model diffing across widths works; hooksIn = hooksOut = hook_points, in head order.
import { InputError } from '../../errors';
import type { HostParams } from '../../sae/host-tensor';
import { CrossCoderConfigSchema, type CrossCoderConfig } from '../../../protocol/kind-configs/crosscoder';
import {
  decoderNormGate,
  explainedVariancePerAxis,
  f64,
  l0PerAxis,
  matmul,
  rowNorms64,
  uniformGenerator,
} from '../host64';
import type { DictionaryKind, HostForward, HostInput, KindMetrics, ReferenceForwardOptions } from '../kind';
import { CROSSCODER_JUMPRELU_KEY, crosscoderTf } from './crosscoder-tf';
import { DICTIONARY_KIND_TEXTS } from '../../../protocol/dictionary-kinds';

export { CROSSCODER_JUMPRELU_KEY };

/** lm-saes config keys with no bearing on the forward pass (kernels, loading info, placement): dropped on import. */
const LM_SAES_ONLY_KEYS = [
  'use_triton_kernel',
  'sparsity_threshold_for_triton_spmm_kernel',
  'sparsity_threshold_for_csr',
  'sae_pretrained_name_or_path',
  'strict_loading',
  'device',
  'dtype',
  'promote_act_fn_dtype',
];

/** d_sae / d_model, nudged up by an ulp where needed so that lm-saes's int(d_model · expansion_factor) is d_sae. */
function lmSaesExpansionFactor(dModel: number, dSae: number): number {
  const bits = new Float64Array([dSae / dModel]);
  const word = new BigInt64Array(bits.buffer);
  while (Math.trunc(dModel * bits[0]!) < dSae) word[0]! += 1n;
  return bits[0]!;
}

function stateShapes(cfg: CrossCoderConfig): Record<string, number[]> {
  const H = cfg.hook_points.length;
  const shapes: Record<string, number[]> = {
    W_E: [H, cfg.d_model, cfg.d_sae],
    b_E: [H, cfg.d_sae],
    W_D: [H, cfg.d_sae, cfg.d_model],
    b_D: [H, cfg.d_model],
  };
  if (cfg.act_fn === 'jumprelu') shapes[CROSSCODER_JUMPRELU_KEY] = [cfg.d_sae];
  return shapes;
}

/** The per-head decoder norms n [H, F] in float64. */
function gateNorms(cfg: CrossCoderConfig, params: HostParams): Float64Array {
  return rowNorms64(f64(params, 'W_D'), cfg.hook_points.length * cfg.d_sae, cfg.d_model);
}

function reference(
  cfg: CrossCoderConfig,
  params: HostParams,
  input: HostInput,
  opts: ReferenceForwardOptions = {},
): HostForward {
  const H = cfg.hook_points.length;
  const { d_model: d, d_sae: F } = cfg;
  const N = input.B * input.S;
  if (input.x.length !== N * H * d)
    throw new Error(`crosscoder reference: x holds ${input.x.length} values, expected B·S·H·d = ${N * H * d}`);
  // [N, H·d] · [H·d, F]: the sum over heads of x_h W_E^h, since W_E [H, d, F] is [H·d, F] row-major.
  const h = matmul(input.x, f64(params, 'W_E'), N, H * d, F); // [N, F]
  const bE = f64(params, 'b_E'); // [H, F]
  for (let t = 0; t < N; t++)
    for (let hd = 0; hd < H; hd++) for (let i = 0; i < F; i++) h[t * F + i]! += bE[hd * F + i]!;
  const n = gateNorms(cfg, params); // [H, F]
  const hiddenPre = new Float64Array(N * H * F); // [N, H, F]: lm-saes repeats h over the heads
  const norms = new Float64Array(N * H * F);
  for (let t = 0; t < N; t++) {
    for (let hd = 0; hd < H; hd++) {
      hiddenPre.set(h.subarray(t * F, (t + 1) * F), (t * H + hd) * F);
      norms.set(n.subarray(hd * F, (hd + 1) * F), (t * H + hd) * F);
    }
  }
  const k = opts.k ?? cfg.top_k;
  // TopK picks per (token, head); BatchTopK keeps k·N·H over the whole batch and every head (lm-saes flattens
  // [batch, heads] before its top-k over (−2, −1)); ReLU and JumpReLU are elementwise.
  const groups =
    cfg.act_fn === 'batchtopk'
      ? { count: 1, size: N * H * F, index: (_g: number, j: number) => j }
      : { count: N * H, size: F, index: (g: number, j: number) => g * F + j };
  const logTheta = cfg.act_fn === 'jumprelu' ? f64(params, CROSSCODER_JUMPRELU_KEY) : null;
  const featureActs = decoderNormGate(hiddenPre, norms, cfg.act_fn, groups, {
    k: cfg.act_fn === 'batchtopk' ? k * N * H : k,
    ...(logTheta ? { logThreshold: (e: number) => logTheta[e % F]! } : {}),
  });
  const WD = f64(params, 'W_D'); // [H, F, d]
  const bD = f64(params, 'b_D'); // [H, d]
  const recon = new Float64Array(N * H * d); // [N, H, d]
  for (let t = 0; t < N; t++) {
    for (let hd = 0; hd < H; hd++) {
      const out = (t * H + hd) * d;
      for (let c = 0; c < d; c++) recon[out + c] = bD[hd * d + c]!;
      for (let i = 0; i < F; i++) {
        const a = featureActs[(t * H + hd) * F + i]!;
        if (a === 0) continue;
        const row = (hd * F + i) * d;
        for (let c = 0; c < d; c++) recon[out + c]! += a * WD[row + c]!;
      }
    }
  }
  return { featureActs, hiddenPre, recon };
}

/**
 * lm-saes's initialisation before any data-dependent step: one W_E ~ U(±1) [d, F] and one W_D ~ U(±1) [F, d] drawn
 * in that order and copied to every head, zero biases, log θ = log jumprelu_threshold; then the Initializer's
 * default init_encoder_with_decoder_transpose (factor 1) sets W_E^h = W_D^hᵀ, so the encoder draw is overwritten.
 */
function init(cfg: CrossCoderConfig, seed: number): HostParams {
  const H = cfg.hook_points.length;
  const { d_model: d, d_sae: F } = cfg;
  const rand = uniformGenerator(seed);
  for (let j = 0; j < d * F; j++) rand(1); // lm-saes's W_E draw, replaced by the transpose below
  const wd = Float32Array.from({ length: F * d }, () => rand(1)); // [F, d]
  const WD = new Float32Array(H * F * d);
  const WE = new Float32Array(H * d * F);
  for (let hd = 0; hd < H; hd++) {
    WD.set(wd, hd * F * d);
    for (let i = 0; i < F; i++) for (let c = 0; c < d; c++) WE[(hd * d + c) * F + i] = wd[i * d + c]!;
  }
  const params: HostParams = {
    W_E: { data: WE, shape: [H, d, F] },
    b_E: { data: new Float32Array(H * F), shape: [H, F] },
    W_D: { data: WD, shape: [H, F, d] },
    b_D: { data: new Float32Array(H * d), shape: [H, d] },
  };
  if (cfg.act_fn === 'jumprelu')
    params[CROSSCODER_JUMPRELU_KEY] = {
      data: new Float32Array(F).fill(Math.log(cfg.jumprelu_threshold)),
      shape: [F],
    };
  return params;
}

/**
 * Folds c_h = √d / norm_h into the weights, exactly. With s a common scale (c when every c_h is c, else their
 * geometric mean): W_E^h ·= c_h/s, b_E /= s, W_D^h ·= s/c_h, b_D^h /= c_h. Then h_fold = h_norm / s and the gate
 * score h·n^h becomes h_norm·n^h / c_h: a per-head scale, which changes neither ReLU nor a per-head TopK, and
 * x̂_h comes out divided by c_h. With equal c_h this is lm-saes's fold (b_E and b_D divided by c, weights kept),
 * plus log θ −= log c for JumpReLU, which lm-saes leaves (inexact there). Unequal c_h cannot be folded into one
 * shared θ (JumpReLU) nor into a selection across heads (BatchTopK): an InputError, keep 'dataset-wise'.
 */
function fold(
  cfg: CrossCoderConfig,
  params: HostParams,
): { cfg: CrossCoderConfig; params: HostParams; warnings: string[] } {
  if (cfg.norm_activation !== 'dataset-wise')
    throw new InputError(
      `crosscoder fold: field 'norm_activation': only a 'dataset-wise' dictionary can be folded (got '${cfg.norm_activation}')`,
    );
  const H = cfg.hook_points.length;
  const { d_model: d, d_sae: F } = cfg;
  const norms = cfg.hook_points.map((hook) => {
    const v = cfg.dataset_average_activation_norm?.[hook];
    if (v === undefined)
      throw new InputError(
        `crosscoder fold: field 'dataset_average_activation_norm.${hook}': missing (folding needs every hook's norm)`,
      );
    return v;
  });
  const c = norms.map((v) => Math.sqrt(d) / v);
  const equal = norms.every((v) => v === norms[0]);
  if (!equal && (cfg.act_fn === 'jumprelu' || cfg.act_fn === 'batchtopk'))
    throw new InputError(
      `crosscoder fold: field 'dataset_average_activation_norm': the hooks' norms differ (${norms.join(', ')}), which a ${cfg.act_fn} crosscoder cannot fold exactly (${cfg.act_fn === 'jumprelu' ? 'one θ is shared by all heads' : 'the selection runs across heads'}); keep norm_activation 'dataset-wise'`,
    );
  const s = equal ? c[0]! : Math.exp(c.reduce((a, v) => a + Math.log(v), 0) / H);
  const scaled = (name: string, per: number, factor: (hd: number) => number) => {
    const src = f64(params, name);
    return Float32Array.from(src, (v, j) => v * factor(Math.floor(j / per)));
  };
  const out: HostParams = {
    ...params,
    W_E: { data: scaled('W_E', d * F, (hd) => c[hd]! / s), shape: [H, d, F] },
    b_E: { data: scaled('b_E', F, () => 1 / s), shape: [H, F] },
    W_D: { data: scaled('W_D', F * d, (hd) => s / c[hd]!), shape: [H, F, d] },
    b_D: { data: scaled('b_D', d, (hd) => 1 / c[hd]!), shape: [H, d] },
  };
  if (cfg.act_fn === 'jumprelu')
    out[CROSSCODER_JUMPRELU_KEY] = {
      data: Float32Array.from(f64(params, CROSSCODER_JUMPRELU_KEY), (v) => v - Math.log(s)),
      shape: [F],
    };
  return { cfg: { ...cfg, norm_activation: 'inference' }, params: out, warnings: [] };
}

/**
 * lm-saes's compute_training_metrics: per-head EV, L0 and l_rec (mean over tokens of Σ_d (x̂−y)²), metrics/l0 as
 * the mean of the per-head L0, and the mean decoder norm over the heads of every (token, feature) that fired in
 * some head, split by whether it fired in that head (NaN when nothing fired, as lm-saes's mean of nothing).
 */
function metrics(
  cfg: CrossCoderConfig,
  params: HostParams,
  fwd: HostForward,
  y: Float64Array,
  tokens: number,
): KindMetrics {
  const H = cfg.hook_points.length;
  const { d_model: d, d_sae: F } = cfg;
  const ev = explainedVariancePerAxis(fwd.recon, y, tokens, H, d);
  const l0 = l0PerAxis(fwd.featureActs, tokens, H, F);
  const out: KindMetrics = {};
  for (const [hd, hook] of cfg.hook_points.entries()) {
    let lRec = 0;
    for (let t = 0; t < tokens; t++)
      for (let c = 0; c < d; c++) lRec += (fwd.recon[(t * H + hd) * d + c]! - y[(t * H + hd) * d + c]!) ** 2;
    out[`crosscoder_metrics/${hook}/explained_variance`] = ev[hd]!;
    out[`crosscoder_metrics/${hook}/l0`] = l0[hd]!;
    out[`crosscoder_metrics/${hook}/l_rec`] = lRec / tokens;
  }
  const n = gateNorms(cfg, params);
  const sums = { on: 0, onCount: 0, off: 0, offCount: 0 };
  for (let t = 0; t < tokens; t++) {
    for (let i = 0; i < F; i++) {
      let fired = false;
      for (let hd = 0; hd < H; hd++) fired ||= fwd.featureActs[(t * H + hd) * F + i]! !== 0;
      if (!fired) continue;
      for (let hd = 0; hd < H; hd++) {
        if (fwd.featureActs[(t * H + hd) * F + i]! !== 0) {
          sums.on += n[hd * F + i]!;
          sums.onCount++;
        } else {
          sums.off += n[hd * F + i]!;
          sums.offCount++;
        }
      }
    }
  }
  out['crosscoder_metrics/mean_decoder_norm_activated_in_activated'] = sums.on / sums.onCount;
  out['crosscoder_metrics/mean_decoder_norm_non_activated_in_activated'] = sums.off / sums.offCount;
  out['metrics/l0'] = l0.reduce((a, v) => a + v, 0) / H;
  return out;
}

export interface CrosscoderFeatureHeadStats {
  /** ‖W_D^h[i, :]‖ per head [H]. */
  decoderNorms: number[];
  /** W_D^g[i, :] · W_D^h[i, :] [H][H]. */
  innerProducts: number[][];
  /** innerProducts / (‖·‖‖·‖) [H][H] (NaN where a head's decoder row is zero, as in lm-saes). */
  cosine: number[][];
}

/** The feature page's per-head decoder statistics of one feature (lm-saes's decoder_*_matrices, one row). */
export function crosscoderFeatureHeadStats(
  cfg: CrossCoderConfig,
  params: HostParams,
  feature: number,
): CrosscoderFeatureHeadStats {
  const H = cfg.hook_points.length;
  const { d_model: d, d_sae: F } = cfg;
  if (!Number.isInteger(feature) || feature < 0 || feature >= F)
    throw new InputError(`crosscoder feature: index ${feature} is out of range (expected an integer in 0..${F - 1})`);
  const WD = f64(params, 'W_D');
  const row = (hd: number) => WD.subarray((hd * F + feature) * d, (hd * F + feature + 1) * d);
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, c) => s + v * b[c]!, 0);
  const innerProducts = Array.from({ length: H }, (_, g) => Array.from({ length: H }, (_, h) => dot(row(g), row(h))));
  const decoderNorms = innerProducts.map((r, g) => Math.sqrt(r[g]!));
  const cosine = innerProducts.map((r, g) => r.map((v, h) => v / (decoderNorms[g]! * decoderNorms[h]!)));
  return { decoderNorms, innerProducts, cosine };
}

export const crosscoderKind: DictionaryKind<CrossCoderConfig> = {
  saeType: 'crosscoder',
  label: DICTIONARY_KIND_TEXTS.crosscoder.label,
  description: DICTIONARY_KIND_TEXTS.crosscoder.description,
  schema: CrossCoderConfigSchema,
  configJson: (cfg) => ({
    sae_type: cfg.sae_type,
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
    hook_points: [...cfg.hook_points],
    // SAE Studio's own fields (lm-saes's pydantic config ignores unknown keys).
    d_sae: cfg.d_sae,
    jumprelu_threshold: cfg.jumprelu_threshold,
    model_name: cfg.model_name,
    activation_basis: cfg.activation_basis,
  }),
  translateLmSaesConfig(raw, file) {
    const input: Record<string, unknown> = { ...raw };
    for (const key of LM_SAES_ONLY_KEYS) delete input[key];
    if (input.sae_type !== 'crosscoder')
      throw new InputError(`${file}: field 'sae_type': expected 'crosscoder' (got ${JSON.stringify(input.sae_type)})`);
    if ('jumprelu_threshold_grad_scale' in input) {
      input.jumprelu_threshold_window ??= input.jumprelu_threshold_grad_scale; // its name before lm-saes renamed it
      delete input.jumprelu_threshold_grad_scale;
    }
    if (input.d_sae === undefined && typeof input.expansion_factor === 'number' && typeof input.d_model === 'number') {
      input.d_sae = Math.trunc(input.d_model * input.expansion_factor); // lm-saes: int(d_model · expansion_factor)
      delete input.expansion_factor;
    }
    return input;
  },
  hooksIn: (cfg) => [...cfg.hook_points],
  hooksOut: (cfg) => [...cfg.hook_points],
  featureAxes: (cfg) => cfg.hook_points.length,
  needsSequences: false,
  stateShapes,
  trainable: (cfg) => Object.keys(stateShapes(cfg)),
  buffers: () => ({}),
  init,
  reference,
  gateNorms,
  fold,
  tf: crosscoderTf,
  metrics,
};

// MoLT, mixture of linear transforms (lm-saes `MixtureOfLinearTransform`, models/molt.py): an SAE-like encoder
// gates F low-rank transforms of the input, ŷ = Σ_i f_i·U_i(V_i x) + b_D, with the decoder fed the same normalised x.
// This file holds its file layout, initialisation, fold, metrics and the float64 reference (spec §4).
//
// Layout (lm-saes state_dict): W_E [d, F], b_E [F], `U_matrices.{r}` [count_r, d, r], `V_matrices.{r}`
// [count_r, r, d] per rank r ascending, b_D [d] when use_decoder_bias, and `activation_function.log_jumprelu_threshold`
// [F] for JumpReLU (the threshold of the gated score h·n, as lm-saes's JumpReLU module holds it).
// Gate: n_i = ‖U_iV_i‖_F, computed with the Gram trick ‖UV‖_F² = Σ_ab (UᵀU)_ab (VVᵀ)_ab (r×r, never d×d).
// Fold: lm-saes scales U and V by √(c_in/c_out), which leaves the transforms off by a factor c_in (f and x both
// shrink by 1/c_in); we scale them by c_in/√c_out so that U_iV_i gains c_in²/c_out and the fold is exact.
import type { MoltConfig } from '../../../protocol/kind-configs/molt';
import { MoltConfigSchema, moltRankBlocks } from '../../../protocol/kind-configs/molt';
import { InputError } from '../../errors';
import type { HostParams } from '../../sae/host-tensor';
import { hostParam } from '../../sae/host-tensor';
import { decoderNormGate, f64, matmul, uniformGenerator } from '../host64';
import type { DictionaryKind, HostForward, HostInput, KindMetrics, ReferenceForwardOptions } from '../kind';
import { moltTf } from './molt-tf';
import { DICTIONARY_KIND_TEXTS } from '../../../protocol/dictionary-kinds';

export const MOLT_JUMPRELU_KEY = 'activation_function.log_jumprelu_threshold';

export const uKey = (rank: number): string => `U_matrices.${rank}`;
export const vKey = (rank: number): string => `V_matrices.${rank}`;

/** lm-saes config keys with no bearing on the forward pass (kernels, loading info, placement). */
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

/** The fields MoltConfigSchema takes (anything else left after translation is unknown to SAE Studio). */
const KNOWN_KEYS = new Set(Object.keys(MoltConfigSchema.in.shape));

function stateShapes(cfg: MoltConfig): Record<string, number[]> {
  const d = cfg.d_model;
  const shapes: Record<string, number[]> = { W_E: [d, cfg.d_sae], b_E: [cfg.d_sae] };
  for (const { rank, count } of moltRankBlocks(cfg)) {
    shapes[uKey(rank)] = [count, d, rank];
    shapes[vKey(rank)] = [count, rank, d];
  }
  if (cfg.use_decoder_bias) shapes.b_D = [d];
  if (cfg.act_fn === 'jumprelu') shapes[MOLT_JUMPRELU_KEY] = [cfg.d_sae];
  return shapes;
}

/** n_i = ‖U_iV_i‖_F for every transform, in feature order (the Gram trick: only r×r products). */
export function moltTransformNorms(cfg: MoltConfig, params: HostParams): Float64Array {
  const d = cfg.d_model;
  const norms = new Float64Array(cfg.d_sae);
  for (const { rank: r, count, offset } of moltRankBlocks(cfg)) {
    const U = hostParam(params, uKey(r)).data; // [count, d, r]
    const V = hostParam(params, vKey(r)).data; // [count, r, d]
    for (let i = 0; i < count; i++) {
      let sq = 0;
      for (let a = 0; a < r; a++) {
        for (let b = 0; b < r; b++) {
          let utu = 0; // (UᵀU)_ab = Σ_k U[k, a] U[k, b]
          let vvt = 0; // (VVᵀ)_ab = Σ_k V[a, k] V[b, k]
          for (let k = 0; k < d; k++) {
            utu += U[(i * d + k) * r + a]! * U[(i * d + k) * r + b]!;
            vvt += V[(i * r + a) * d + k]! * V[(i * r + b) * d + k]!;
          }
          sq += utu * vvt;
        }
      }
      norms[offset + i] = Math.sqrt(Math.max(sq, 0));
    }
  }
  return norms;
}

function reference(
  cfg: MoltConfig,
  params: HostParams,
  { x, B, S }: HostInput,
  opts: ReferenceForwardOptions = {},
): HostForward {
  const d = cfg.d_model;
  const F = cfg.d_sae;
  const N = B * S;
  if (x.length !== N * d)
    throw new InputError(`molt reference: x holds ${x.length} values, expected B·S·1·d = ${N * d}`);
  const h = matmul(x, f64(params, 'W_E'), N, d, F); // [N, F]
  const bE = f64(params, 'b_E');
  for (let t = 0; t < N; t++) for (let i = 0; i < F; i++) h[t * F + i]! += bE[i]!;
  const norms = cfg.sparsity_include_decoder_norm ? moltTransformNorms(cfg, params) : null;
  const k = opts.k ?? cfg.top_k;
  const batch = cfg.act_fn === 'batchtopk';
  const logTheta = cfg.act_fn === 'jumprelu' ? f64(params, MOLT_JUMPRELU_KEY) : null;
  const f = decoderNormGate(
    h,
    norms ? Float64Array.from({ length: N * F }, (_, e) => norms[e % F]!) : null,
    cfg.act_fn,
    batch ? { count: 1, size: N * F, index: (_g, j) => j } : { count: N, size: F, index: (g, j) => g * F + j },
    { k: batch ? k * N : k, logThreshold: (e) => logTheta![e % F]! },
  );
  // ŷ[t] = Σ_i f_i U_i (V_i x_t) + b_D: lm-saes's einsums "... d, c r d -> ... c r" then "... c r, c d r -> ... d".
  const recon = new Float64Array(N * d);
  for (const { rank: r, count, offset } of moltRankBlocks(cfg)) {
    const U = f64(params, uKey(r));
    const V = f64(params, vKey(r));
    for (let t = 0; t < N; t++) {
      for (let c = 0; c < count; c++) {
        const fi = f[t * F + offset + c]!;
        if (fi === 0) continue;
        for (let a = 0; a < r; a++) {
          let vx = 0;
          for (let j = 0; j < d; j++) vx += V[(c * r + a) * d + j]! * x[t * d + j]!;
          const w = fi * vx;
          for (let j = 0; j < d; j++) recon[t * d + j]! += w * U[(c * d + j) * r + a]!;
        }
      }
    }
  }
  if (cfg.use_decoder_bias) {
    const bD = f64(params, 'b_D');
    for (let t = 0; t < N; t++) for (let j = 0; j < d; j++) recon[t * d + j]! += bD[j]!;
  }
  return { featureActs: f, hiddenPre: h, recon };
}

function init(cfg: MoltConfig, seed: number): HostParams {
  // lm-saes init_parameters: W_E, U and V ~ U(±1/√F) (drawn in that order, ranks ascending), biases 0; the JumpReLU
  // threshold starts at the initializer's value (our jumprelu_threshold).
  const draw = uniformGenerator(seed);
  const bound = 1 / Math.sqrt(cfg.d_sae);
  const params: HostParams = {};
  for (const [name, shape] of Object.entries(stateShapes(cfg))) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (name === MOLT_JUMPRELU_KEY) data.fill(Math.log(cfg.jumprelu_threshold));
    else if (name !== 'b_E' && name !== 'b_D') for (let i = 0; i < size; i++) data[i] = draw(bound);
    params[name] = { data, shape };
  }
  return params;
}

function fold(cfg: MoltConfig, params: HostParams): { cfg: MoltConfig; params: HostParams; warnings: string[] } {
  if (cfg.norm_activation === 'inference') return { cfg, params, warnings: [] };
  if (cfg.norm_activation !== 'dataset-wise')
    throw new InputError(
      `field 'norm_activation': '${cfg.norm_activation}' cannot be folded into the weights (each input is scaled by its own norm); only 'dataset-wise' can`,
    );
  const normOf = (hook: string): number => {
    const norm = cfg.dataset_average_activation_norm?.[hook];
    if (norm === undefined)
      throw new InputError(
        `field 'dataset_average_activation_norm': no norm for '${hook}' (needed to fold a dataset-wise MoLT)`,
      );
    return norm;
  };
  const cIn = Math.sqrt(cfg.d_model) / normOf(cfg.hook_point_in);
  const cOut = Math.sqrt(cfg.d_model) / normOf(cfg.hook_point_out);
  // Raw x: h' = h / c_in, so f' = f / c_in; the transforms must gain c_in² / c_out (see the file header).
  const uvScale = cIn / Math.sqrt(cOut);
  const scaled = (name: string, s: number) => Float32Array.from(hostParam(params, name).data, (v) => v * s);
  const out: HostParams = {};
  for (const [name, t] of Object.entries(params)) out[name] = { data: Float32Array.from(t.data), shape: [...t.shape] };
  out.b_E = { data: scaled('b_E', 1 / cIn), shape: [cfg.d_sae] };
  if (cfg.use_decoder_bias) out.b_D = { data: scaled('b_D', 1 / cOut), shape: [cfg.d_model] };
  for (const { rank } of moltRankBlocks(cfg)) {
    out[uKey(rank)] = { data: scaled(uKey(rank), uvScale), shape: [...hostParam(params, uKey(rank)).shape] };
    out[vKey(rank)] = { data: scaled(vKey(rank), uvScale), shape: [...hostParam(params, vKey(rank)).shape] };
  }
  if (cfg.act_fn === 'jumprelu') {
    // The gated score h·n scales by c_in/c_out (h by 1/c_in without decoder norms): the threshold follows it.
    const shift = Math.log(cfg.sparsity_include_decoder_norm ? cIn / cOut : 1 / cIn);
    out[MOLT_JUMPRELU_KEY] = {
      data: Float32Array.from(hostParam(params, MOLT_JUMPRELU_KEY).data, (v) => v + shift),
      shape: [cfg.d_sae],
    };
  }
  return {
    cfg: { ...cfg, norm_activation: 'inference', dataset_average_activation_norm: null },
    params: out,
    warnings: [],
  };
}

function metrics(
  cfg: MoltConfig,
  _params: HostParams,
  fwd: HostForward,
  _y: Float64Array,
  tokens: number,
): KindMetrics {
  // lm-saes compute_training_metrics: per rank the mean number of active transforms, its share of the rank's count,
  // and Σ_r r·l0_r (the mean total rank a token uses).
  const F = cfg.d_sae;
  const out: KindMetrics = {};
  let totalRankSum = 0;
  for (const { rank, count, offset } of moltRankBlocks(cfg)) {
    let active = 0;
    for (let t = 0; t < tokens; t++)
      for (let i = 0; i < count; i++) if (fwd.featureActs[t * F + offset + i]! > 0) active++;
    const l0 = active / tokens;
    out[`molt_metrics/l0_rank${rank}`] = l0;
    out[`molt_metrics/l0_rank${rank}_ratio`] = l0 / count;
    totalRankSum += l0 * rank;
  }
  out['molt_metrics/total_rank_sum'] = totalRankSum;
  return out;
}

function configJson(cfg: MoltConfig): Record<string, unknown> {
  // MOLTConfig.model_dump() (device and dtype are excluded there; d_sae is a property, not a field), plus our
  // informational fields, which lm-saes's pydantic config ignores.
  return {
    sae_type: 'molt',
    d_model: cfg.d_model,
    expansion_factor: cfg.expansion_factor,
    use_decoder_bias: cfg.use_decoder_bias,
    act_fn: cfg.act_fn,
    norm_activation: cfg.norm_activation,
    sparsity_include_decoder_norm: cfg.sparsity_include_decoder_norm,
    top_k: cfg.top_k,
    use_triton_kernel: false,
    sparsity_threshold_for_triton_spmm_kernel: 0.996,
    jumprelu_threshold_window: cfg.jumprelu_threshold_window,
    hook_point_in: cfg.hook_point_in,
    hook_point_out: cfg.hook_point_out,
    rank_counts: { ...cfg.rank_counts },
    jumprelu_threshold: cfg.jumprelu_threshold,
    model_name: cfg.model_name,
    activation_basis: cfg.activation_basis,
  };
}

function translateLmSaesConfig(raw: Record<string, unknown>, file: string): Record<string, unknown> {
  const input: Record<string, unknown> = { ...raw };
  for (const key of LM_SAES_ONLY_KEYS) delete input[key];
  if (input.sae_type !== 'molt')
    throw new InputError(`${file}: field 'sae_type': expected 'molt' (got ${JSON.stringify(input.sae_type)})`);
  if ('jumprelu_threshold_grad_scale' in input) {
    input.jumprelu_threshold_window ??= input.jumprelu_threshold_grad_scale; // its name before lm-saes renamed it
    delete input.jumprelu_threshold_grad_scale;
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key))
      throw new InputError(
        `${file}: field '${key}': unknown to SAE Studio's MoLT and it might change the forward pass (got ${JSON.stringify(input[key])})`,
      );
  }
  return input;
}

export const moltKind: DictionaryKind<MoltConfig> = {
  saeType: 'molt',
  label: DICTIONARY_KIND_TEXTS.molt.label,
  description: DICTIONARY_KIND_TEXTS.molt.description,
  schema: MoltConfigSchema,
  configJson,
  translateLmSaesConfig,
  hooksIn: (cfg) => [cfg.hook_point_in],
  hooksOut: (cfg) => [cfg.hook_point_out],
  featureAxes: () => 1,
  needsSequences: false,
  stateShapes,
  trainable: (cfg) => Object.keys(stateShapes(cfg)),
  buffers: () => ({}),
  init,
  reference,
  gateNorms: moltTransformNorms,
  fold,
  tf: moltTf,
  metrics,
};

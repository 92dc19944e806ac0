// The Lorsa kind (low-rank sparse attention, lm-saes `sae_type: "lorsa"`): its state_dict layout with the
// persistent buffers lm-saes registers, lm-saes's initialisation, the float64 reference (./lorsa-math.ts), the
// exact dataset-norm fold and config.json both ways. Model-based initialisation lives in ./lorsa-model.ts.
import { LorsaConfigSchema, type LorsaConfig } from '../../../protocol/kind-configs/lorsa';
import { InputError } from '../../errors';
import type { TensorToWrite } from '../../tensor/safetensors';
import type { HostParams } from '../../sae/host-tensor';
import type { DictionaryKind, HostForward, KindMetrics } from '../kind';
import { f64, rowNorms64, uniformGenerator } from '../host64';
import { lorsaAttention64, lorsaDecoderNorms, lorsaForward64, lorsaRotaryTables, type Params64 } from './lorsa-math';
import { lorsaTf } from './lorsa-tf';

import { checkLorsaFitsModel } from './lorsa-model';
export { checkLorsaFitsModel, initLorsaActiveSubspace, initLorsaFromModel } from './lorsa-model';

const JUMPRELU_KEY = 'activation_function.log_jumprelu_threshold';

/** lm-saes config keys with no bearing on the forward pass: kernels, loading info, placement. */
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

function stateShapes(cfg: LorsaConfig): Record<string, number[]> {
  const { n_qk_heads: H, d_model: d, d_qk_head: dq, d_sae: F, n_ctx: n } = cfg;
  return {
    W_Q: [H, d, dq],
    W_K: [H, d, dq],
    W_V: [F, d],
    W_O: [F, d],
    b_Q: [H, dq],
    b_K: [H, dq],
    b_V: [F],
    ...(cfg.use_decoder_bias ? { b_D: [d] } : {}),
    ...(cfg.use_post_qk_ln ? { 'ln_q.w': [H, dq], 'ln_k.w': [H, dq] } : {}),
    ...(cfg.act_fn === 'jumprelu' ? { [JUMPRELU_KEY]: [F] } : {}),
    mask: [n, n],
    IGNORE: [],
    ...(cfg.positional_embedding_type === 'rotary'
      ? { rotary_sin: [n, cfg.rotary_dim], rotary_cos: [n, cfg.rotary_dim] }
      : {}),
  };
}

const BUFFERS = new Set(['mask', 'IGNORE', 'rotary_sin', 'rotary_cos']);

function buffers(cfg: LorsaConfig): Record<string, TensorToWrite> {
  const n = cfg.n_ctx;
  const mask = new Uint8Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) mask[i * n + j] = 1; // torch.tril(ones).bool()
  const out: Record<string, TensorToWrite> = {
    mask: { dtype: 'BOOL', shape: [n, n], data: mask },
    IGNORE: { dtype: 'F32', shape: [], data: new Float32Array([-Infinity]) },
  };
  if (cfg.positional_embedding_type === 'rotary') {
    const { sin, cos } = lorsaRotaryTables(cfg);
    out.rotary_sin = { dtype: 'F32', shape: [n, cfg.rotary_dim], data: sin };
    out.rotary_cos = { dtype: 'F32', shape: [n, cfg.rotary_dim], data: cos };
  }
  return out;
}

/** Standard normal draws from the uniform generator (Box–Muller). */
function normalGenerator(seed: number): () => number {
  const u = uniformGenerator(seed);
  return () => {
    const u1 = 1 - (u(1) + 1) / 2; // (0, 1]
    const u2 = (u(1) + 1) / 2;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

/** lm-saes's init_parameters: xavier-uniform W_Q/W_K, N(0, 1/F) W_V, N(0, 1/d) W_O, zero biases, the buffers. */
function init(cfg: LorsaConfig, seed: number): HostParams {
  const shapes = stateShapes(cfg);
  const { n_qk_heads: H, d_model: d, d_qk_head: dq, d_sae: F } = cfg;
  const uniform = uniformGenerator(seed);
  const normal = normalGenerator(seed ^ 0x5bd1e995);
  // torch's fans for a [H, d, dq] tensor: fan_in = d·dq, fan_out = H·dq (the receptive field is the last axis).
  const xavier = Math.sqrt(6 / (d * dq + H * dq));
  const params: HostParams = {};
  const fill = (name: string, draw: () => number) => {
    const shape = shapes[name]!;
    params[name] = { data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, draw), shape };
  };
  fill('W_Q', () => uniform(xavier));
  fill('W_K', () => uniform(xavier));
  fill('W_V', () => normal() / Math.sqrt(F));
  fill('W_O', () => normal() / Math.sqrt(d));
  for (const name of ['b_Q', 'b_K', 'b_V', ...(cfg.use_decoder_bias ? ['b_D'] : [])]) fill(name, () => 0);
  if (cfg.use_post_qk_ln) for (const name of ['ln_q.w', 'ln_k.w']) fill(name, () => 1);
  if (cfg.act_fn === 'jumprelu') fill(JUMPRELU_KEY, () => Math.log(cfg.jumprelu_threshold));
  for (const [name, t] of Object.entries(buffers(cfg)))
    params[name] = { data: Float32Array.from(t.data as ArrayLike<number>), shape: [...t.shape] };
  return params;
}

/** Every parameter as float64 (the reference computes in float64 from the float32 weights). */
export function lorsaParams64(cfg: LorsaConfig, params: HostParams): Params64 {
  return Object.fromEntries(Object.keys(stateShapes(cfg)).map((name) => [name, f64(params, name)]));
}

function reference(
  cfg: LorsaConfig,
  params: HostParams,
  input: { x: Float64Array; B: number; S: number },
  opts: { k?: number } = {},
): HostForward {
  return lorsaForward64(cfg, lorsaParams64(cfg, params), input.x, input.B, input.S, opts.k ?? cfg.top_k);
}

/** c_hook = √d / mean‖x_hook‖, which a fold needs for both hooks. */
function normFactor(cfg: LorsaConfig, hook: string): number {
  const norm = cfg.dataset_average_activation_norm?.[hook];
  if (cfg.norm_activation !== 'dataset-wise' || norm === undefined)
    throw new InputError(
      `Lorsa fold: field 'dataset_average_activation_norm': needs norm_activation 'dataset-wise' and a norm for '${hook}' (got ${cfg.norm_activation}, ${JSON.stringify(cfg.dataset_average_activation_norm)})`,
    );
  return Math.sqrt(cfg.d_model) / norm;
}

/**
 * lm-saes's standardize_parameters_of_dataset_norm: W_Q, W_K, W_V ×= c_in; W_O, b_D ÷= c_out (b_Q, b_K, b_V and
 * the QK norm stay). z and hence relu/topk activations are unchanged. Under JumpReLU with decoder-norm gating the
 * gate z·‖W_O‖ shrinks by c_out; lm-saes leaves θ as is (its fold is not exact there), we lower log θ by log c_out
 * so that the fold stays exact.
 */
function fold(cfg: LorsaConfig, params: HostParams): { cfg: LorsaConfig; params: HostParams; warnings: string[] } {
  const cIn = normFactor(cfg, cfg.hook_point_in);
  const cOut = normFactor(cfg, cfg.hook_point_out);
  const out: HostParams = {};
  for (const [name, t] of Object.entries(params)) out[name] = { data: Float32Array.from(t.data), shape: [...t.shape] };
  const scale = (name: string, s: number) => {
    const t = out[name];
    if (t) t.data = Float32Array.from(t.data, (v) => v * s);
  };
  for (const name of ['W_Q', 'W_K', 'W_V']) scale(name, cIn);
  for (const name of ['W_O', 'b_D']) scale(name, 1 / cOut);
  const log = out[JUMPRELU_KEY];
  if (cfg.act_fn === 'jumprelu' && cfg.sparsity_include_decoder_norm && log)
    log.data = Float32Array.from(log.data, (v) => v - Math.log(cOut));
  return { cfg: { ...cfg, norm_activation: 'inference' }, params: out, warnings: [] };
}

/**
 * lm-saes's log_statistics for a Lorsa (encoder norm = mean ‖W_V[i]‖, decoder norm = mean ‖W_O[i]‖, ‖b_D‖, mean
 * θ), plus `lorsa/l0_per_qk_head`: mean active OV heads per token in each QK head's group (SAE Studio's own).
 */
function metrics(
  cfg: LorsaConfig,
  params: HostParams,
  fwd: HostForward,
  _y: Float64Array,
  tokens: number,
): KindMetrics {
  const p = lorsaParams64(cfg, params);
  const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
  const { d_sae: F, d_model: d, n_qk_heads: H } = cfg;
  const encoderNorms = rowNorms64(p.W_V!, F, d);
  const out: KindMetrics = {
    'metrics/encoder_norm': mean(encoderNorms),
    'metrics/decoder_norm': mean(lorsaDecoderNorms(cfg, p)),
  };
  if (cfg.use_decoder_bias) out['metrics/decoder_bias_norm'] = Math.hypot(...p.b_D!.slice(0, d));
  if (cfg.act_fn === 'jumprelu') out['metrics/mean_jumprelu_threshold'] = mean(p[JUMPRELU_KEY]!.map(Math.exp));
  const G = F / H;
  const perHead = new Array<number>(H).fill(0);
  for (let t = 0; t < tokens; t++)
    for (let i = 0; i < F; i++) if (fwd.featureActs[t * F + i]! > 0) perHead[Math.floor(i / G)]! += 1 / tokens;
  out['lorsa/l0_per_qk_head'] = perHead;
  return out;
}

/** d_sae / d_model nudged up an ulp where needed, so that lm-saes's int(d_model · expansion_factor) gives d_sae. */
function lmSaesExpansionFactor(dModel: number, dSae: number): number {
  const bits = new Float64Array([dSae / dModel]);
  const word = new BigInt64Array(bits.buffer);
  while (Math.trunc(dModel * bits[0]!) < dSae) word[0]! += 1n;
  return bits[0]!;
}

function configJson(cfg: LorsaConfig): Record<string, unknown> {
  return {
    sae_type: 'lorsa',
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
    hook_point_in: cfg.hook_point_in,
    hook_point_out: cfg.hook_point_out,
    n_qk_heads: cfg.n_qk_heads,
    d_qk_head: cfg.d_qk_head,
    positional_embedding_type: cfg.positional_embedding_type,
    rotary_dim: cfg.rotary_dim,
    rotary_base: cfg.rotary_base,
    rotary_adjacent_pairs: cfg.rotary_adjacent_pairs,
    rotary_scale: cfg.rotary_scale,
    use_NTK_by_parts_rope: cfg.use_NTK_by_parts_rope,
    NTK_by_parts_factor: cfg.NTK_by_parts_factor,
    NTK_by_parts_low_freq_factor: cfg.NTK_by_parts_low_freq_factor,
    NTK_by_parts_high_freq_factor: cfg.NTK_by_parts_high_freq_factor,
    old_context_len: cfg.old_context_len,
    n_ctx: cfg.n_ctx,
    attn_scale: cfg.attn_scale,
    use_post_qk_ln: cfg.use_post_qk_ln,
    normalization_type: cfg.normalization_type,
    eps: cfg.eps,
    // SAE Studio's own (pydantic ignores unknown keys): exact d_sae, the JumpReLU init, provenance.
    d_sae: cfg.d_sae,
    jumprelu_threshold: cfg.jumprelu_threshold,
    model_name: cfg.model_name,
    activation_basis: cfg.activation_basis,
  };
}

const SCHEMA_KEYS = new Set([...Object.keys(LorsaConfigSchema.in.shape), 'expansion_factor', 'd_sae']);

function translateLmSaesConfig(raw: Record<string, unknown>, file: string): Record<string, unknown> {
  const input: Record<string, unknown> = { ...raw };
  for (const key of LM_SAES_ONLY_KEYS) delete input[key];
  if (input.sae_type !== 'lorsa')
    throw new InputError(`${file}: field 'sae_type': expected 'lorsa' (got ${JSON.stringify(input.sae_type)})`);
  if ('jumprelu_threshold_grad_scale' in input) {
    input.jumprelu_threshold_window ??= input.jumprelu_threshold_grad_scale; // its name before lm-saes renamed it
    delete input.jumprelu_threshold_grad_scale;
  }
  for (const key of Object.keys(input))
    if (!SCHEMA_KEYS.has(key))
      throw new InputError(
        `${file}: field '${key}': not a Lorsa field SAE Studio knows (got ${JSON.stringify(input[key])}); it may change the forward pass`,
      );
  if (input.d_sae === undefined && typeof input.expansion_factor === 'number' && typeof input.d_model === 'number') {
    input.d_sae = Math.trunc(input.d_model * input.expansion_factor); // lm-saes: int(d_model * expansion_factor)
    delete input.expansion_factor;
  }
  return input;
}

/**
 * lm-saes's load_full_state_dict accepts a checkpoint with fewer QK heads and repeat-interleaves W_Q, W_K, b_Q,
 * b_K (and the QK-norm weights) up to n_qk_heads: QK head g reads checkpoint head ⌊g / (n_qk_heads / n_file)⌋.
 * Returns params with those tensors expanded; a head count that does not divide n_qk_heads is an InputError.
 */
export function lorsaRepeatQkHeads(cfg: LorsaConfig, params: HostParams, file: string): HostParams {
  const names = ['W_Q', 'W_K', 'b_Q', 'b_K', ...(cfg.use_post_qk_ln ? ['ln_q.w', 'ln_k.w'] : [])];
  const out: HostParams = { ...params };
  for (const name of names) {
    const t = params[name];
    const have = t?.shape[0];
    if (!t || have === undefined || have === cfg.n_qk_heads) continue;
    if (cfg.n_qk_heads % have !== 0)
      throw new InputError(
        `${file}: tensor '${name}' has ${have} QK heads, which do not divide n_qk_heads = ${cfg.n_qk_heads}`,
      );
    const rep = cfg.n_qk_heads / have;
    const per = t.data.length / have;
    const data = new Float32Array(per * cfg.n_qk_heads);
    for (let g = 0; g < cfg.n_qk_heads; g++)
      data.set(t.data.subarray(Math.floor(g / rep) * per, (Math.floor(g / rep) + 1) * per), g * per);
    out[name] = { data, shape: [cfg.n_qk_heads, ...t.shape.slice(1)] };
  }
  return out;
}

/**
 * The feature page's z-pattern (lm-saes's encode_z_pattern_for_head): for OV head `feature` at position `query`,
 * the contribution A^g_{query,k}·v_i(k) of each key k ≤ query, per sequence of x [B, S, 1, d] → [B, S] (zero for
 * k > query); the row sums to the feature's hidden_pre z_i(query).
 */
export function lorsaZPattern(
  cfg: LorsaConfig,
  params: HostParams,
  x: Float64Array,
  B: number,
  S: number,
  feature: number,
  query: number,
): Float64Array {
  if (!Number.isInteger(feature) || feature < 0 || feature >= cfg.d_sae)
    throw new InputError(`Lorsa z-pattern: feature ${feature} is outside 0..${cfg.d_sae - 1}`);
  if (!Number.isInteger(query) || query < 0 || query >= S)
    throw new InputError(`Lorsa z-pattern: query position ${query} is outside 0..${S - 1}`);
  const H = cfg.n_qk_heads;
  const F = cfg.d_sae;
  const g = Math.floor(feature / (F / H));
  const { pattern, v } = lorsaAttention64(cfg, lorsaParams64(cfg, params), x, B, S);
  const out = new Float64Array(B * S);
  for (let b = 0; b < B; b++)
    for (let k = 0; k <= query; k++)
      out[b * S + k] = pattern[((b * H + g) * S + query) * S + k]! * v[(b * S + k) * F + feature]!;
  return out;
}

export const lorsaKind: DictionaryKind<LorsaConfig> = {
  fitsModel: checkLorsaFitsModel,
  saeType: 'lorsa',
  label: 'Lorsa (low-rank sparse attention)',
  description:
    'Replaces an attention layer with many rank-1 OV heads that share a few QK patterns, read from the attention ' +
    'input and trained to reconstruct the attention output. Pick it to find interpretable attention features.',
  schema: LorsaConfigSchema,
  configJson,
  translateLmSaesConfig,
  hooksIn: (cfg) => [cfg.hook_point_in],
  hooksOut: (cfg) => [cfg.hook_point_out],
  featureAxes: () => 1,
  needsSequences: true,
  stateShapes,
  trainable: (cfg) => Object.keys(stateShapes(cfg)).filter((name) => !BUFFERS.has(name)),
  buffers,
  init,
  reference,
  gateNorms: (cfg, params) => lorsaDecoderNorms(cfg, lorsaParams64(cfg, params)),
  fold,
  tf: lorsaTf,
  metrics,
};

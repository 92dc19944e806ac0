// A Lorsa against the language model whose attention it replaces: does its rotary setup fit the model, lm-saes's
// initialize_lorsa_with_mhsa (QK weights copied from the model's heads) and its active-subspace OV initialisation
// (dictionaries-and-circuits.md §3). Pure host functions on SAE Studio's attention layout (src/core/lm/params.ts).
import type { LorsaConfig } from '../../../protocol/kind-configs/lorsa';
import { InputError } from '../../errors';
import type { ModelConfig } from '../../lm/model-config';
import type { AttentionParams, HostTensor } from '../../lm/params';
import type { HostParams } from '../../sae/host-tensor';

const fail = (field: string, message: string): never => {
  throw new InputError(`Lorsa config: field '${field}': ${message}`);
};

/**
 * Checks that a Lorsa can stand in for `model`'s attention: same d_model, n_ctx within the model's context, and the
 * model's positions (none for learned absolute positions; its rotary dimension, base and Llama-3.1 scaling, in the
 * half-split layout Hugging Face uses for every rotary architecture SAE Studio runs).
 */
export function checkLorsaFitsModel(cfg: LorsaConfig, model: ModelConfig): void {
  const m = `model ${model.modelType}`;
  if (cfg.d_model !== model.dModel)
    fail('d_model', `must equal the ${m}'s d_model = ${model.dModel} (got ${cfg.d_model})`);
  if (cfg.n_ctx > model.nCtx) fail('n_ctx', `must be at most the ${m}'s context of ${model.nCtx} (got ${cfg.n_ctx})`);
  const rot = model.rotary;
  if (!rot) {
    if (cfg.positional_embedding_type !== 'none')
      fail('positional_embedding_type', `must be 'none': the ${m} has no rotary embeddings (got 'rotary')`);
    return;
  }
  if (cfg.positional_embedding_type !== 'rotary')
    fail(
      'positional_embedding_type',
      `must be 'rotary': the ${m} rotates q and k (got '${cfg.positional_embedding_type}')`,
    );
  if (cfg.d_qk_head * cfg.rotary_scale < rot.dim)
    fail(
      'd_qk_head',
      `× rotary_scale must hold the ${m}'s ${rot.dim} rotary dimensions (got ${cfg.d_qk_head} × ${cfg.rotary_scale})`,
    );
  if (cfg.rotary_dim !== rot.dim)
    fail('rotary_dim', `must equal the ${m}'s rotary dimension ${rot.dim} (got ${cfg.rotary_dim})`);
  if (cfg.rotary_base !== rot.theta)
    fail('rotary_base', `must equal the ${m}'s rope theta ${rot.theta} (got ${cfg.rotary_base})`);
  if (cfg.rotary_adjacent_pairs)
    fail('rotary_adjacent_pairs', `must be false: the ${m} rotates the two halves of each head (got true)`);
  if (cfg.rotary_scale !== 1) fail('rotary_scale', `must be 1 to match the ${m} (got ${cfg.rotary_scale})`);
  const s = rot.scaling;
  if (s.type === 'linear')
    fail(
      'use_NTK_by_parts_rope',
      `the ${m} uses linear RoPE scaling (factor ${s.factor}), which a Lorsa cannot express`,
    );
  if (s.type === 'default' && cfg.use_NTK_by_parts_rope)
    fail('use_NTK_by_parts_rope', `must be false: the ${m} has no RoPE scaling (got true)`);
  if (s.type === 'llama3') {
    if (!cfg.use_NTK_by_parts_rope) fail('use_NTK_by_parts_rope', `must be true: the ${m} uses Llama-3.1 RoPE scaling`);
    const want: [keyof LorsaConfig, number][] = [
      ['NTK_by_parts_factor', s.factor],
      ['NTK_by_parts_low_freq_factor', s.lowFreqFactor],
      ['NTK_by_parts_high_freq_factor', s.highFreqFactor],
      ['old_context_len', s.originalMaxPositionEmbeddings],
    ];
    for (const [field, value] of want)
      if (cfg[field] !== value) fail(field, `must equal the ${m}'s ${value} (got ${String(cfg[field])})`);
  }
}

/** c_in = √d / mean‖x_in‖, which maps the model's raw weights into the Lorsa's normalised input space. */
function inputNormFactor(cfg: LorsaConfig): number {
  const norm = cfg.dataset_average_activation_norm?.[cfg.hook_point_in];
  if (cfg.norm_activation !== 'dataset-wise' || norm === undefined)
    fail(
      'dataset_average_activation_norm',
      `needs norm_activation 'dataset-wise' and a norm for '${cfg.hook_point_in}'`,
    );
  return Math.sqrt(cfg.d_model) / norm!;
}

/**
 * lm-saes's initialize_lorsa_with_mhsa: QK head g takes the model's query head ⌊g / (n_qk / n_heads)⌋ (and that
 * head's key/value group), W_Q and W_K divided by c_in, the QK-norm weights copied per head. Unlike lm-saes we also
 * copy b_Q and b_K (Qwen2 has them; lm-saes leaves zeros, which changes the scores). Returns new params.
 */
export function initLorsaFromModel(
  cfg: LorsaConfig,
  model: ModelConfig,
  attn: AttentionParams<HostTensor>,
  params: HostParams,
): HostParams {
  checkLorsaFitsModel(cfg, model);
  const { n_qk_heads: nQk, d_qk_head: dq, d_model: d } = cfg;
  const H = model.nHeads;
  if (nQk % H !== 0) fail('n_qk_heads', `must be a multiple of the model's ${H} heads (got ${nQk})`);
  if (dq !== model.dHead) fail('d_qk_head', `must equal the model's d_head = ${model.dHead} (got ${dq})`);
  if (cfg.use_post_qk_ln !== model.qkNorm)
    fail(
      'use_post_qk_ln',
      `must be ${model.qkNorm}: the model ${model.qkNorm ? 'normalises' : 'does not normalise'} q and k`,
    );
  const cIn = inputNormFactor(cfg);
  const rep = nQk / H;
  const kvGroup = H / model.nKvHeads;
  const out: HostParams = {};
  for (const [name, t] of Object.entries(params)) out[name] = { data: Float32Array.from(t.data), shape: [...t.shape] };
  const copy = (name: 'Q' | 'K', W: HostTensor, b: HostTensor | null, cols: number) => {
    const Wl = out[`W_${name}`]!.data;
    const bl = out[`b_${name}`]!.data;
    for (let g = 0; g < nQk; g++) {
      const h = Math.floor(g / rep);
      const src = name === 'Q' ? h : Math.floor(h / kvGroup);
      for (let j = 0; j < dq; j++) {
        for (let c = 0; c < d; c++) Wl[(g * d + c) * dq + j] = W.data[c * cols + src * dq + j]! / cIn;
        bl[g * dq + j] = b ? b.data[src * dq + j]! : 0;
      }
    }
  };
  copy('Q', attn.W_Q, attn.b_Q, H * dq);
  copy('K', attn.W_K, attn.b_K, model.nKvHeads * dq);
  if (cfg.use_post_qk_ln) {
    for (const [key, norm] of [
      ['ln_q.w', attn.qNorm],
      ['ln_k.w', attn.kNorm],
    ] as const) {
      if (!norm) throw new InputError(`model attention: no ${key === 'ln_q.w' ? 'q' : 'k'}_norm weight to copy`);
      out[key]!.data = Float32Array.from({ length: nQk * dq }, (_, e) => norm.w.data[e % dq]!);
    }
  }
  return out;
}

/** Eigenvectors of a symmetric n×n matrix (cyclic Jacobi), sorted by eigenvalue descending: columns of V. */
function symmetricEigen(A: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(A);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y]! - a[x * n + x]!);
  const vectors = new Float64Array(n * n);
  order.forEach((col, r) => {
    for (let k = 0; k < n; k++) vectors[k * n + r] = v[k * n + col]!;
  });
  return { values: Float64Array.from(order, (i) => a[i * n + i]!), vectors };
}

/**
 * lm-saes's active-subspace OV initialisation (init_W_V_with_active_subspace_per_head): for model head h, P_h =
 * the top d_qk_head left singular vectors of the de-meaned x·W_V^h·(W_V^h)ᵀ over the batch x [N, d] (normalised
 * Lorsa inputs); OV head i of h's block of d_sae / n_heads gets W_V[i] = W_V[i, :d_qk]·P_hᵀ and W_O[i] =
 * W_V[i]·W_V^h·W_O^h, both then scaled to unit norm. Those vectors lie in the column space of W_V^h, so they come
 * from the eigenvectors of a d_head × d_head matrix (exact, no d × d decomposition). Returns new params.
 */
export function initLorsaActiveSubspace(
  cfg: LorsaConfig,
  model: ModelConfig,
  attn: AttentionParams<HostTensor>,
  params: HostParams,
  x: Float64Array,
  N: number,
): HostParams {
  const { d_model: d, d_qk_head: dq, d_sae: F } = cfg;
  const H = model.nHeads;
  const dh = model.dHead;
  if (F % H !== 0) fail('d_sae', `must be a multiple of the model's ${H} heads (got ${F})`);
  if (dq > dh) fail('d_qk_head', `must be at most the model's d_head = ${dh} for the active-subspace init (got ${dq})`);
  const per = F / H;
  const out: HostParams = {};
  for (const [name, t] of Object.entries(params)) out[name] = { data: Float32Array.from(t.data), shape: [...t.shape] };
  const WV = out.W_V!.data;
  const WO = out.W_O!.data;
  const kvCols = model.nKvHeads * dh;
  for (let h = 0; h < H; h++) {
    const kv = Math.floor(h / (H / model.nKvHeads));
    const Wh = (c: number, j: number) => attn.W_V.data[c * kvCols + kv * dh + j]!; // W_V^h [d, dh]
    // Orthonormal basis Q [d, dh] of col(W_V^h) and R with W_V^h = Q R (modified Gram–Schmidt).
    const Q = new Float64Array(d * dh);
    const R = new Float64Array(dh * dh);
    for (let j = 0; j < dh; j++) {
      for (let c = 0; c < d; c++) Q[c * dh + j] = Wh(c, j);
      for (let i = 0; i < j; i++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += Q[c * dh + i]! * Q[c * dh + j]!;
        R[i * dh + j] = dot;
        for (let c = 0; c < d; c++) Q[c * dh + j]! -= dot * Q[c * dh + i]!;
      }
      let norm = 0;
      for (let c = 0; c < d; c++) norm += Q[c * dh + j]! ** 2;
      norm = Math.sqrt(norm);
      R[j * dh + j] = norm;
      for (let c = 0; c < d; c++) Q[c * dh + j] = norm > 0 ? Q[c * dh + j]! / norm : 0;
    }
    // D = X̃ W Wᵀ = Y Qᵀ with Y = X̃ W Rᵀ [N, dh], so DᵀD = Q (YᵀY) Qᵀ and P = Q · top eigenvectors of YᵀY.
    const mean = new Float64Array(d);
    for (let t = 0; t < N; t++) for (let c = 0; c < d; c++) mean[c]! += x[t * d + c]! / N;
    const Y = new Float64Array(N * dh);
    for (let t = 0; t < N; t++) {
      const xw = new Float64Array(dh);
      for (let j = 0; j < dh; j++) for (let c = 0; c < d; c++) xw[j]! += (x[t * d + c]! - mean[c]!) * Wh(c, j);
      for (let i = 0; i < dh; i++) for (let j = i; j < dh; j++) Y[t * dh + i]! += xw[j]! * R[i * dh + j]!;
    }
    const A = new Float64Array(dh * dh);
    for (let t = 0; t < N; t++)
      for (let i = 0; i < dh; i++) for (let j = 0; j < dh; j++) A[i * dh + j]! += Y[t * dh + i]! * Y[t * dh + j]!;
    const { vectors } = symmetricEigen(A, dh);
    const P = new Float64Array(d * dq); // [d, dq]
    for (let c = 0; c < d; c++)
      for (let m = 0; m < dq; m++) for (let j = 0; j < dh; j++) P[c * dq + m]! += Q[c * dh + j]! * vectors[j * dh + m]!;
    const WOh = (j: number, c: number) => attn.W_O.data[(h * dh + j) * d + c]!; // W_O^h [dh, d]
    for (let i = h * per; i < (h + 1) * per; i++) {
      const v = new Float64Array(d);
      for (let c = 0; c < d; c++) for (let m = 0; m < dq; m++) v[c]! += WV[i * d + m]! * P[c * dq + m]!;
      const o = new Float64Array(d);
      for (let j = 0; j < dh; j++) {
        let vw = 0;
        for (let c = 0; c < d; c++) vw += v[c]! * Wh(c, j);
        for (let c = 0; c < d; c++) o[c]! += vw * WOh(j, c);
      }
      const nv = Math.hypot(...v);
      const no = Math.hypot(...o);
      for (let c = 0; c < d; c++) {
        WV[i * d + c] = v[c]! / nv;
        WO[i * d + c] = o[c]! / no;
      }
    }
  }
  return out;
}

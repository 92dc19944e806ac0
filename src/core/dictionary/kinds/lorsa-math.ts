// Lorsa's float64 forward pass, written from the specification (docs: dictionaries-and-circuits.md §3) and
// lm-saes's lorsa.py: per-QK-head attention with optional per-head RMSNorm and rotary, OV heads sharing a pattern,
// then the decoder-norm gate. Shared by the kind (kinds/lorsa.ts), the feature page and the tests.
import type { LorsaConfig } from '../../../protocol/kind-configs/lorsa';
import { InputError } from '../../errors';
import { decoderNormGate, rowNorms64 } from '../host64';

/** Parameters as float64, keyed like lm-saes's state_dict. */
export type Params64 = Record<string, Float64Array>;

export interface LorsaAttention64 {
  /** [B, S, nQk, dRot], after the QK norm and the rotation (dRot = d_qk_head × rotary_scale with rotary, else d_qk_head). */
  q: Float64Array;
  k: Float64Array;
  /** [B, S, F]: x·W_V[i] + b_V[i]. */
  v: Float64Array;
  /** [B, nQk, S, S], zero above the diagonal. */
  pattern: Float64Array;
  /** [B, S, F]: Σ_k A^g_{qk} v_i(k), lm-saes's hidden_pre. */
  z: Float64Array;
}

const p64 = (p: Params64, name: string): Float64Array => {
  const t = p[name];
  if (!t) throw new Error(`Lorsa parameters: no entry for ${name} (has ${Object.keys(p).join(', ')})`);
  return t;
};

/** q and k are repeat_interleaved by rotary_scale inside lm-saes's _apply_rotary, so only with rotary positions. */
export function lorsaRepeat(cfg: LorsaConfig): number {
  return cfg.positional_embedding_type === 'rotary' ? cfg.rotary_scale : 1;
}

/** Width of q and k after that repetition. */
export function lorsaRotWidth(cfg: LorsaConfig): number {
  return cfg.d_qk_head * lorsaRepeat(cfg);
}

/**
 * lm-saes's _calculate_sin_cos_rotary divisors freq_j for j < rotary_dim/2 (angle = pos / freq_j), in float32 steps
 * as torch computes them: base^(j/(r/2)), or 1/inv_freq of the HF Llama-3.1 NTK-by-parts rule.
 */
export function lorsaRotaryFrequencies(cfg: LorsaConfig): Float64Array {
  const f = Math.fround;
  const r = cfg.rotary_dim;
  const half = r / 2;
  const out = new Float64Array(half);
  for (let j = 0; j < half; j++) {
    if (!cfg.use_NTK_by_parts_rope) {
      out[j] = f(Math.pow(cfg.rotary_base, f(j / half)));
      continue;
    }
    const factor = cfg.NTK_by_parts_factor;
    const lo = cfg.NTK_by_parts_low_freq_factor;
    const hi = cfg.NTK_by_parts_high_freq_factor;
    const old = cfg.old_context_len;
    const inv = f(1 / f(Math.pow(cfg.rotary_base, f((2 * j) / r))));
    const wavelen = f((2 * Math.PI) / inv);
    let llama = wavelen > old / lo ? f(inv / factor) : inv;
    const smooth = f((old / wavelen - lo) / (hi - lo));
    const smoothed = f(((1 - smooth) * llama) / factor + smooth * llama);
    if (!(wavelen < old / hi) && !(wavelen > old / lo)) llama = smoothed;
    out[j] = f(1 / llama);
  }
  return out;
}

/** rotary_sin / rotary_cos [n_ctx, rotary_dim] as lm-saes registers them (float32). */
export function lorsaRotaryTables(cfg: LorsaConfig): { sin: Float32Array; cos: Float32Array } {
  const r = cfg.rotary_dim;
  const freq = lorsaRotaryFrequencies(cfg);
  const sin = new Float32Array(cfg.n_ctx * r);
  const cos = new Float32Array(cfg.n_ctx * r);
  for (let pos = 0; pos < cfg.n_ctx; pos++) {
    for (let c = 0; c < r; c++) {
      // Adjacent pairs repeat each frequency twice in place ("d -> (d 2)"); the half split tiles them ("(2 d)").
      const j = cfg.rotary_adjacent_pairs ? c >> 1 : c % (r / 2);
      const angle = Math.fround(pos / freq[j]!);
      sin[pos * r + c] = Math.sin(angle);
      cos[pos * r + c] = Math.cos(angle);
    }
  }
  return { sin, cos };
}

/** Rotates the first rotary_dim entries of vec (length dRot, at offset o) for position pos, in place. */
function rotate(cfg: LorsaConfig, vec: Float64Array, o: number, pos: number, sin: Float64Array, cos: Float64Array) {
  const r = cfg.rotary_dim;
  const h = r / 2;
  const x = vec.slice(o, o + r);
  for (let c = 0; c < r; c++) {
    let flip: number;
    if (cfg.rotary_adjacent_pairs) flip = c % 2 === 0 ? -x[c + 1]! : x[c - 1]!;
    else flip = c < h ? -x[c + h]! : x[c - h]!;
    vec[o + c] = x[c]! * cos[pos * r + c]! + flip * sin[pos * r + c]!;
  }
}

/** q or k of every QK head: x·W + b, per-head RMSNorm (weight w), repeat_interleave, rotary. [B, S, nQk, dRot]. */
export function projectQk(cfg: LorsaConfig, p: Params64, x: ArrayLike<number>, B: number, S: number, which: 'Q' | 'K') {
  const { d_model: d, n_qk_heads: H, d_qk_head: dq } = cfg;
  const rs = lorsaRepeat(cfg);
  const W = p64(p, `W_${which}`);
  const b = p64(p, `b_${which}`);
  const lnW = cfg.use_post_qk_ln ? p64(p, which === 'Q' ? 'ln_q.w' : 'ln_k.w') : null;
  const sin = cfg.positional_embedding_type === 'rotary' ? p64(p, 'rotary_sin') : null;
  const cos = cfg.positional_embedding_type === 'rotary' ? p64(p, 'rotary_cos') : null;
  const dr = dq * rs;
  const out = new Float64Array(B * S * H * dr);
  const head = new Float64Array(dq);
  for (let t = 0; t < B * S; t++) {
    for (let g = 0; g < H; g++) {
      for (let j = 0; j < dq; j++) {
        let s = b[g * dq + j]!;
        for (let c = 0; c < d; c++) s += x[t * d + c]! * W[(g * d + c) * dq + j]!;
        head[j] = s;
      }
      if (lnW) {
        let ms = 0;
        for (let j = 0; j < dq; j++) ms += head[j]! ** 2 / dq;
        const scale = Math.sqrt(ms + cfg.eps);
        for (let j = 0; j < dq; j++) head[j] = (head[j]! / scale) * lnW[g * dq + j]!;
      }
      const o = (t * H + g) * dr;
      for (let j = 0; j < dr; j++) out[o + j] = head[Math.floor(j / rs)]!;
      if (sin && cos) rotate(cfg, out, o, t % S, sin, cos);
    }
  }
  return out;
}

/** The attention part of the forward pass on x [B, S, d] (one input hook), causal within each sequence. */
export function lorsaAttention64(
  cfg: LorsaConfig,
  p: Params64,
  x: ArrayLike<number>,
  B: number,
  S: number,
): LorsaAttention64 {
  const { d_model: d, n_qk_heads: H, d_sae: F } = cfg;
  if (S > cfg.n_ctx)
    throw new InputError(`Lorsa: field 'n_ctx': sequences of ${S} positions exceed n_ctx = ${cfg.n_ctx}`);
  const G = F / H;
  const dr = lorsaRotWidth(cfg);
  const q = projectQk(cfg, p, x, B, S, 'Q');
  const k = projectQk(cfg, p, x, B, S, 'K');
  const WV = p64(p, 'W_V');
  const bV = p64(p, 'b_V');
  const v = new Float64Array(B * S * F);
  for (let t = 0; t < B * S; t++) {
    for (let i = 0; i < F; i++) {
      let s = bV[i]!;
      for (let c = 0; c < d; c++) s += x[t * d + c]! * WV[i * d + c]!;
      v[t * F + i] = s;
    }
  }
  const pattern = new Float64Array(B * H * S * S);
  const z = new Float64Array(B * S * F);
  for (let b = 0; b < B; b++) {
    for (let g = 0; g < H; g++) {
      for (let qp = 0; qp < S; qp++) {
        const row = ((b * H + g) * S + qp) * S;
        let max = -Infinity;
        for (let kp = 0; kp <= qp; kp++) {
          let s = 0;
          const qo = ((b * S + qp) * H + g) * dr;
          const ko = ((b * S + kp) * H + g) * dr;
          for (let j = 0; j < dr; j++) s += q[qo + j]! * k[ko + j]!;
          pattern[row + kp] = s / cfg.attn_scale;
          max = Math.max(max, pattern[row + kp]!);
        }
        let sum = 0;
        for (let kp = 0; kp <= qp; kp++) sum += pattern[row + kp] = Math.exp(pattern[row + kp]! - max);
        for (let kp = 0; kp <= qp; kp++) pattern[row + kp]! /= sum;
        for (let kp = 0; kp <= qp; kp++) {
          const a = pattern[row + kp]!;
          for (let r = 0; r < G; r++) {
            const i = g * G + r;
            z[(b * S + qp) * F + i]! += a * v[(b * S + kp) * F + i]!;
          }
        }
      }
    }
  }
  return { q, k, v, pattern, z };
}

/** n_i = ‖W_O[i]‖, the Lorsa gate norm. */
export function lorsaDecoderNorms(cfg: LorsaConfig, p: Params64): Float64Array {
  return rowNorms64(p64(p, 'W_O'), cfg.d_sae, cfg.d_model);
}

/** f = act(z·n)/n over N tokens of F features (TopK per token, BatchTopK over all N·F). */
export function lorsaGate(cfg: LorsaConfig, p: Params64, z: Float64Array, N: number, k: number): Float64Array {
  const F = cfg.d_sae;
  const norms = cfg.sparsity_include_decoder_norm ? lorsaDecoderNorms(cfg, p) : null;
  const perEntry = norms ? Float64Array.from({ length: N * F }, (_, e) => norms[e % F]!) : null;
  const batch = cfg.act_fn === 'batchtopk';
  const logTheta = cfg.act_fn === 'jumprelu' ? p64(p, 'activation_function.log_jumprelu_threshold') : null;
  return decoderNormGate(
    z,
    perEntry,
    cfg.act_fn,
    batch ? { count: 1, size: N * F, index: (_g, j) => j } : { count: N, size: F, index: (g, j) => g * F + j },
    { k: batch ? k * N : k, ...(logTheta ? { logThreshold: (e: number) => logTheta[e % F]! } : {}) },
  );
}

/** The whole forward pass on x [B, S, d]: featureActs and hiddenPre [B, S, F], recon [B, S, d]. */
export function lorsaForward64(
  cfg: LorsaConfig,
  p: Params64,
  x: ArrayLike<number>,
  B: number,
  S: number,
  k: number = cfg.top_k,
): { featureActs: Float64Array; hiddenPre: Float64Array; recon: Float64Array } {
  const { d_model: d, d_sae: F } = cfg;
  const N = B * S;
  const { z } = lorsaAttention64(cfg, p, x, B, S);
  const f = lorsaGate(cfg, p, z, N, k);
  const WO = p64(p, 'W_O');
  const recon = new Float64Array(N * d);
  const bD = cfg.use_decoder_bias ? p64(p, 'b_D') : null;
  for (let t = 0; t < N; t++) {
    if (bD) for (let c = 0; c < d; c++) recon[t * d + c] = bD[c]!;
    for (let i = 0; i < F; i++) {
      const a = f[t * F + i]!;
      if (a === 0) continue;
      for (let c = 0; c < d; c++) recon[t * d + c]! += a * WO[i * d + c]!;
    }
  }
  return { featureActs: f, hiddenPre: z, recon };
}

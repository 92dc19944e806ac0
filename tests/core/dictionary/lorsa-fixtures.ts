// Shared builders of the Lorsa tests: a tiny config, random weights, and the spec's formulas written out directly
// (dictionaries-and-circuits.md §3), independent of src/core/dictionary/kinds/lorsa-math.ts.
import { parseConfig } from '../../../src/core/config/validate';
import { lorsaKind } from '../../../src/core/dictionary/kinds/lorsa';
import type { Params64 } from '../../../src/core/dictionary/kinds/lorsa-math';
import { uniformGenerator } from '../../../src/core/dictionary/host64';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { LorsaConfigSchema, type LorsaConfig } from '../../../src/protocol/kind-configs/lorsa';

export const HOOK_IN = 'blocks.0.ln1.hook_normalized';
export const HOOK_OUT = 'blocks.0.hook_attn_out';

export function lorsaCfg(overrides: Record<string, unknown> = {}): LorsaConfig {
  return parseConfig(
    LorsaConfigSchema,
    {
      sae_type: 'lorsa',
      hook_point_in: HOOK_IN,
      hook_point_out: HOOK_OUT,
      d_model: 8,
      d_sae: 12,
      n_qk_heads: 3,
      d_qk_head: 4,
      n_ctx: 6,
      rotary_dim: 4,
      act_fn: 'topk',
      top_k: 4,
      ...overrides,
    },
    'lorsa.json',
  );
}

/** lm-saes's init with every bias and QK-norm weight made random too, so that each one is exercised. */
export function randomParams(cfg: LorsaConfig, seed: number): HostParams {
  const params = lorsaKind.init(cfg, seed);
  const u = uniformGenerator(seed + 101);
  for (const name of ['b_Q', 'b_K', 'b_V', 'b_D']) {
    const t = params[name];
    if (t) t.data = t.data.map(() => u(0.3));
  }
  for (const name of ['ln_q.w', 'ln_k.w']) {
    const t = params[name];
    if (t) t.data = t.data.map(() => 1 + u(0.5));
  }
  for (const name of ['W_Q', 'W_K']) params[name]!.data = params[name]!.data.map((v) => v * 3);
  return params;
}

export function randomX(n: number, seed: number, scale = 1): Float64Array {
  const u = uniformGenerator(seed);
  return Float64Array.from({ length: n }, () => u(scale));
}

export const to64 = (params: HostParams): Params64 =>
  Object.fromEntries(Object.entries(params).map(([k, t]) => [k, Float64Array.from(t.data)]));

// ---- independent float64 formulas, written from the specification ----

/** Rotation of vec (length dr) at position pos: pairs (c, c+1) or (c, c + r/2), angle pos / base^(j/(r/2)). */
export function rotateDirect(cfg: LorsaConfig, vec: number[], pos: number): number[] {
  if (cfg.positional_embedding_type === 'none') return vec;
  const r = cfg.rotary_dim;
  const out = [...vec];
  for (let j = 0; j < r / 2; j++) {
    const angle = pos / cfg.rotary_base ** (j / (r / 2));
    const [a, b] = cfg.rotary_adjacent_pairs ? [2 * j, 2 * j + 1] : [j, j + r / 2];
    // (x_a + i x_b) · e^{i angle}
    out[a] = vec[a]! * Math.cos(angle) - vec[b]! * Math.sin(angle);
    out[b] = vec[b]! * Math.cos(angle) + vec[a]! * Math.sin(angle);
  }
  return out;
}

export function headVector(
  cfg: LorsaConfig,
  p: Params64,
  xt: number[],
  g: number,
  which: 'Q' | 'K',
  pos: number,
): number[] {
  const { d_model: d, d_qk_head: dq } = cfg;
  let h = Array.from({ length: dq }, (_, j) => {
    let s = p[`b_${which}`]![g * dq + j]!;
    for (let c = 0; c < d; c++) s += xt[c]! * p[`W_${which}`]![(g * d + c) * dq + j]!;
    return s;
  });
  if (cfg.use_post_qk_ln) {
    const rms = Math.sqrt(h.reduce((s, v) => s + v * v, 0) / dq + cfg.eps);
    const w = p[which === 'Q' ? 'ln_q.w' : 'ln_k.w']!;
    h = h.map((v, j) => (v / rms) * w[g * dq + j]!);
  }
  // lm-saes repeats each dimension rotary_scale times inside _apply_rotary, i.e. only with rotary positions.
  const times = cfg.positional_embedding_type === 'rotary' ? cfg.rotary_scale : 1;
  const rep = h.flatMap((v) => Array<number>(times).fill(v));
  return rotateDirect(cfg, rep, pos);
}

/** z [B·S, F] by the spec's formulas: z_i(q) = Σ_{k≤q} softmax_k(q_g·k_g / attn_scale) (x_k·W_V[i] + b_V[i]). */
export function zDirect(cfg: LorsaConfig, p: Params64, x: Float64Array, B: number, S: number): number[][] {
  const { d_model: d, d_sae: F } = cfg;
  const group = F / cfg.n_qk_heads;
  const row = (b: number, s: number) => Array.from(x.subarray((b * S + s) * d, (b * S + s + 1) * d));
  const out: number[][] = [];
  for (let b = 0; b < B; b++) {
    for (let qp = 0; qp < S; qp++) {
      const zq = new Array<number>(F).fill(0);
      for (let i = 0; i < F; i++) {
        const g = Math.floor(i / group);
        const q = headVector(cfg, p, row(b, qp), g, 'Q', qp);
        const scores = Array.from({ length: qp + 1 }, (_, kp) => {
          const k = headVector(cfg, p, row(b, kp), g, 'K', kp);
          return q.reduce((s, v, j) => s + v * k[j]!, 0) / cfg.attn_scale;
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const sum = e.reduce((a, v) => a + v, 0);
        for (let kp = 0; kp <= qp; kp++) {
          const xk = row(b, kp);
          let v = p.b_V![i]!;
          for (let c = 0; c < d; c++) v += xk[c]! * p.W_V![i * d + c]!;
          zq[i]! += (e[kp]! / sum) * v;
        }
      }
      out.push(zq);
    }
  }
  return out;
}

/** The gate f = act(z·n)/n and ŷ = f·W_O + b_D, directly. */
export function forwardDirect(cfg: LorsaConfig, p: Params64, x: Float64Array, B: number, S: number) {
  const { d_model: d, d_sae: F } = cfg;
  const z = zDirect(cfg, p, x, B, S);
  const n = Array.from({ length: F }, (_, i) => Math.hypot(...p.W_O!.subarray(i * d, (i + 1) * d)));
  const score = z.map((zt) => zt.map((v, i) => v * n[i]!));
  const f = z.map((zt) => zt.map(() => 0));
  const keep = (t: number, i: number) => (f[t]![i] = score[t]![i]! > 0 ? z[t]![i]! : 0);
  if (cfg.act_fn === 'relu') score.forEach((st, t) => st.forEach((_, i) => keep(t, i)));
  if (cfg.act_fn === 'jumprelu') {
    const logT = p['activation_function.log_jumprelu_threshold']!;
    score.forEach((st, t) => st.forEach((s, i) => s > Math.exp(logT[i]!) && keep(t, i)));
  }
  if (cfg.act_fn === 'topk')
    score.forEach((st, t) =>
      st
        .map((s, i) => [s, i] as const)
        .sort((a, b) => b[0] - a[0])
        .slice(0, cfg.top_k)
        .forEach(([, i]) => keep(t, i)),
    );
  if (cfg.act_fn === 'batchtopk')
    score
      .flatMap((st, t) => st.map((s, i) => [s, t, i] as const))
      .sort((a, b) => b[0] - a[0])
      .slice(0, cfg.top_k * B * S)
      .forEach(([, t, i]) => keep(t, i));
  const recon = f.map((ft) =>
    Array.from({ length: d }, (_, c) => ft.reduce((s, v, i) => s + v * p.W_O![i * d + c]!, p.b_D?.[c] ?? 0)),
  );
  return { z: z.flat(), f: f.flat(), recon: recon.flat() };
}

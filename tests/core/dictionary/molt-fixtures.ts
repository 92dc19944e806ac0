// Tiny MoLTs for the tests, and an independent float64 MoLT written straight from the spec formulas (spec §4):
// explicit d×d transforms M_i = U_iV_i, n_i = ‖M_i‖_F, f = act(h·n)/n, ŷ = Σ_i f_i M_i x + b_D.
import { parseConfig } from '../../../src/core/config/validate';
import { uniformGenerator } from '../../../src/core/dictionary/host64';
import type { HostParams } from '../../../src/core/sae/host-tensor';
import { MoltConfigSchema, type MoltConfig, type MoltConfigInput } from '../../../src/protocol/kind-configs/molt';

export const D = 8;
/** F = 4 + 5 + 3 = 12, keys deliberately out of order. */
export const RANK_COUNTS = { '3': 3, '1': 4, '2': 5 };

export function moltConfig(overrides: Partial<MoltConfigInput> = {}): MoltConfig {
  return parseConfig(
    MoltConfigSchema,
    {
      sae_type: 'molt',
      d_model: D,
      expansion_factor: 1.5,
      hook_point_in: 'blocks.0.ln2.hook_normalized',
      hook_point_out: 'blocks.0.hook_mlp_out',
      rank_counts: RANK_COUNTS,
      ...overrides,
    },
    'test config',
  );
}

/** Every tensor of `shapes` drawn from U(±scale) (seeded), so biases are nonzero too. */
export function randomParams(shapes: Record<string, number[]>, seed: number, scale = 0.6): HostParams {
  const draw = uniformGenerator(seed);
  const params: HostParams = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: size }, () => draw(scale));
    if (name.includes('log_jumprelu_threshold')) data.forEach((_, i) => (data[i] = Math.log(0.3 + 0.1 * (i % 3))));
    params[name] = { data, shape };
  }
  return params;
}

export function randomVector(length: number, seed: number, scale = 1): Float64Array {
  const draw = uniformGenerator(seed);
  return Float64Array.from({ length }, () => draw(scale));
}

export interface Blocks {
  rank: number;
  count: number;
}

/** Ranks ascending with their counts, read from the config (the spec's feature order). */
export function blocksOf(cfg: MoltConfig): Blocks[] {
  return Object.keys(cfg.rank_counts)
    .map(Number)
    .sort((a, b) => a - b)
    .map((rank) => ({ rank, count: cfg.rank_counts[String(rank)]! }));
}

/** M_i = U_i V_i as d×d row-major matrices, in feature order. */
export function explicitTransforms(cfg: MoltConfig, params: HostParams): Float64Array[] {
  const d = cfg.d_model;
  const out: Float64Array[] = [];
  for (const { rank: r, count } of blocksOf(cfg)) {
    const U = params[`U_matrices.${r}`]!.data;
    const V = params[`V_matrices.${r}`]!.data;
    for (let i = 0; i < count; i++) {
      const M = new Float64Array(d * d);
      for (let a = 0; a < d; a++)
        for (let b = 0; b < d; b++)
          for (let k = 0; k < r; k++) M[a * d + b]! += U[(i * d + a) * r + k]! * V[(i * r + k) * d + b]!;
      out.push(M);
    }
  }
  return out;
}

export function frobenius(M: Float64Array): number {
  return Math.sqrt(M.reduce((s, v) => s + v * v, 0));
}

/** The straightforward MoLT forward on tokens x [N, d] (normalised space). */
export function naiveMolt(
  cfg: MoltConfig,
  params: HostParams,
  x: Float64Array,
  N: number,
): { f: Float64Array; h: Float64Array; yHat: Float64Array; n: Float64Array; Mx: Float64Array } {
  const d = cfg.d_model;
  const F = cfg.d_sae;
  const M = explicitTransforms(cfg, params);
  const n = Float64Array.from(M, (m) => (cfg.sparsity_include_decoder_norm ? frobenius(m) : 1));
  const W = params.W_E!.data;
  const bE = params.b_E!.data;
  const h = new Float64Array(N * F);
  for (let t = 0; t < N; t++)
    for (let i = 0; i < F; i++) {
      let s = bE[i]!;
      for (let j = 0; j < d; j++) s += x[t * d + j]! * W[j * F + i]!;
      h[t * F + i] = s;
    }
  const score = h.map((v, e) => v * n[e % F]!);
  const keep = new Uint8Array(N * F);
  const k = cfg.top_k;
  if (cfg.act_fn === 'relu') score.forEach((s, e) => (keep[e] = s > 0 ? 1 : 0));
  if (cfg.act_fn === 'jumprelu') {
    const lt = params['activation_function.log_jumprelu_threshold']!.data;
    score.forEach((s, e) => (keep[e] = s > Math.exp(lt[e % F]!) ? 1 : 0));
  }
  const keepLargest = (entries: number[], kk: number) => {
    entries.sort((a, b) => score[b]! - score[a]!);
    for (const e of entries.slice(0, kk)) if (score[e]! > 0) keep[e] = 1;
  };
  if (cfg.act_fn === 'topk')
    for (let t = 0; t < N; t++)
      keepLargest(
        Array.from({ length: F }, (_, i) => t * F + i),
        k,
      );
  if (cfg.act_fn === 'batchtopk')
    keepLargest(
      Array.from({ length: N * F }, (_, e) => e),
      k * N,
    );
  const f = score.map((s, e) => (keep[e] ? s / n[e % F]! : 0));
  const Mx = new Float64Array(N * F * d); // (M_i x_t)_a, column-vector convention
  const yHat = new Float64Array(N * d);
  for (let t = 0; t < N; t++)
    for (let i = 0; i < F; i++)
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += M[i]![a * d + b]! * x[t * d + b]!;
        Mx[(t * F + i) * d + a] = s;
        yHat[t * d + a]! += f[t * F + i]! * s;
      }
  if (cfg.use_decoder_bias)
    for (let t = 0; t < N; t++) for (let a = 0; a < d; a++) yHat[t * d + a]! += params.b_D!.data[a]!;
  return { f, h, yHat, n, Mx };
}

/** Distance of the gate's decisions from a kink or tie (TopK: k-th vs (k+1)-th score), over all tokens. */
export function gateMargin(cfg: MoltConfig, params: HostParams, x: Float64Array, N: number): number {
  const { h, n } = naiveMolt(cfg, params, x, N);
  const F = cfg.d_sae;
  const score = h.map((v, e) => v * n[e % F]!);
  if (cfg.act_fn === 'relu') return Math.min(...score.map(Math.abs));
  if (cfg.act_fn === 'jumprelu') {
    const lt = params['activation_function.log_jumprelu_threshold']!.data;
    return Math.min(...score.map((s, e) => Math.abs(s - Math.exp(lt[e % F]!))));
  }
  const gap = (values: number[], kk: number) => {
    const sorted = values.sort((a, b) => b - a);
    return Math.min(sorted[kk - 1]! - (sorted[kk] ?? -Infinity), ...sorted.map(Math.abs));
  };
  if (cfg.act_fn === 'batchtopk') return gap([...score], cfg.top_k * N);
  let m = Infinity;
  for (let t = 0; t < N; t++) m = Math.min(m, gap([...score.slice(t * F, (t + 1) * F)], cfg.top_k));
  return m;
}

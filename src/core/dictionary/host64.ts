// Float64 building blocks of the kinds' reference implementations (kinds/*.ts): plain loops, no tensors, written
// to be read against the specification rather than to be fast.
import type { HostParams } from '../sae/host-tensor';
import { hostParam } from '../sae/host-tensor';
import type { KindActFn } from '../../protocol/kind-configs/common';

/** A parameter as float64 (the reference computes in float64 from the float32 weights). */
export function f64(params: HostParams, name: string): Float64Array {
  return Float64Array.from(hostParam(params, name).data);
}

/** out[r, :] (+)= a[r, :] · B for a [rows, inner] and B [inner, cols] (row-major). */
export function matmul(
  a: ArrayLike<number>,
  B: ArrayLike<number>,
  rows: number,
  inner: number,
  cols: number,
): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < inner; i++) {
      const v = a[r * inner + i]!;
      if (v === 0) continue;
      const o = i * cols;
      for (let c = 0; c < cols; c++) out[r * cols + c]! += v * B[o + c]!;
    }
  }
  return out;
}

/** ‖M[r, :]‖ for each row of M [rows, cols]. */
export function rowNorms64(M: ArrayLike<number>, rows: number, cols: number, offset = 0): Float64Array {
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += M[offset + r * cols + c]! ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
}

/**
 * The decoder-norm gate of lm-saes, f = act(h ⊙ n) / n, over `groups` independent selections: group g holds the
 * entries idx(g, j) for j < size (so a TopK per token, per (token, head), over a token's layers × F, or over the
 * whole batch are all one call). `norms` holds n per entry (or null: n = 1). `k` is the number kept per group.
 * JumpReLU gates h·n > exp(logThreshold) (lm-saes stores the threshold of the gated score); TopK-family keep the
 * k largest h·n of the group and return relu(h·n)/n there. Returns f and lm-saes's hidden_pre (= h).
 */
export function decoderNormGate(
  h: Float64Array,
  norms: Float64Array | null,
  act: KindActFn,
  groups: { count: number; size: number; index: (g: number, j: number) => number },
  opts: { k: number; logThreshold?: (entry: number) => number },
): Float64Array {
  const f = new Float64Array(h.length);
  const n = (e: number) => (norms ? norms[e]! : 1);
  if (act === 'relu' || act === 'jumprelu') {
    for (let e = 0; e < h.length; e++) {
      const s = h[e]! * n(e);
      const on = act === 'relu' ? s > 0 : s > Math.exp(opts.logThreshold!(e));
      f[e] = on && n(e) > 0 ? s / n(e) : 0;
    }
    return f;
  }
  const entries = new Int32Array(groups.size);
  const scores = new Float64Array(groups.size);
  for (let g = 0; g < groups.count; g++) {
    for (let j = 0; j < groups.size; j++) {
      const e = groups.index(g, j);
      entries[j] = e;
      scores[j] = h[e]! * n(e);
    }
    const order = Array.from({ length: groups.size }, (_, j) => j).sort((a, b) => scores[b]! - scores[a]! || a - b);
    for (let r = 0; r < Math.min(opts.k, groups.size); r++) {
      const j = order[r]!;
      const e = entries[j]!;
      if (scores[j]! > 0 && n(e) > 0) f[e] = scores[j]! / n(e);
    }
  }
  return f;
}

/** EV per axis as lm-saes computes it: 1 − mean_tok‖ŷ−y‖² / mean_tok‖y−ȳ‖², ȳ the batch mean per axis. */
export function explainedVariancePerAxis(
  yHat: ArrayLike<number>,
  y: ArrayLike<number>,
  tokens: number,
  axes: number,
  d: number,
): number[] {
  const out: number[] = [];
  for (let a = 0; a < axes; a++) {
    const mean = new Float64Array(d);
    for (let t = 0; t < tokens; t++) for (let c = 0; c < d; c++) mean[c]! += y[(t * axes + a) * d + c]! / tokens;
    let err = 0;
    let vari = 0;
    for (let t = 0; t < tokens; t++) {
      for (let c = 0; c < d; c++) {
        const i = (t * axes + a) * d + c;
        err += (yHat[i]! - y[i]!) ** 2;
        vari += (y[i]! - mean[c]!) ** 2;
      }
    }
    out.push(1 - err / vari);
  }
  return out;
}

/** Mean number of f > 0 per token, per axis, for f [tokens, axes, F]. */
export function l0PerAxis(f: ArrayLike<number>, tokens: number, axes: number, F: number): number[] {
  const out = new Array<number>(axes).fill(0);
  for (let t = 0; t < tokens; t++)
    for (let a = 0; a < axes; a++)
      for (let i = 0; i < F; i++) if (f[(t * axes + a) * F + i]! > 0) out[a]! += 1 / tokens;
  return out;
}

/** Uniform(−bound, bound) draws, deterministic in seed (mulberry32). */
export function uniformGenerator(seed: number): (bound: number) => number {
  let a = seed >>> 0;
  return (bound: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return (2 * u - 1) * bound;
  };
}

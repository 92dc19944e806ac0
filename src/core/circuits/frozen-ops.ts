// The frozen linear pieces of the replacement model on host arrays (spec §6.1), forward and reverse: a norm with
// its scale σ frozen per position (LayerNorm: centring, RMSNorm: none), and the real attention's OV path with its
// patterns frozen (grouped-query heads share V). Rows are positions (or B targets × S positions, pos = row % S).
// Arithmetic is in JS doubles; the buffers are Float64Array or Float32Array, as the run's dtype asks. Float32
// matrix products go to the native sgemm where the addon is built.
import { loadNativeBlas } from '../tensor/native/native-blas';

export type Vec = Float64Array | Float32Array;
export type Alloc = (n: number) => Vec;

export const allocFor = (dtype: 'float32' | 'float64'): Alloc =>
  dtype === 'float64' ? (n) => new Float64Array(n) : (n) => new Float32Array(n);

/** The native sgemm, when every operand is float32 and the addon is there. */
function sgemm(a: ArrayLike<number>, B: ArrayLike<number>, out: Vec) {
  if (!(a instanceof Float32Array && B instanceof Float32Array && out instanceof Float32Array)) return null;
  return loadNativeBlas().blas;
}

/** out [rows, cols] = a [rows, inner] · B [inner, cols]. */
export function matmul(
  a: ArrayLike<number>,
  B: ArrayLike<number>,
  rows: number,
  inner: number,
  cols: number,
  alloc: Alloc,
): Vec {
  const out = alloc(rows * cols);
  const blas = sgemm(a, B, out);
  if (blas) {
    blas.sgemm(
      false,
      false,
      rows,
      cols,
      inner,
      1,
      a as Float32Array,
      inner,
      B as Float32Array,
      cols,
      0,
      out as Float32Array,
      cols,
    );
    return out;
  }
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let i = 0; i < inner; i++) {
      const v = a[r * inner + i]!;
      if (v === 0) continue;
      const o = i * cols;
      for (let c = 0; c < cols; c++) acc[c]! += v * B[o + c]!;
    }
    out.set(acc, r * cols);
  }
  return out;
}

/** out [rows, cols] = a [rows, inner] · Bᵀ for B [cols, inner]. */
export function matmulT(
  a: ArrayLike<number>,
  B: ArrayLike<number>,
  rows: number,
  inner: number,
  cols: number,
  alloc: Alloc,
): Vec {
  const out = alloc(rows * cols);
  const blas = sgemm(a, B, out);
  if (blas) {
    blas.sgemm(
      false,
      true,
      rows,
      cols,
      inner,
      1,
      a as Float32Array,
      inner,
      B as Float32Array,
      inner,
      0,
      out as Float32Array,
      cols,
    );
    return out;
  }
  for (let r = 0; r < rows; r++) {
    const ao = r * inner;
    let zero = true;
    for (let i = 0; i < inner && zero; i++) zero = a[ao + i] === 0;
    if (zero) continue; // a target's gradient is 0 after its own position
    for (let c = 0; c < cols; c++) {
      const bo = c * inner;
      let s = 0;
      for (let i = 0; i < inner; i++) s += a[ao + i]! * B[bo + i]!;
      out[r * cols + c] = s;
    }
  }
  return out;
}

export interface FrozenNorm {
  /** σ per position [S]. */
  scale: Float64Array;
  w: Float32Array;
  b: Float32Array | null;
  centre: boolean;
}

/** y = C(x)/σ ⊙ w + b per row (pos = row % S); `withBias` false drops b (the linear part alone). */
export function normForward(x: Vec, n: FrozenNorm, rows: number, d: number, alloc: Alloc, withBias = true): Vec {
  const S = n.scale.length;
  const out = alloc(rows * d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mean = 0;
    if (n.centre) {
      for (let c = 0; c < d; c++) mean += x[o + c]!;
      mean /= d;
    }
    const inv = 1 / n.scale[r % S]!;
    for (let c = 0; c < d; c++) out[o + c] = (x[o + c]! - mean) * inv * n.w[c]! + (withBias && n.b ? n.b[c]! : 0);
  }
  return out;
}

/** The reverse of normForward's linear part: g_x = C(w ⊙ g_y)/σ per row. */
export function normBackward(g: Vec, n: FrozenNorm, rows: number, d: number, alloc: Alloc): Vec {
  const S = n.scale.length;
  const out = alloc(rows * d);
  for (let r = 0; r < rows; r++) {
    const o = r * d;
    let mean = 0;
    if (n.centre) {
      for (let c = 0; c < d; c++) mean += g[o + c]! * n.w[c]!;
      mean /= d;
    }
    const inv = 1 / n.scale[r % S]!;
    for (let c = 0; c < d; c++) out[o + c] = (g[o + c]! * n.w[c]! - mean) * inv;
  }
  return out;
}

/** One layer's real attention weights on the host (canonical layout, x @ W). */
export interface HostAttention {
  W_V: Float32Array; // [d, K·dh]
  b_V: Float32Array | null;
  W_O: Float32Array; // [H·dh, d]
  b_O: Float32Array | null;
  nHeads: number;
  nKvHeads: number;
  dHead: number;
}

/** out [S, d] = Σ_h P_h (x W_V^kv(h) + b_V) W_O^h + b_O for x [S, d] and frozen patterns P [H, S, S]. */
export function attentionForward(
  x: Vec,
  a: HostAttention,
  P: Float64Array,
  S: number,
  d: number,
  alloc: Alloc,
  withBias = true,
): Vec {
  const { nHeads: H, nKvHeads: K, dHead: dh } = a;
  const v = matmul(x, a.W_V, S, d, K * dh, alloc);
  if (withBias && a.b_V) for (let i = 0; i < v.length; i++) v[i]! += a.b_V[i % (K * dh)]!;
  const z = alloc(S * H * dh);
  const rep = H / K;
  for (let h = 0; h < H; h++) {
    const kv = Math.floor(h / rep);
    for (let q = 0; q < S; q++)
      for (let k = 0; k <= q; k++) {
        const p = P[(h * S + q) * S + k]!;
        if (p === 0) continue;
        for (let e = 0; e < dh; e++) z[(q * H + h) * dh + e]! += p * v[(k * K + kv) * dh + e]!;
      }
  }
  const out = matmul(z, a.W_O, S, H * dh, d, alloc);
  if (withBias && a.b_O) for (let i = 0; i < out.length; i++) out[i]! += a.b_O[i % d]!;
  return out;
}

/** The reverse of attentionForward's linear part for B targets: g [B·S, d] at the output → g_x [B·S, d]. */
export function attentionBackward(
  g: Vec,
  a: HostAttention,
  P: Float64Array,
  B: number,
  S: number,
  d: number,
  alloc: Alloc,
): Vec {
  const { nHeads: H, nKvHeads: K, dHead: dh } = a;
  const gz = matmulT(g, a.W_O, B * S, d, H * dh, alloc); // [B·S, H·dh]
  const gv = alloc(B * S * K * dh);
  const rep = H / K;
  const blas = sgemm(gz, gz, gv);
  if (blas) {
    // g_v(k) += Σ_q P_h[q, k] g_z,h(q): per target and head one Pᵀ·G_z,h product, strided into g_v's kv slot.
    const P32 = Float32Array.from(P);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++) {
        const gzh = (gz as Float32Array).subarray((b * S * H + h) * dh);
        const gvh = (gv as Float32Array).subarray((b * S * K + Math.floor(h / rep)) * dh);
        blas.sgemm(true, false, S, dh, S, 1, P32.subarray(h * S * S), S, gzh, H * dh, 1, gvh, K * dh);
      }
    return matmulT(gv, a.W_V, B * S, K * dh, d, alloc);
  }
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / rep);
      for (let q = 0; q < S; q++) {
        const go = ((b * S + q) * H + h) * dh;
        for (let k = 0; k <= q; k++) {
          const p = P[(h * S + q) * S + k]!;
          if (p === 0) continue;
          const vo = ((b * S + k) * K + kv) * dh;
          for (let e = 0; e < dh; e++) gv[vo + e]! += p * gz[go + e]!;
        }
      }
    }
  return matmulT(gv, a.W_V, B * S, K * dh, d, alloc); // W_V [d, K·dh] read as Bᵀ
}

// Plain Float32Array versions of the analysis computations (no tensors, no streaming, no bounds on memory),
// which the tests compare the fast paths with: exact per-feature statistics and context maxima from dense
// activations, direct logit attribution of one row, decoder cosines.

export interface ReferenceStats {
  count: Float64Array; // [F]
  sum: Float64Array; // [F]
  max: Float32Array; // [F]
  /** [windows * F]: each feature's max activation per window (0 where it did not fire). */
  contextMax: Float32Array;
}

/** acts: [T, F] dense activations of T analysed tokens; windowOf[t] the window (0…W−1) of token t. */
export function referenceStats(
  acts: Float32Array,
  F: number,
  windowOf: ArrayLike<number>,
  windows: number,
): ReferenceStats {
  const T = windowOf.length;
  const out: ReferenceStats = {
    count: new Float64Array(F),
    sum: new Float64Array(F),
    max: new Float32Array(F),
    contextMax: new Float32Array(windows * F),
  };
  for (let t = 0; t < T; t++) {
    const w = windowOf[t]!;
    for (let f = 0; f < F; f++) {
      const v = acts[t * F + f]!;
      if (!(v > 0)) continue;
      out.count[f]!++;
      out.sum[f]! += v;
      if (v > out.max[f]!) out.max[f] = v;
      if (v > out.contextMax[w * F + f]!) out.contextMax[w * F + f] = v;
    }
  }
  return out;
}

/** The windows with the n largest context maxima of feature f (ties: lower window first), strongest first. */
export function referenceTopContexts(stats: ReferenceStats, F: number, f: number, n: number): number[] {
  const W = stats.contextMax.length / F;
  const ws = Array.from({ length: W }, (_, w) => w).filter((w) => stats.contextMax[w * F + f]! > 0);
  return ws.sort((a, b) => stats.contextMax[b * F + f]! - stats.contextMax[a * F + f]! || a - b).slice(0, n);
}

/**
 * logits[v] = Σ_j ((x_j − mean(x)·[layernorm]) · w_j) · W_U[j, v] for one residual direction x [d];
 * W_U is [d, V] row-major.
 */
export function referenceDla(
  x: Float32Array,
  lnW: Float32Array,
  W_U: Float32Array,
  V: number,
  layernorm: boolean,
): Float64Array {
  const d = x.length;
  let mean = 0;
  if (layernorm) {
    for (let j = 0; j < d; j++) mean += x[j]!;
    mean /= d;
  }
  const logits = new Float64Array(V);
  for (let j = 0; j < d; j++) {
    const c = (x[j]! - mean) * lnW[j]!;
    for (let v = 0; v < V; v++) logits[v]! += c * W_U[j * V + v]!;
  }
  return logits;
}

/** Indices of the k largest values (ties: lower index first). */
export function referenceArgTopK(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b]! - values[a]! || a - b)
    .slice(0, k);
}

/** cos(W_D[i], W_D[j]) for W_D [F, d] row-major (0 when a row is zero). */
export function referenceCosine(W_D: Float32Array, d: number, i: number, j: number): number {
  let dot = 0;
  let ni = 0;
  let nj = 0;
  for (let k = 0; k < d; k++) {
    const a = W_D[i * d + k]!;
    const b = W_D[j * d + k]!;
    dot += a * b;
    ni += a * a;
    nj += b * b;
  }
  return ni === 0 || nj === 0 ? 0 : dot / Math.sqrt(ni * nj);
}

// Small host-side linear algebra for initialisation: means, geometric median (Weiszfeld), top principal
// directions (subspace iteration), row norms. Sizes are d_model-scale, so plain loops suffice.

/** Mean of the rows of x [n, d]. */
export function rowMean(x: Float32Array, n: number, d: number): Float32Array {
  const acc = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) acc[j]! += x[i * d + j]!;
  return Float32Array.from(acc, (v) => v / n);
}

/** Geometric median of the rows (Weiszfeld's algorithm, started at the mean). */
export function geometricMedian(x: Float32Array, n: number, d: number, iterations = 100, tol = 1e-6): Float32Array {
  let m = Float64Array.from(rowMean(x, n, d));
  for (let it = 0; it < iterations; it++) {
    const num = new Float64Array(d);
    let den = 0;
    for (let i = 0; i < n; i++) {
      let dist = 0;
      for (let j = 0; j < d; j++) dist += (x[i * d + j]! - m[j]!) ** 2;
      const w = 1 / Math.max(Math.sqrt(dist), 1e-8);
      den += w;
      for (let j = 0; j < d; j++) num[j]! += w * x[i * d + j]!;
    }
    const next = num.map((v) => v / den);
    let shift = 0;
    for (let j = 0; j < d; j++) shift += (next[j]! - m[j]!) ** 2;
    m = next;
    if (Math.sqrt(shift) < tol) break;
  }
  return Float32Array.from(m);
}

/** Top-r principal directions of the centred rows: columns of V [d, r] (orthonormal), by subspace iteration. */
export function principalDirections(
  x: Float32Array,
  n: number,
  d: number,
  r: number,
  random: () => number,
  iterations = 60,
): Float64Array {
  const mean = rowMean(x, n, d);
  const cov = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const base = i * d;
    for (let a = 0; a < d; a++) {
      const va = x[base + a]! - mean[a]!;
      if (va === 0) continue;
      for (let b = a; b < d; b++) cov[a * d + b]! += va * (x[base + b]! - mean[b]!);
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) cov[a * d + b] = cov[b * d + a]!;
  let V = new Float64Array(d * r).map(() => random() - 0.5);
  orthonormaliseColumns(V, d, r);
  for (let it = 0; it < iterations; it++) {
    const W = new Float64Array(d * r);
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        const c = cov[a * d + b]!;
        if (c === 0) continue;
        for (let k = 0; k < r; k++) W[a * r + k]! += c * V[b * r + k]!;
      }
    }
    orthonormaliseColumns(W, d, r);
    V = W;
  }
  return V;
}

/** Modified Gram-Schmidt on the columns of A [rows, cols], in place. */
export function orthonormaliseColumns(A: Float64Array, rows: number, cols: number): void {
  for (let k = 0; k < cols; k++) {
    for (let j = 0; j < k; j++) {
      let dot = 0;
      for (let i = 0; i < rows; i++) dot += A[i * cols + k]! * A[i * cols + j]!;
      for (let i = 0; i < rows; i++) A[i * cols + k]! -= dot * A[i * cols + j]!;
    }
    let norm = 0;
    for (let i = 0; i < rows; i++) norm += A[i * cols + k]! ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < rows; i++) A[i * cols + k]! /= norm;
  }
}

/** Scales each row of M [rows, cols] to the given norm (in place). */
export function setRowNorms(M: Float32Array, rows: number, cols: number, norm: number | Float32Array): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += M[r * cols + c]! ** 2;
    const target = typeof norm === 'number' ? norm : norm[r]!;
    const f = target / (Math.sqrt(s) || 1);
    for (let c = 0; c < cols; c++) M[r * cols + c]! *= f;
  }
}

export function rowNorms(M: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += M[r * cols + c]! ** 2;
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** The transpose of a [rows, cols] matrix, times a factor. */
export function transposeScaled(M: Float32Array, rows: number, cols: number, factor = 1): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = M[r * cols + c]! * factor;
  return out;
}

/** Projects each row of M [rows, d] onto span(V) (V [d, r] orthonormal columns), in place: m ← (m V) Vᵀ. */
export function projectRowsOntoSubspace(M: Float32Array, rows: number, d: number, V: Float64Array, r: number): void {
  const coeff = new Float64Array(r);
  for (let i = 0; i < rows; i++) {
    coeff.fill(0);
    for (let a = 0; a < d; a++) {
      const m = M[i * d + a]!;
      for (let k = 0; k < r; k++) coeff[k]! += m * V[a * r + k]!;
    }
    for (let a = 0; a < d; a++) {
      let s = 0;
      for (let k = 0; k < r; k++) s += coeff[k]! * V[a * r + k]!;
      M[i * d + a] = s;
    }
  }
}

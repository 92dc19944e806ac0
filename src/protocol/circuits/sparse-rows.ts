// |A| in compressed rows (the nonzero entries of each row, columns ascending), built once per influence or
// pruning call: attribution matrices are mostly structural zeros (rows exist only for features and logits, and a
// row reads only earlier layers at earlier positions), so products over the nonzeros are several times faster
// than over the dense n×n, and give the same sums in the same order.
import type { AdjacencyMatrix } from './influence';

export interface SparseRows {
  n: number;
  /** Row t's entries are [rowStart[t], rowStart[t + 1]). */
  rowStart: Float64Array;
  cols: Int32Array;
  /** |A[t, cols[k]]|, in the adjacency's precision. */
  abs: Float32Array | Float64Array;
}

export function sparseRows(a: AdjacencyMatrix, n: number): SparseRows {
  let nnz = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) nnz++;
  const rowStart = new Float64Array(n + 1);
  const cols = new Int32Array(nnz);
  const abs = a instanceof Float32Array ? new Float32Array(nnz) : new Float64Array(nnz);
  let k = 0;
  for (let t = 0; t < n; t++) {
    rowStart[t] = k;
    const row = t * n;
    for (let s = 0; s < n; s++) {
      const v = a[row + s]!;
      if (v !== 0) {
        cols[k] = s;
        abs[k++] = Math.abs(v);
      }
    }
  }
  rowStart[n] = k;
  return { n, rowStart, cols, abs };
}

/** 1 / max(Σ_s |A[t, s]|, clamp) per row (0 for rows outside `keep`); with `keep`, over kept columns only. */
export function sparseRowScales(sp: SparseRows, clamp: number, keep?: Uint8Array): Float64Array {
  const scales = new Float64Array(sp.n);
  for (let t = 0; t < sp.n; t++) {
    if (keep && !keep[t]) continue;
    let sum = 0;
    for (let k = sp.rowStart[t]!; k < sp.rowStart[t + 1]!; k++) if (!keep || keep[sp.cols[k]!]) sum += sp.abs[k]!;
    scales[t] = 1 / Math.max(sum, clamp);
  }
  return scales;
}

/** x·Â: out[s] = Σ_t x[t]·|A[t, s]|·scale[t], over kept rows and columns when `keep` is given. */
export function sparsePropagate(
  sp: SparseRows,
  scales: Float64Array,
  x: Float64Array,
  keep?: Uint8Array,
): Float64Array {
  const out = new Float64Array(sp.n);
  for (let t = 0; t < sp.n; t++) {
    const c = x[t]! * scales[t]!;
    if (c === 0 || (keep && !keep[t])) continue;
    for (let k = sp.rowStart[t]!; k < sp.rowStart[t + 1]!; k++) {
      const s = sp.cols[k]!;
      if (!keep || keep[s]) out[s]! += c * sp.abs[k]!;
    }
  }
  return out;
}

// The plain reference for the native matmul kernels: a triple loop in Float64 over NumPy-broadcast batch dims,
// written without the sgemm plan so tests compare two independent readings of the same maths.

export interface ReferenceOperand {
  values: ArrayLike<number>;
  /** Rank >= 2: [...batch, rows, cols] as stored (before any transpose). */
  shape: number[];
}

/** op(a) · op(b) with op = transpose when the flag is set; returns the values and [...batch, M, N]. */
export function referenceMatMul(
  a: ReferenceOperand,
  b: ReferenceOperand,
  transA = false,
  transB = false,
): { values: Float64Array; shape: number[] } {
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const [m, k] = transA ? [ca, ra] : [ra, ca];
  const [kb, n] = transB ? [cb, rb] : [rb, cb];
  if (k !== kb) throw new Error(`referenceMatMul: inner dims ${k} and ${kb} differ`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const pad = (s: number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(aBatch), pad(bBatch)];
  const outBatch = pa.map((da, i) => {
    const db = pb[i]!;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`referenceMatMul: batch dims ${da} and ${db} differ`);
    return da === 1 ? db : da;
  });
  const batches = outBatch.reduce((p, d) => p * d, 1);
  const out = new Float64Array(batches * m * n);
  const index = new Array<number>(rank).fill(0);
  for (let bi = 0; bi < batches; bi++) {
    // index = the multi-index of output batch bi; each operand reads index 0 along the dims it broadcasts.
    let rest = bi;
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = rest % outBatch[d]!;
      rest = Math.floor(rest / outBatch[d]!);
    }
    const baseA = flatIndex(index, pa) * ra * ca;
    const baseB = flatIndex(index, pb) * rb * cb;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = a.values[baseA + (transA ? p * ca + i : i * ca + p)]!;
          const bv = b.values[baseB + (transB ? j * cb + p : p * cb + j)]!;
          sum += av * bv;
        }
        out[(bi * m + i) * n + j] = sum;
      }
    }
  }
  return { values: out, shape: [...outBatch, m, n] };
}

function flatIndex(index: number[], shape: number[]): number {
  let flat = 0;
  for (let d = 0; d < shape.length; d++) flat = flat * shape[d]! + (shape[d] === 1 ? 0 : index[d]!);
  return flat;
}

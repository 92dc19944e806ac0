// Nearest features by decoder cosine similarity: unit rows of W_D, compared a block of rows at a time against
// all of them ([block, F] held at once); the top m + 1 come back and the row itself is dropped from them.
import * as tf from '@tensorflow/tfjs-core';

export interface Neighbours {
  m: number;
  /** [F * m], feature-major, most similar first. */
  index: Int32Array;
  cosine: Float32Array;
}

export async function decoderNeighbours(
  W_D: tf.Tensor2D,
  opts: { m?: number; blockElements?: number } = {},
): Promise<Neighbours> {
  const F = W_D.shape[0];
  const m = Math.max(0, Math.min(opts.m ?? 10, F - 1));
  const out: Neighbours = { m, index: new Int32Array(F * m), cosine: new Float32Array(F * m) };
  if (m === 0) return out;
  const block = Math.max(1, Math.floor((opts.blockElements ?? 16 * 2 ** 20) / F));
  // Zero rows get norm 1 (not 0) so their cosines are 0 instead of NaN.
  const unit = tf.tidy(() => {
    const norms = tf.norm(W_D, 'euclidean', 1, true); // [F, 1]
    return tf.div(W_D, tf.where(tf.greater(norms, 0), norms, tf.onesLike(norms))) as tf.Tensor2D;
  });
  try {
    for (let start = 0; start < F; start += block) {
      const n = Math.min(block, F - start);
      const { values, indices } = tf.tidy(() => {
        const rows = tf.slice(unit, [start, 0], [n, unit.shape[1]]);
        return tf.topk(tf.matMul(rows, unit, false, true), m + 1); // [n, F] cosines → [n, m + 1]
      });
      const [v, i] = (await Promise.all([values.data(), indices.data()])) as [Float32Array, Int32Array];
      tf.dispose([values, indices]);
      // Drop the row itself (its cosine is 1, or 0 for a zero row, so it may sit anywhere or be absent).
      for (let r = 0; r < n; r++) {
        const f = start + r;
        let k = 0;
        for (let j = r * (m + 1); j < (r + 1) * (m + 1) && k < m; j++) {
          if (i[j] === f) continue;
          out.index[f * m + k] = i[j]!;
          out.cosine[f * m + k++] = v[j]!;
        }
      }
    }
  } finally {
    unit.dispose();
  }
  return out;
}

// Two dictionaries of the same hook compared by decoder direction (as in Bricken et al. 2023, "feature splitting",
// and lm-saes's / SAELens's dictionary-comparison notebooks): each feature's best match in the other dictionary by
// cosine of the W_D rows, mutual-nearest pairs, splits (one feature of A that ≥ 2 features of B each pick as their
// best match above the threshold) and new features (features of B whose best match in A stays below it).
import * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../errors';

/** The best match of each row of one decoder among the rows of the other. */
export interface BestMatches {
  /** [rows] index of the best row of the other decoder. */
  index: Int32Array;
  /** [rows] its cosine. */
  cosine: Float32Array;
}

export interface DecoderComparison {
  threshold: number;
  /** Best match in B of each feature of A, and in A of each feature of B. */
  aToB: BestMatches;
  bToA: BestMatches;
  /** a's best match is b and b's best match is a (any cosine), best cosine first. */
  mutual: { a: number; b: number; cosine: number }[];
  /** Features of A picked as best match, above the threshold, by ≥ 2 features of B; most children first. */
  splits: { a: number; children: { b: number; cosine: number }[] }[];
  /** Features of B whose best cosine in A is below the threshold, lowest first. */
  newInB: { b: number; bestA: number; cosine: number }[];
  /** Features of A whose best cosine in B is below the threshold (gone in B), lowest first. */
  goneFromA: { a: number; bestB: number; cosine: number }[];
}

/** Unit rows (a zero row stays zero: its cosines are 0, not NaN). */
function unitRows(W: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const norms = tf.norm(W, 'euclidean', 1, true); // [F, 1]
    return tf.div(W, tf.where(tf.greater(norms, 0), norms, tf.onesLike(norms))) as tf.Tensor2D;
  });
}

/** For each row of `from`, the row of `to` with the largest cosine, a block of rows at a time ([block, F_to]). */
async function bestMatches(from: tf.Tensor2D, to: tf.Tensor2D, blockElements: number): Promise<BestMatches> {
  const F = from.shape[0];
  const out: BestMatches = { index: new Int32Array(F), cosine: new Float32Array(F) };
  const block = Math.max(1, Math.floor(blockElements / Math.max(1, to.shape[0])));
  for (let start = 0; start < F; start += block) {
    const n = Math.min(block, F - start);
    const { values, indices } = tf.tidy(() => {
      const rows = tf.slice(from, [start, 0], [n, from.shape[1]]); // [n, d_model]
      return tf.topk(tf.matMul(rows, to, false, true), 1); // [n, F_to] → [n, 1]
    });
    const [v, i] = (await Promise.all([values.data(), indices.data()])) as [Float32Array, Int32Array];
    tf.dispose([values, indices]);
    out.index.set(i, start);
    out.cosine.set(v, start);
  }
  return out;
}

/** Compares decoders W_D of A [F_A, d_model] and B [F_B, d_model]; `threshold` is the cosine of a match. */
export async function compareDecoders(
  A: tf.Tensor2D,
  B: tf.Tensor2D,
  opts: { threshold?: number; blockElements?: number } = {},
): Promise<DecoderComparison> {
  if (A.shape[1] !== B.shape[1])
    throw new InputError(`decoders of different widths: d_model ${A.shape[1]} and ${B.shape[1]}`);
  const threshold = opts.threshold ?? 0.7;
  if (!(threshold > -1 && threshold < 1)) throw new InputError(`threshold ${threshold}: expected a cosine in (−1, 1)`);
  const blockElements = opts.blockElements ?? 16 * 2 ** 20;
  const [ua, ub] = [unitRows(A), unitRows(B)];
  try {
    const aToB = await bestMatches(ua, ub, blockElements);
    const bToA = await bestMatches(ub, ua, blockElements);
    return summarizeMatches(aToB, bToA, threshold);
  } finally {
    tf.dispose([ua, ub]);
  }
}

/** The pairs, splits and new features that the best matches each way imply. */
export function summarizeMatches(aToB: BestMatches, bToA: BestMatches, threshold: number): DecoderComparison {
  const mutual: DecoderComparison['mutual'] = [];
  for (let a = 0; a < aToB.index.length; a++) {
    const b = aToB.index[a]!;
    if (bToA.index[b] === a) mutual.push({ a, b, cosine: aToB.cosine[a]! });
  }
  mutual.sort((x, y) => y.cosine - x.cosine);
  const children = new Map<number, { b: number; cosine: number }[]>();
  const newInB: DecoderComparison['newInB'] = [];
  for (let b = 0; b < bToA.index.length; b++) {
    const a = bToA.index[b]!;
    const cosine = bToA.cosine[b]!;
    if (cosine >= threshold) {
      const list = children.get(a) ?? [];
      list.push({ b, cosine });
      children.set(a, list);
    } else newInB.push({ b, bestA: a, cosine });
  }
  const splits = [...children.entries()]
    .filter(([, list]) => list.length >= 2)
    .map(([a, list]) => ({ a, children: list.sort((x, y) => y.cosine - x.cosine) }))
    .sort((x, y) => y.children.length - x.children.length || x.a - y.a);
  const goneFromA: DecoderComparison['goneFromA'] = [];
  for (let a = 0; a < aToB.index.length; a++)
    if (aToB.cosine[a]! < threshold) goneFromA.push({ a, bestB: aToB.index[a]!, cosine: aToB.cosine[a]! });
  newInB.sort((x, y) => x.cosine - y.cosine);
  goneFromA.sort((x, y) => x.cosine - y.cosine);
  return { threshold, aToB, bToA, mutual, splits, newInB, goneFromA };
}

/** The plain Float32Array reference of the best matches (rows of `from` [F, d] against rows of `to` [G, d]). */
export function referenceBestMatches(from: Float32Array, to: Float32Array, d: number): BestMatches {
  const F = from.length / d;
  const G = to.length / d;
  const norm = (m: Float32Array, r: number) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += m[r * d + j]! ** 2;
    return Math.sqrt(s) || 1;
  };
  const out: BestMatches = { index: new Int32Array(F), cosine: new Float32Array(F) };
  for (let r = 0; r < F; r++) {
    let best = -Infinity;
    let bestIndex = 0;
    const nr = norm(from, r);
    for (let c = 0; c < G; c++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += from[r * d + j]! * to[c * d + j]!;
      const cos = dot / (nr * norm(to, c));
      if (cos > best) [best, bestIndex] = [cos, c];
    }
    out.index[r] = bestIndex;
    out.cosine[r] = best;
  }
  return out;
}

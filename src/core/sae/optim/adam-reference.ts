// A plain Float64Array reference of our Adam step (Kingma & Ba 2015, PyTorch's bias-corrected formulation), with
// the unit-norm-rows variant: what the four fast implementations (tfjs ops in adam.ts, the native 'SaeAdamUpdate'
// kernel, the native and WGSL fused TopK steps) are each tested against. No tensors, no I/O.

export interface AdamReferenceOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /**
   * The parameter is a matrix of rows this long kept at unit norm: the gradient loses its component along each row
   * before the step and the rows are renormalised after (the decoder constraint of TopK SAEs).
   */
  unitRowLength?: number;
}

/** A parameter with its first and second moments, in float64. */
export interface AdamReferenceState {
  p: Float64Array;
  m: Float64Array;
  v: Float64Array;
}

/** A fresh state for parameter values `p`: zero moments. */
export function adamReferenceState(p: ArrayLike<number>): AdamReferenceState {
  return { p: Float64Array.from(p), m: new Float64Array(p.length), v: new Float64Array(p.length) };
}

/** g − (g·w) w for each row w of the unit-row matrix p: the gradient along the sphere. */
function projectOutRows(g: Float64Array, p: Float64Array, d: number): Float64Array {
  const out = Float64Array.from(g);
  for (let r = 0; r * d < p.length; r++) {
    const row = p.subarray(r * d, (r + 1) * d);
    const grow = out.subarray(r * d, (r + 1) * d);
    let along = 0;
    row.forEach((w, j) => (along += (grow[j] ?? 0) * w));
    row.forEach((w, j) => (grow[j] = (grow[j] ?? 0) - along * w));
  }
  return out;
}

/** Each row of p divided by its L2 norm, in place. */
function normalizeRows(p: Float64Array, d: number): void {
  for (let r = 0; r * d < p.length; r++) {
    const row = p.subarray(r * d, (r + 1) * d);
    const norm = Math.sqrt(row.reduce((s, w) => s + w * w, 0));
    row.forEach((w, j) => (row[j] = w / norm));
  }
}

/**
 * Step `t` (1-based: the bias corrections 1 − beta^t) of Adam on `state` with gradient `g`, in place:
 * m ← β1 m + (1 − β1) g, v ← β2 v + (1 − β2) g², p ← p − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + ε).
 */
export function adamReferenceStep(
  state: AdamReferenceState,
  grad: ArrayLike<number>,
  t: number,
  o: AdamReferenceOptions,
): void {
  const { p, m, v } = state;
  if (grad.length !== p.length)
    throw new RangeError(`adam reference: gradient of ${grad.length} for a parameter of ${p.length}`);
  const g = o.unitRowLength ? projectOutRows(Float64Array.from(grad), p, o.unitRowLength) : Float64Array.from(grad);
  const stepSize = o.lr / (1 - o.beta1 ** t);
  const sqrtC2 = Math.sqrt(1 - o.beta2 ** t);
  g.forEach((gi, i) => {
    const mi = o.beta1 * (m[i] ?? 0) + (1 - o.beta1) * gi;
    const vi = o.beta2 * (v[i] ?? 0) + (1 - o.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = (p[i] ?? 0) - stepSize * (mi / (Math.sqrt(vi) / sqrtC2 + o.eps));
  });
  if (o.unitRowLength) normalizeRows(p, o.unitRowLength);
}

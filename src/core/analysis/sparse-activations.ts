// A dictionary's feature activations for a batch of rows, read back once and kept sparse (CSR): only the
// activations > 0. TopK dictionaries come back as k values per row (the native sparse kernels on cpu/wasm, or a
// device-side topk of the dense codes), others as the dense codes scanned once on the host. Rows already on the
// host (a spool's) go straight to the native TopK encoder where it runs (encodeRowsSparse).
import * as tf from '@tensorflow/tfjs-core';
import { gatherRows } from '../activations/row-gather';
import { sparseTopKUnavailable } from '../sae/sparse/sparse-topk';
import type { SparseDictionary } from '../sae/sparse-dictionary';
import { nativeSparseTopK } from '../tensor/kernels/sparse-topk/host';
import { preScratch } from '../tensor/kernels/sparse-topk/host-batch-encode';
import { tensorMemory } from '../tensor/native/tensor-memory';

/** Row r's activations are feature[rowPtr[r] … rowPtr[r+1]), value[…] (all > 0, features ascending within a row for dense input). */
export interface SparseActs {
  rows: number;
  rowPtr: Int32Array; // [rows + 1]
  feature: Int32Array; // [nnz]
  value: Float32Array; // [nnz]
}

/** Encodes x [R, d_in] (already scaled to the dictionary's input space) and reads the non-zeros back. */
export async function encodeSparse(dict: SparseDictionary, x: tf.Tensor2D): Promise<SparseActs> {
  const cfg = dict.cfg;
  const R = x.shape[0];
  const useSparseKernel =
    cfg.act_fn === 'topk' && !cfg.sparsity_include_decoder_norm && sparseTopKUnavailable(cfg.top_k) === null;
  const k = cfg.top_k;
  // forward() leaves its intermediates to the caller's scope; only what is read back leaves this one.
  const out = tf.tidy(() => {
    const fwd = dict.forward(x, { sparse: useSparseKernel });
    if (fwd.sparse) {
      fwd.sparse.fired.dispose(); // the sparse op keeps its side outputs (tf.keep): tidy would not free it
      return { values: fwd.sparse.values, indices: fwd.sparse.indices };
    }
    // TopK has at most k non-zeros per row: read k per row instead of d_sae.
    if (cfg.act_fn === 'topk' && k < fwd.acts!.shape[1]) return tf.topk(fwd.acts!, k); // [R, k]
    return { dense: fwd.acts! }; // [R, d_sae]
  }) as { values: tf.Tensor2D; indices: tf.Tensor2D; dense?: undefined } | { dense: tf.Tensor2D };
  try {
    if (out.dense) return fromDense((await out.dense.data()) as Float32Array, R, out.dense.shape[1]);
    const [values, indices] = await Promise.all([out.values.data(), out.indices.data()]);
    return fromTopK(values as Float32Array, indices as Int32Array, R, out.values.shape[1]);
  } finally {
    tf.dispose(Object.values(out) as tf.Tensor[]);
  }
}

/**
 * encodeSparse of x [rows, d_in] × scale, for rows on the host; `x` is scaled in place. Where the sparse TopK
 * kernel would run (cpu, wasm), its encoder is called on `x` as it lies, with the same inputs the kernel gives it:
 * no tensor in, no decode (the analysis needs only the codes), no read-back. Elsewhere the rows go through
 * encodeSparse.
 */
export async function encodeRowsSparse(
  dict: SparseDictionary,
  x: Float32Array,
  rows: number,
  scale: number,
): Promise<SparseActs> {
  // tf.mul(x, scale) multiplies in float32 by the float32 scale: the exact double product rounds to the same float.
  // In place, natively where the addon has gatherRows (a vectorised loop; ~6 ms a batch of 64 windows in JavaScript).
  const s = Math.fround(scale);
  if (s !== 1 && x.length > 0) gatherRows(x, x, x.length, null, 0, 0, 1, s);
  const direct = directEncoder(dict);
  if (!direct) {
    const t = tf.tensor2d(x, [rows, dict.cfg.d_model]);
    try {
      return await encodeSparse(dict, t);
    } finally {
      t.dispose();
    }
  }
  const { K, W_E, b_E, shift, d, F, k } = direct;
  if (x.length !== rows * d) throw new Error(`encodeRowsSparse: ${x.length} values for ${rows} rows of ${d}`);
  if (codes.values.length < rows * k) codes = { values: new Float32Array(rows * k), indices: new Int32Array(rows * k) };
  const values = codes.values.subarray(0, rows * k); // [rows, k]
  const indices = codes.indices.subarray(0, rows * k); // [rows, k]
  // As the kernel (tensor/kernels/sparse-topk/host.ts): the sgemm path needs a [rows, F] scratch, the screen none.
  const scratch = K.topkScreening?.() ? null : preScratch(rows * F);
  K.topkEncode(x, shift, W_E, b_E, rows, d, F, k, scratch, values, indices, null);
  return fromTopK(values, indices, rows, k, { feature: indices, value: values });
}

/**
 * encodeRowsSparse's codes, reused from call to call (its result lives in them until the next call): a fresh
 * [rows, k] pair per batch is garbage that makes the collector mark the analysis's retained samples again.
 */
let codes = { values: new Float32Array(0), indices: new Int32Array(0) };

/** The native TopK encoder and views of the dictionary's weights, where encodeSparse would use the sparse kernel. */
function directEncoder(dict: SparseDictionary) {
  const cfg = dict.cfg;
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return null;
  if (cfg.act_fn !== 'topk' || cfg.sparsity_include_decoder_norm || sparseTopKUnavailable(cfg.top_k) !== null)
    return null;
  const K = nativeSparseTopK();
  const mem = tensorMemory(backend, tf.backend());
  const view = (name: string) => (dict.params[name] ? mem.view(dict.params[name]) : null);
  const [W_E, b_E, b_D] = [view('W_E'), view('b_E'), view('b_D')];
  if (!K || !W_E || !b_E) return null;
  // The sparse op subtracts b_D before the encoder only when the config asks and the dictionary has one.
  const shift = cfg.apply_decoder_bias_to_pre_encoder ? b_D : null;
  return { K, W_E, b_E, shift, d: cfg.d_model, F: cfg.d_sae, k: cfg.top_k };
}

/** CSR of the positive entries of a dense [R, F] row-major array (NaN or +∞ anywhere is an error). */
export function fromDense(acts: Float32Array, R: number, F: number): SparseActs {
  const rowPtr = new Int32Array(R + 1);
  let cap = Math.max(1024, R * 16);
  let feature = new Int32Array(cap);
  let value = new Float32Array(cap);
  let n = 0;
  for (let r = 0; r < R; r++) {
    const row = acts.subarray(r * F, (r + 1) * F);
    for (let f = 0; f < F; f++) {
      const v = row[f]!;
      if (!(v > 0)) {
        if (v !== v) throw nonFinite(v, r, f);
        continue;
      }
      if (v === Infinity) throw nonFinite(v, r, f);
      if (n === cap) {
        cap *= 2;
        feature = grow(feature, cap);
        value = grow(value, cap);
      }
      feature[n] = f;
      value[n++] = v;
    }
    rowPtr[r + 1] = n;
  }
  return { rows: R, rowPtr, feature: feature.subarray(0, n), value: value.subarray(0, n) };
}

/**
 * CSR of k (value, index) pairs per row, dropping values ≤ 0 (NaN or +∞ is an error). `into` may be the inputs
 * themselves (entry n is written after entry j ≥ n is read): the CSR then takes their place.
 */
export function fromTopK(
  values: Float32Array,
  indices: Int32Array,
  R: number,
  k: number,
  into?: { feature: Int32Array; value: Float32Array },
): SparseActs {
  const rowPtr = new Int32Array(R + 1);
  const feature = into?.feature ?? new Int32Array(R * k);
  const value = into?.value ?? new Float32Array(R * k);
  let n = 0;
  for (let r = 0; r < R; r++) {
    for (let j = r * k; j < (r + 1) * k; j++) {
      const v = values[j]!;
      if (!(v > 0)) {
        if (v !== v) throw nonFinite(v, r, indices[j]!);
        continue;
      }
      if (v === Infinity) throw nonFinite(v, r, indices[j]!);
      feature[n] = indices[j]!;
      value[n++] = v;
    }
    rowPtr[r + 1] = n;
  }
  return { rows: R, rowPtr, feature: feature.subarray(0, n), value: value.subarray(0, n) };
}

function nonFinite(v: number, row: number, feature: number): Error {
  return new Error(
    `feature ${feature} has activation ${v} on row ${row} of the batch: the dictionary or its input is not finite`,
  );
}

function grow<T extends Int32Array | Float32Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

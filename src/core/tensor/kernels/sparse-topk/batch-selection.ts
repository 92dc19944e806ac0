// BatchTopK's selection (Bussmann et al. 2024: the batch's B·k largest activations, per-token counts free) found
// with the per-token TopK kernels, in plain TypeScript over their results; and the [B, W] codes it hands the
// decoder. Shared by the host backends' encode (host-batch-encode.ts) and webgpu's preselection (sae/sparse).

/**
 * BatchTopK keeps the B·k largest activations of a batch — ReLU(pre) ≥ t, t the B·k-th largest (and at least 0) —
 * as many per token as fall there. The sparse path finds them with the TopK kernels: every token's top w
 * latents (w ≈ 1.5k, learned per shape: see selectBatch), then t among those B·w values. That t is the batch's own when no token can have a value ≥ t it did
 * not list: a token whose smallest listed value is 0 or below t has nothing left out that reaches t, and if
 * every token is so, the batch's B·k largest are all listed. A token whose listed values are all ≥ t (and > 0)
 * may have more, so those tokens alone are encoded again with twice the slots and t is taken again over the
 * longer lists (it can only rise: the list grew, and tokens already complete stay so) until none is left
 * (at d_sae latents a token lists everything).
 */
export interface BatchSelection {
  threshold: number;
  /** Each token's listed activations (ReLU applied) and latents: its top `values[r].length`. */
  values: Float32Array[];
  indices: Int32Array[];
}

/** The top `width` latents of each of `rows` (every token when null), ReLU applied: [rows, width] each. */
export type RowsEncoder = (rows: number[] | null, width: number) => { values: Float32Array; indices: Int32Array };

/** The first pass's slots for each shape (and backend): what left all but ~2% of the last batch's tokens complete. */
const firstWidths = new Map<string, number>();

/** BatchTopK's selection over B tokens, k per token on average (see above). With `key` (the shape), the first
 * pass's slots are learned from the previous batch: 1.5k at first, then one more than the 98th percentile of the
 * tokens' kept counts, so a batch whose tokens hold more (a trained dictionary's spread) does not send many of them
 * to a second pass. (`npm run bench`'s random batch, d 256 / 4096 / k 32: it settles at 52–59 slots; fixed widths
 * gave 2k 57–58 ms per step, 1.5k 54–56, 1.25k 62–63 — too many tokens in the second pass.) */
export function selectBatch(B: number, F: number, k: number, encode: RowsEncoder, key?: string): BatchSelection {
  const steps = batchSelector(B, F, k, key);
  for (let r = steps.next(); ;) {
    if (r.done) return r.value;
    r = steps.next(encode(...r.value));
  }
}

/** selectBatch with an encoder that answers later (webgpu: its results are read back asynchronously). */
export async function selectBatchAsync(
  B: number,
  F: number,
  k: number,
  encode: (...a: Parameters<RowsEncoder>) => Promise<ReturnType<RowsEncoder>>,
  key?: string,
): Promise<BatchSelection> {
  const steps = batchSelector(B, F, k, key);
  for (let r = steps.next(); ;) {
    if (r.done) return r.value;
    r = steps.next(await encode(...r.value));
  }
}

/** selectBatch's logic, asking for each encoding it needs (rows, width) and given its result. */
function* batchSelector(
  B: number,
  F: number,
  k: number,
  key?: string,
): Generator<Parameters<RowsEncoder>, BatchSelection, ReturnType<RowsEncoder>> {
  let width = Math.min(F, (key && firstWidths.get(key)) || Math.ceil(1.5 * k));
  const first = yield [null, width];
  const values = Array.from({ length: B }, (_, r) => first.values.subarray(r * width, (r + 1) * width));
  const indices = Array.from({ length: B }, (_, r) => first.indices.subarray(r * width, (r + 1) * width));
  let pending: number[] | null = null; // the tokens that may still be short (all, at first)
  for (;;) {
    const threshold = rthLargestNonNegative(concat(values), B * k);
    const short: number[] = (pending ?? values.map((_, r) => r)).filter((r: number) => {
      const v = values[r]!;
      if (v.length >= F) return false;
      let min = Infinity;
      for (let j = 0; j < v.length; j++) min = Math.min(min, v[j]!);
      return min > 0 && min >= threshold;
    });
    if (short.length === 0) {
      if (key) firstWidths.set(key, Math.min(F, Math.max(k, keptQuantile(values, threshold, 0.98) + 1)));
      return { threshold, values, indices };
    }
    width = Math.min(F, 2 * Math.max(...short.map((r) => values[r]!.length)));
    const more = yield [short, width];
    short.forEach((r, i) => {
      values[r] = more.values.subarray(i * width, (i + 1) * width);
      indices[r] = more.indices.subarray(i * width, (i + 1) * width);
    });
    pending = short;
  }
}

/** The [B, W] codes of a selection (W its longest list): each token's kept activations first, by latent (so the
 * decoder sums them in one order whatever the slots were — they are learned, and a resumed run starts afresh), then
 * zeros; and the firings per latent. Written into v, idx ([B·W]) and counts ([F]). The zeros take latents the
 * token did not keep — a row never names a latent twice, which the webgpu backward's ranking relies on — spread
 * over all latents (from (r·W) mod F on), so no latent's segment there gathers them all. */
export function batchCodes(
  sel: BatchSelection,
  W: number,
  v: Float32Array,
  idx: Int32Array,
  counts: Float32Array,
): void {
  const F = counts.length;
  v.fill(0);
  counts.fill(0);
  const th = sel.threshold;
  const kept = new Uint8Array(F);
  sel.values.forEach((rv, r) => {
    const ri = sel.indices[r]!;
    const row = r * W;
    let n = row;
    for (let j = 0; j < rv.length; j++) {
      if (!(rv[j]! >= th && rv[j]! > 0)) continue;
      // insertion by latent (the screen lists latents in order already; the sgemm path's heap does not)
      let at = n++;
      for (; at > row && idx[at - 1]! > ri[j]!; at--) {
        v[at] = v[at - 1]!;
        idx[at] = idx[at - 1]!;
      }
      v[at] = rv[j]!;
      idx[at] = ri[j]!;
      counts[ri[j]!]!++;
    }
    for (let q = row; q < n; q++) kept[idx[q]!] = 1;
    for (let q = n, f = row % F; q < row + W; q++, f = (f + 1) % F) {
      while (kept[f]) f = (f + 1) % F;
      idx[q] = f;
    }
    for (let q = row; q < n; q++) kept[idx[q]!] = 0;
  });
}

/** The q-quantile of the tokens' counts of activations ≥ threshold (and > 0). */
function keptQuantile(values: Float32Array[], threshold: number, q: number): number {
  const counts = new Int32Array(values.length);
  values.forEach((v, r) => {
    let n = 0;
    for (let j = 0; j < v.length; j++) n += v[j]! > 0 && v[j]! >= threshold ? 1 : 0;
    counts[r] = n;
  });
  counts.sort();
  return counts[Math.min(counts.length - 1, Math.floor(q * counts.length))]!;
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The r-th largest (1-based) of non-negative floats, by a two-pass radix select on their bits (which order
 * non-negative floats as their values do; a −0 counts as 0). */
export function rthLargestNonNegative(v: Float32Array, r: number): number {
  if (r < 1 || r > v.length) throw new RangeError(`rank ${r} of ${v.length} values`);
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  const key = (i: number) => (u[i]! === 0x80000000 ? 0 : u[i]!);
  const hist = new Uint32Array(65536);
  for (let i = 0; i < u.length; i++) hist[key(i) >>> 16]!++;
  let above = 0,
    hi = 65535;
  for (; hi > 0 && above + hist[hi]! < r; hi--) above += hist[hi]!;
  hist.fill(0);
  for (let i = 0; i < u.length; i++) if (key(i) >>> 16 === hi) hist[key(i) & 0xffff]!++;
  let lo = 65535;
  for (; lo > 0 && above + hist[lo]! < r; lo--) above += hist[lo]!;
  return new Float32Array(Uint32Array.of(((hi << 16) | lo) >>> 0).buffer)[0]!;
}

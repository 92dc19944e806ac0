// Evaluation of a dictionary on held-out windows, defined as in reference/sae-quality.json: explained variance
// 1 − Σ(x − x̂)² / Σ(x − x̄)² over all non-BOS tokens and dimensions, L0, MSE, L2 ratio, latent frequencies, and
// the LM's cross-entropy with the dictionary's output spliced in at every non-BOS position vs the original
// model vs zero-ablation, giving CE loss recovered = (CE_zero − CE_dict) / (CE_zero − CE_orig).
// The layers below the dictionary's hook run once per batch; the rest of the model runs three times from there
// (original, dictionary, zeros), with the same ops as three full passes with hooks, so the same numbers; resumed
// at the dictionary's own hook, the zeros' pass runs once per distinct first row (all windows share BOS's).
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy, defaultEvalBatch, tokenLosses } from '../lm/cross-entropy';
import type { ForwardOptions, HookFn, HookedTransformer } from '../lm/hooked-transformer';
import { checkTokenBatch, sliceRows, type TokenBatch } from '../lm/token-batch';
import { scalarValue } from './host-tensor';
import { datasetScale, denseOutput, type SparseDictionary } from './sparse-dictionary';
import { SharedZeroAblation } from './shared-zero-ablation';

export interface FrequencyBuckets {
  /** Upper bounds of the log10 firing-frequency buckets; the first bucket is "never fired". */
  edges: string[];
  counts: number[];
}

export interface EvalResult {
  tokens: number;
  explained_variance: number;
  l0: number;
  /** Mean over tokens of Σ_d (y − ŷ)², in the units of the model's activations. */
  mse: number;
  /** Mean ‖ŷ‖ / ‖y‖. */
  l2_ratio: number;
  dead_fraction: number;
  frequency_buckets: FrequencyBuckets;
  ce_orig: number;
  ce_with_dictionary: number;
  ce_zero_ablation: number;
  ce_loss_recovered: number;
}

export interface EvalOptions {
  batchSize?: number;
  onProgress?: (phase: string, done: number, total: number) => void;
  /**
   * Run the layers up to the dictionary's hook once per batch and resume from there for each of the three
   * cross-entropies (default true); false runs three full forward passes with hooks, as before (same numbers:
   * kept to compare against, and taken anyway for a dictionary on the embeddings).
   */
  resume?: boolean;
  /**
   * Resuming at the dictionary's own hook, compute the zero-ablation pass once per distinct position-0 row of the
   * activations rather than once per window (default true; the same numbers, see shared-zero-ablation.ts); false
   * runs it per window, as before (kept to compare against).
   */
  shareZeroAblation?: boolean;
}

/** Keeps activations at position 0 (BOS) and takes `replacement` elsewhere: [B, S, d]. */
function spliceNonBos(x: tf.Tensor, replacement: tf.Tensor): tf.Tensor {
  const [B, S, d] = x.shape as [number, number, number];
  const first = tf.slice(x, [0, 0, 0], [B, 1, d]);
  const rest = tf.slice(replacement, [0, 1, 0], [B, S - 1, d]);
  return tf.concat([first, rest], 1);
}

interface BatchSums {
  resSq: tf.Scalar;
  sumY: tf.Tensor1D;
  sumYSq: tf.Scalar;
  l0: tf.Scalar;
  ratio: tf.Scalar;
  fired: tf.Tensor1D;
  rows: number;
}

export async function evaluateDictionary(
  model: HookedTransformer,
  dict: SparseDictionary,
  windows: TokenBatch,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const cfg = dict.cfg;
  const hookIn = cfg.hook_point_in;
  const hookOut = cfg.hook_point_out;
  const sIn = datasetScale(cfg, hookIn);
  const sOut = datasetScale(cfg, hookOut);
  const sums: BatchSums[] = [];

  /** The dictionary's output for its input, spliced into yOut's non-BOS positions, with statistics recorded. */
  const reconstruct = (xIn: tf.Tensor, yOut: tf.Tensor): tf.Tensor => {
    const [B, S, d] = xIn.shape as [number, number, number];
    const flatIn = tf.slice(xIn, [0, 1, 0], [B, S - 1, d]).reshape([B * (S - 1), d]) as tf.Tensor2D; // non-BOS rows
    const flatOut = tf.slice(yOut, [0, 1, 0], [B, S - 1, d]).reshape([B * (S - 1), d]) as tf.Tensor2D;
    const fwd = dict.forward(sIn === 1 ? flatIn : (tf.mul(flatIn, sIn) as tf.Tensor2D)); // dense: the statistics need every activation
    const recon = sOut === 1 ? fwd.recon : tf.div(fwd.recon, sOut);
    const { l0, fired } = activeCounts(denseOutput(fwd, 'acts'), fwd.indices);
    const batch: BatchSums = {
      resSq: tf.sum(tf.square(tf.sub(flatOut, recon))) as tf.Scalar,
      sumY: tf.sum(flatOut, 0) as tf.Tensor1D,
      sumYSq: tf.sum(tf.square(flatOut)) as tf.Scalar,
      l0,
      ratio: tf.sum(
        tf.div(tf.norm(recon, 'euclidean', 1), tf.add(tf.norm(flatOut, 'euclidean', 1), 1e-12)),
      ) as tf.Scalar,
      fired,
      rows: B * (S - 1),
    };
    for (const t of Object.values(batch)) if (t instanceof tf.Tensor) tf.keep(t);
    sums.push(batch);
    const full = tf.concat([tf.zeros([B, 1, d]), recon.reshape([B, S - 1, d])], 1);
    return spliceNonBos(yOut, full);
  };

  const from = opts.resume === false ? null : model.resumePoint(hookOut);
  const [ceOrig, ceDict, ceZero] = from
    ? await resumedCrossEntropies(model, windows, { hookIn, hookOut, from }, reconstruct, opts)
    : await threePassCrossEntropies(model, windows, { hookIn, hookOut }, reconstruct, opts);

  // Float64 accumulation on the host.
  const d = model.cfg.dModel;
  const F = cfg.d_sae;
  let rows = 0;
  let resSq = 0;
  let sumYSq = 0;
  let l0 = 0;
  let ratio = 0;
  const sumY = new Float64Array(d);
  const fired = new Float64Array(F);
  for (const b of sums) {
    rows += b.rows;
    resSq += await scalarValue(b.resSq);
    sumYSq += await scalarValue(b.sumYSq);
    l0 += await scalarValue(b.l0);
    ratio += await scalarValue(b.ratio);
    (await b.sumY.data()).forEach((v, i) => (sumY[i]! += v));
    (await b.fired.data()).forEach((v, i) => (fired[i]! += v));
    tf.dispose([b.resSq, b.sumY, b.sumYSq, b.l0, b.ratio, b.fired]);
  }
  let meanSq = 0;
  for (const s of sumY) meanSq += (s / rows) ** 2;
  const totalVar = sumYSq - rows * meanSq;
  const freq = Array.from(fired, (c) => c / rows);
  return {
    tokens: rows,
    explained_variance: 1 - resSq / totalVar,
    l0: l0 / rows,
    mse: resSq / rows,
    l2_ratio: ratio / rows,
    dead_fraction: freq.filter((f) => f === 0).length / F,
    frequency_buckets: frequencyBuckets(freq),
    ce_orig: ceOrig,
    ce_with_dictionary: ceDict,
    ce_zero_ablation: ceZero,
    ce_loss_recovered: (ceZero - ceDict) / (ceZero - ceOrig),
  };
}

/**
 * The number of active latents (activation > 0) in all and per latent. For TopK (its kept latents given) only
 * those k per row are looked at, every other activation being 0: the same integers as counting over the dense
 * [rows, d_sae] activations (exact in float32 below 2^24), without two passes over them. On the host backends the
 * kept activations are gathered by (row, latent) pairs and counted on the host: the same copies of the same
 * floats compared with 0, and integer counts that float32 holds exactly, where the tensor formulation spends
 * more time in a broadcast add, a one-float-per-row gather and a scatter than in the counting.
 */
function activeCounts(acts: tf.Tensor2D, kept?: tf.Tensor2D): { l0: tf.Scalar; fired: tf.Tensor1D } {
  const [B, F] = acts.shape;
  if (!kept) {
    const active = tf.cast(tf.greater(acts, 0), 'float32');
    return { l0: tf.sum(active), fired: tf.sum(active, 0) };
  }
  const k = kept.shape[1];
  if (tf.getBackend() === 'webgpu') {
    const flat = tf.add(kept, tf.range(0, B * F, F, 'int32').reshape([B, 1])).reshape([B * k]);
    const on = tf.cast(tf.greater(tf.gather(acts.reshape([B * F]), flat), 0), 'float32'); // [B k]
    return { l0: tf.sum(on), fired: tf.scatterND(kept.reshape([B * k, 1]), on, [F]) as tf.Tensor1D };
  }
  const latents = kept.dataSync() as Int32Array; // [B k]
  const at = new Int32Array(B * k * 2); // (row, latent) of each kept activation
  for (let i = 0; i < B * k; i++) {
    at[2 * i] = Math.floor(i / k);
    at[2 * i + 1] = latents[i]!;
  }
  const values = tf.gatherND(acts, tf.tensor2d(at, [B * k, 2], 'int32')).dataSync(); // [B k]
  let l0 = 0;
  const fired = new Float32Array(F);
  for (let i = 0; i < B * k; i++) {
    if (values[i]! > 0) {
      l0++;
      fired[latents[i]!]!++;
    }
  }
  return { l0: tf.scalar(l0), fired: tf.tensor1d(fired) };
}

type Reconstruct = (xIn: tf.Tensor, yOut: tf.Tensor) => tf.Tensor;

/**
 * CE original, with the dictionary and with zero-ablation, by one pass up to `from` (the resume point of hookOut)
 * per batch, caching the dictionary's input and output, then three passes from `from` on: the replacement itself
 * when `from` is hookOut, else as a hook at hookOut in the re-run block. The losses add up batch by batch in the
 * order three full passes add them, so the means are the same doubles. When `from` is hookOut, zero-ablation's
 * pass runs once per distinct position-0 row instead (SharedZeroAblation: the same losses).
 */
async function resumedCrossEntropies(
  model: HookedTransformer,
  windows: TokenBatch,
  hooks: { hookIn: string; hookOut: string; from: string },
  reconstruct: Reconstruct,
  opts: EvalOptions,
): Promise<[number, number, number]> {
  const { hookIn, hookOut, from } = hooks;
  const order = model.hookNames;
  if (order.indexOf(hookIn) > order.indexOf(hookOut)) throw new Error(`evaluate: ${hookOut} runs before ${hookIn}`);
  checkTokenBatch(windows, model.cfg.dVocab, model.cfg.nCtx, 'windows');
  const batchSize = opts.batchSize ?? defaultEvalBatch(windows.seq, model.cfg.dVocab);
  const sums = [0, 0, 0];
  let count = 0;
  const shared = from === hookOut && opts.shareZeroAblation !== false ? new SharedZeroAblation(model, from) : null;
  for (let start = 0; start < windows.batch; start += batchSize) {
    const rows = sliceRows(windows, start, batchSize);
    const { cache } = model.runWithCache(rows, [...new Set([from, hookIn, hookOut])]);
    const y = cache[hookOut]!;
    const zeroLosses = shared ? await shared.losses(rows, y) : null;
    const replacements = [
      null,
      tf.tidy(() => reconstruct(cache[hookIn]!, y)),
      zeroLosses ? null : tf.tidy(() => spliceNonBos(y, tf.zerosLike(y))),
    ];
    for (let k = 0; k < 3; k++) {
      if (k === 2 && zeroLosses) {
        for (const v of zeroLosses) sums[2]! += v; // the same values, added in the same order
        continue;
      }
      const r = replacements[k];
      const pass: ForwardOptions =
        from === hookOut
          ? { from: { hook: from, activation: r ?? y } }
          : { from: { hook: from, activation: cache[from]! }, ...(r ? { hooks: { [hookOut]: () => r } } : {}) };
      const { logits } = model.forward(rows, pass);
      if (!logits) throw new Error('evaluate: the forward pass computed no logits');
      const losses = tokenLosses(logits, rows);
      logits.dispose();
      const values = (await losses.data()) as Float32Array;
      losses.dispose();
      for (const v of values) sums[k]! += v;
      if (k === 0) count += values.length;
    }
    tf.dispose([...Object.values(cache), ...replacements.filter((r) => r !== null)]);
    opts.onProgress?.('original, dictionary, zero-ablation', start + rows.batch, windows.batch);
  }
  return count ? [sums[0]! / count, sums[1]! / count, sums[2]! / count] : [NaN, NaN, NaN];
}

/** The same three cross-entropies by three full forward passes, the dictionary and the zeros spliced in by hooks. */
async function threePassCrossEntropies(
  model: HookedTransformer,
  windows: TokenBatch,
  hooks: { hookIn: string; hookOut: string },
  reconstruct: Reconstruct,
  opts: EvalOptions,
): Promise<[number, number, number]> {
  const { hookIn, hookOut } = hooks;
  let stashedInput: tf.Tensor | null = null;
  const dictHooks: Record<string, HookFn> =
    hookIn === hookOut
      ? { [hookOut]: (x) => reconstruct(x, x) }
      : {
          [hookIn]: (x) => {
            stashedInput = tf.keep(x.clone());
          },
          [hookOut]: (y) => {
            // The model runs hookIn before hookOut (dictionaryHooks checked the order).
            if (!stashedInput) throw new Error(`evaluate: ${hookOut} ran before ${hookIn}`);
            const out = reconstruct(stashedInput, y);
            stashedInput.dispose();
            stashedInput = null;
            return out;
          },
        };
  const zeroHooks: Record<string, HookFn> = { [hookOut]: (y) => spliceNonBos(y, tf.zerosLike(y)) };

  const progress = (phase: string) => (done: number, total: number) => opts.onProgress?.(phase, done, total);
  const run = async (phase: string, hooks?: Record<string, HookFn>) =>
    (await crossEntropy(model, windows, { batchSize: opts.batchSize, hooks, onProgress: progress(phase) }))
      .cross_entropy;
  return [await run('original'), await run('dictionary', dictHooks), await run('zero-ablation', zeroHooks)];
}

/** Counts of latents per firing-frequency bucket, each labelled by its upper bound: never, < 1e-5, [1e-5, 1e-4), … [1e-1, 1]. */
export function frequencyBuckets(freq: number[]): FrequencyBuckets {
  const edges = ['0', '1e-5', '1e-4', '1e-3', '1e-2', '1e-1', '1'];
  // A latent's bucket is the first whose upper bound exceeds its frequency (never fired: bucket 0).
  const bucketOf = (f: number) =>
    f === 0 ? 0 : Math.min(edges.length - 1, Math.max(1, Math.floor(Math.log10(f)) + 7));
  const buckets = freq.map(bucketOf);
  const counts = edges.map((_, b) => buckets.filter((x) => x === b).length);
  return { edges, counts };
}

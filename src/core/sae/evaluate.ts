// Evaluation of a dictionary on held-out windows, defined as in reference/sae-quality.json: explained variance
// 1 − Σ(x − x̂)² / Σ(x − x̄)² over all non-BOS tokens and dimensions, L0, MSE, L2 ratio, latent frequencies, and
// the LM's cross-entropy with the dictionary's output spliced in at every non-BOS position vs the original
// model vs zero-ablation, giving CE loss recovered = (CE_zero − CE_dict) / (CE_zero − CE_orig).
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy } from '../lm/cross-entropy';
import type { HookFn, HookedTransformer } from '../lm/hooked-transformer';
import type { TokenBatch } from '../lm/token-batch';
import { scalarValue } from './host-tensor';
import { datasetScale, denseOutput, type SparseDictionary } from './sparse-dictionary';

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
  let stashedInput: tf.Tensor | null = null;

  /** The dictionary's output for the stashed (or given) input, de-normalised, with statistics recorded. */
  const reconstruct = (xIn: tf.Tensor, yOut: tf.Tensor): tf.Tensor => {
    const [B, S, d] = xIn.shape as [number, number, number];
    const flatIn = tf.slice(xIn, [0, 1, 0], [B, S - 1, d]).reshape([B * (S - 1), d]) as tf.Tensor2D; // non-BOS rows
    const flatOut = tf.slice(yOut, [0, 1, 0], [B, S - 1, d]).reshape([B * (S - 1), d]) as tf.Tensor2D;
    const fwd = dict.forward(sIn === 1 ? flatIn : (tf.mul(flatIn, sIn) as tf.Tensor2D)); // dense: the statistics need every activation
    const recon = sOut === 1 ? fwd.recon : tf.div(fwd.recon, sOut);
    const active = tf.cast(tf.greater(denseOutput(fwd, 'acts'), 0), 'float32');
    const batch: BatchSums = {
      resSq: tf.sum(tf.square(tf.sub(flatOut, recon))) as tf.Scalar,
      sumY: tf.sum(flatOut, 0) as tf.Tensor1D,
      sumYSq: tf.sum(tf.square(flatOut)) as tf.Scalar,
      l0: tf.sum(active) as tf.Scalar,
      ratio: tf.sum(
        tf.div(tf.norm(recon, 'euclidean', 1), tf.add(tf.norm(flatOut, 'euclidean', 1), 1e-12)),
      ) as tf.Scalar,
      fired: tf.sum(active, 0) as tf.Tensor1D,
      rows: B * (S - 1),
    };
    for (const t of Object.values(batch)) if (t instanceof tf.Tensor) tf.keep(t);
    sums.push(batch);
    const full = tf.concat([tf.zeros([B, 1, d]), recon.reshape([B, S - 1, d])], 1);
    return spliceNonBos(yOut, full);
  };

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
  const orig = await crossEntropy(model, windows, { batchSize: opts.batchSize, onProgress: progress('original') });
  const withDict = await crossEntropy(model, windows, {
    batchSize: opts.batchSize,
    hooks: dictHooks,
    onProgress: progress('dictionary'),
  });
  const zero = await crossEntropy(model, windows, {
    batchSize: opts.batchSize,
    hooks: zeroHooks,
    onProgress: progress('zero-ablation'),
  });

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
    ce_orig: orig.cross_entropy,
    ce_with_dictionary: withDict.cross_entropy,
    ce_zero_ablation: zero.cross_entropy,
    ce_loss_recovered: (zero.cross_entropy - withDict.cross_entropy) / (zero.cross_entropy - orig.cross_entropy),
  };
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

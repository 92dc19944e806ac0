// Mean next-token cross-entropy (nats) of a model over token windows, computed batch by batch on the active
// backend and accumulated in float64 on the host.
import * as tf from '@tensorflow/tfjs-core';
import type { HookedTransformer, HookFn } from './hooked-transformer';
import { fusedTokenLosses } from '../tensor/kernels/token-losses/op';
import { checkTokenBatch, sliceRows, type TokenBatch } from './token-batch';

export interface CrossEntropyResult {
  cross_entropy: number;
  /** Number of predicted tokens: n * (seq - 1). */
  tokens: number;
}

export interface CrossEntropyOptions {
  /** Windows per forward pass; by default as many as keep the logits under ~64 MB. */
  batchSize?: number;
  hooks?: Record<string, HookFn | HookFn[]>;
  onProgress?: (done: number, total: number) => void;
}

export function defaultEvalBatch(seq: number, vocab: number): number {
  return Math.max(1, Math.floor((64 * 2 ** 20) / (4 * seq * vocab)));
}

/**
 * Per-position losses [batch, seq - 1] of one batch: logsumexp(logits) - logit[target]. By the native kernel
 * where the backend has it (the same float operations, rows in parallel), else by tfjs.
 */
export function tokenLosses(logits: tf.Tensor3D, batch: TokenBatch): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, S, V] = logits.shape;
    const targets = new Int32Array(B * (S - 1));
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S - 1; s++) targets[b * (S - 1) + s] = batch.ids[b * S + s + 1]!;
    }
    const fused = fusedTokenLosses(logits, tf.tensor1d(targets, 'int32'));
    if (fused) return fused;
    const next = targets.map((t, i) => (Math.floor(i / (S - 1)) * S + (i % (S - 1))) * V + t);
    const lse = tf.logSumExp(tf.slice(logits, [0, 0, 0], [B, S - 1, V]), -1); // [B, S-1]
    const picked = tf.gather(logits.reshape([B * S * V]), tf.tensor1d(next, 'int32')).reshape([B, S - 1]);
    return tf.sub(lse, picked) as tf.Tensor2D;
  });
}

export async function crossEntropy(
  model: HookedTransformer,
  windows: TokenBatch,
  opts: CrossEntropyOptions = {},
): Promise<CrossEntropyResult> {
  checkTokenBatch(windows, model.cfg.dVocab, model.cfg.nCtx, 'windows');
  const batchSize = opts.batchSize ?? defaultEvalBatch(windows.seq, model.cfg.dVocab);
  let sum = 0;
  let count = 0;
  for (let start = 0; start < windows.batch; start += batchSize) {
    const rows = sliceRows(windows, start, batchSize);
    const { logits } = model.forward(rows, { hooks: opts.hooks });
    if (!logits) throw new Error('crossEntropy: the forward pass computed no logits');
    const losses = tokenLosses(logits, rows);
    logits.dispose();
    const values = (await losses.data()) as Float32Array;
    losses.dispose();
    for (const v of values) sum += v;
    count += values.length;
    opts.onProgress?.(start + rows.batch, windows.batch);
  }
  return { cross_entropy: count ? sum / count : NaN, tokens: count };
}

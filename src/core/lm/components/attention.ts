// Causal multi-head attention with grouped-query heads, RoPE, q/k norms, soft-capping and sliding windows,
// exposing TransformerLens's attention hooks.
import * as tf from '@tensorflow/tfjs-core';
import { hookName } from '../../../protocol/hook-names';
import type { ModelConfig } from '../model-config';
import type { AttentionParams } from '../params';
import type { HookRunner } from './hook-runner';
import { linear, linearAdd } from './linear';
import { applyNorm } from './norm';
import { applyRotary } from './rotary';
import { fusedCausalAttention } from '../../tensor/kernels/causal-attention/op';
import type { KvCache } from '../kv-cache';

export interface AttentionContext {
  batch: number;
  seq: number;
  /** [seq, past + seq] additive mask (0 where allowed, a large negative number elsewhere); past is 0 without a cache. */
  mask: tf.Tensor;
  /** The sliding window the mask applies (query i sees keys i − window < j ≤ i), or null for plain causal. */
  window: number | null;
  /** [1, seq, 1, rotary dim] tables, when the model is rotary. */
  cos: tf.Tensor | null;
  sin: tf.Tensor | null;
  /** Incremental decoding: the keys and values of earlier positions, extended with this pass's (kv-cache.ts). */
  kvCache?: KvCache | null;
}

/**
 * x: [batch * seq, d_model] normalised input → [batch * seq, d_model] (before any post-norm); with `residual`
 * ([batch * seq, d_model]), residual + that output, added as the output projection finishes each tile (the caller
 * leaves hook_attn_out unwatched).
 */
export function attention(
  x: tf.Tensor2D,
  p: AttentionParams<tf.Tensor>,
  cfg: ModelConfig,
  layer: number,
  ctx: AttentionContext,
  hooks: HookRunner,
  residual?: tf.Tensor2D,
): tf.Tensor2D {
  const { batch: B, seq: S } = ctx;
  const H = cfg.nHeads;
  const K = cfg.nKvHeads;
  const dh = cfg.dHead;
  const hp = (h: Parameters<typeof hookName>[1], t: tf.Tensor) => hooks.point(hookName(layer, h), t);

  let q = hp('attn.hook_q', linear(x, p.W_Q, p.b_Q).reshape([B, S, H, dh])) as tf.Tensor4D;
  let k = hp('attn.hook_k', linear(x, p.W_K, p.b_K).reshape([B, S, K, dh])) as tf.Tensor4D;
  const v = hp('attn.hook_v', linear(x, p.W_V, p.b_V).reshape([B, S, K, dh])) as tf.Tensor4D;
  if (p.qNorm && p.kNorm) {
    q = applyNorm('rmsnorm', q, p.qNorm, cfg.normEps) as tf.Tensor4D;
    k = applyNorm('rmsnorm', k, p.kNorm, cfg.normEps) as tf.Tensor4D;
  }
  if (cfg.rotary && ctx.cos && ctx.sin) {
    q = hp('attn.hook_rot_q', applyRotary(q, ctx.cos, ctx.sin, cfg.rotary.dim)) as tf.Tensor4D;
    k = hp('attn.hook_rot_k', applyRotary(k, ctx.cos, ctx.sin, cfg.rotary.dim)) as tf.Tensor4D;
  }

  // With a KV cache the new queries attend over every cached position plus the new ones: T = past + S keys.
  const all = ctx.kvCache ? ctx.kvCache.extend(layer, k, v) : { k, v };
  const T = all.k.shape[1];
  // The scale is applied to q ([B, S, H, dh]) rather than to the scores ([B, H, S, S]): S/dh times fewer multiplies.
  // The fused kernel, where nothing reads the scores or the pattern (or their gradients): no [B, H, S, S] tensors;
  // it multiplies q by the scale itself, as tf.mul does (no scaled copy of q).
  const fused =
    T === S &&
    !hooks.watches(hookName(layer, 'attn.hook_attn_scores')) &&
    !hooks.watches(hookName(layer, 'attn.hook_pattern'))
      ? fusedCausalAttention(q, k, v, ctx.window, cfg.attnSoftcap, cfg.attnScale)
      : null;
  const project = (z: tf.Tensor) => {
    const flat = z.reshape([B * S, H * dh]) as tf.Tensor2D;
    return residual ? linearAdd(flat, p.W_O, p.b_O, residual) : linear(flat, p.W_O, p.b_O);
  };
  if (fused) return project(hp('attn.hook_z', fused));
  const qs = tf.mul(q, cfg.attnScale) as tf.Tensor4D;
  const qT = tf.transpose(qs, [0, 2, 1, 3]); // [B, H, S, dh]
  let kT = tf.transpose(all.k, [0, 2, 3, 1]); // [B, K, dh, T]: explicit, so the matmul below is untransposed
  let vT = tf.transpose(all.v, [0, 2, 1, 3]); // [B, K, T, dh]
  if (K !== H) {
    // Grouped-query attention: query head h reads key/value head floor(h / (H / K)).
    // Tiles in rank 3: webgpu runs rank-5 tiles on the CPU through a synchronous read.
    const rep = H / K;
    kT = tf.tile(kT.reshape([B * K, 1, dh * T]), [1, rep, 1]).reshape([B, H, dh, T]);
    vT = tf.tile(vT.reshape([B * K, 1, T * dh]), [1, rep, 1]).reshape([B, H, T, dh]);
  }
  let scores: tf.Tensor = tf.matMul(qT, kT); // [B, H, S, T], scaled
  if (cfg.attnSoftcap !== null) scores = tf.mul(tf.tanh(tf.div(scores, cfg.attnSoftcap)), cfg.attnSoftcap);
  scores = hp('attn.hook_attn_scores', tf.add(scores, ctx.mask));
  const pattern = hp('attn.hook_pattern', tf.softmax(scores)); // [B, H, S, T]
  const z = hp('attn.hook_z', tf.transpose(tf.matMul(pattern, vT), [0, 2, 1, 3])); // [B, S, H, dh]
  return project(z);
}

/** Additive causal mask [seq, seq]; with a window w, query i sees keys j with i - w < j <= i (HF's convention). */
export function causalMask(seq: number, window: number | null): tf.Tensor2D {
  const m = new Float32Array(seq * seq);
  for (let i = 0; i < seq; i++) {
    for (let j = 0; j < seq; j++) {
      const allowed = j <= i && (window === null || j > i - window);
      m[i * seq + j] = allowed ? 0 : -1e9;
    }
  }
  return tf.tensor2d(m, [seq, seq]);
}

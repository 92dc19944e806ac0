// One transformer block (sequential or parallel residual, optional Gemma-2 post-norms) with its residual hooks.
import * as tf from '@tensorflow/tfjs-core';
import { blockModule, hookName } from '../../../protocol/hook-names';
import type { ModelConfig } from '../model-config';
import type { BlockParams } from '../params';
import { attention, type AttentionContext } from './attention';
import type { HookRunner } from './hook-runner';
import { mlp } from './mlp';
import { applyNorm } from './norm';

/** resid: [batch, seq, d_model] → [batch, seq, d_model]. */
export function block(
  resid: tf.Tensor,
  p: BlockParams<tf.Tensor>,
  cfg: ModelConfig,
  layer: number,
  ctx: AttentionContext,
  hooks: HookRunner,
): tf.Tensor {
  const { batch: B, seq: S } = ctx;
  const N = B * S;
  const d = cfg.dModel;
  const name = (h: Parameters<typeof hookName>[1]) => hookName(layer, h);
  const flat = (t: tf.Tensor) => t.reshape([N, d]) as tf.Tensor2D;
  const full = (t: tf.Tensor) => t.reshape([B, S, d]);

  const pre = hooks.point(name('hook_resid_pre'), resid);
  const n1 = applyNorm(cfg.normType, pre, p.ln1, cfg.normEps, hooks, blockModule(layer, 'ln1'));
  // Sequential blocks add each sublayer's output into the residual stream inside its output projection (linearAdd)
  // where nothing watches that output on its own: the same sums, with no pass over the tensor for the add.
  const sequential = !cfg.parallelResidual;
  let mlpIn: tf.Tensor;
  let attnOut: tf.Tensor | null = null;
  if (sequential && !p.ln1Post && !hooks.watches(name('hook_attn_out'))) {
    mlpIn = full(attention(flat(n1), p.attn, cfg, layer, ctx, hooks, flat(pre)));
  } else {
    attnOut = full(attention(flat(n1), p.attn, cfg, layer, ctx, hooks));
    if (p.ln1Post)
      attnOut = applyNorm(cfg.normType, hooks.point(name('ln1_post.hook_in'), attnOut), p.ln1Post, cfg.normEps);
    attnOut = hooks.point(name('hook_attn_out'), attnOut);
    mlpIn = sequential ? tf.add(pre, attnOut) : pre;
  }
  if (sequential) mlpIn = hooks.point(name('hook_resid_mid'), mlpIn);

  const n2 = applyNorm(cfg.normType, mlpIn, p.ln2, cfg.normEps, hooks, blockModule(layer, 'ln2'));
  if (sequential && !p.ln2Post && !hooks.watches(name('hook_mlp_out'))) {
    const post = full(mlp(flat(n2), p.mlp, cfg, layer, [B, S], hooks, flat(mlpIn)));
    return hooks.point(name('hook_resid_post'), post);
  }
  let mlpOut = full(mlp(flat(n2), p.mlp, cfg, layer, [B, S], hooks));
  if (p.ln2Post)
    mlpOut = applyNorm(cfg.normType, hooks.point(name('ln2_post.hook_in'), mlpOut), p.ln2Post, cfg.normEps);
  mlpOut = hooks.point(name('hook_mlp_out'), mlpOut);

  // GPT-NeoX adds mlp_output + attn_output + residual in that order.
  const post = cfg.parallelResidual ? tf.add(tf.add(mlpOut, attnOut!), pre) : tf.add(mlpIn, mlpOut);
  return hooks.point(name('hook_resid_post'), post);
}

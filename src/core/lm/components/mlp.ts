// The feed-forward block (plain or gated), with TransformerLens's mlp.hook_pre / hook_pre_linear / hook_post.
import * as tf from '@tensorflow/tfjs-core';
import { hookName } from '../../../protocol/hook-names';
import type { ModelConfig } from '../model-config';
import type { MlpParams } from '../params';
import { activate } from './activations';
import type { HookRunner } from './hook-runner';
import { linear, linearAdd, linearGeluNew } from './linear';

/**
 * x: [batch * seq, d_model] normalised input → [batch * seq, d_model]; with `residual` ([batch * seq, d_model]),
 * residual + the output, added as the output projection finishes each tile (the caller leaves hook_mlp_out unwatched).
 */
export function mlp(
  x: tf.Tensor2D,
  p: MlpParams<tf.Tensor>,
  cfg: ModelConfig,
  layer: number,
  shape: [number, number],
  hooks: HookRunner,
  residual?: tf.Tensor2D,
): tf.Tensor2D {
  const [B, S] = shape;
  const N = B * S;
  const hp = (h: Parameters<typeof hookName>[1], t: tf.Tensor2D) =>
    hooks.point(hookName(layer, h), t.reshape([B, S, cfg.dMlp])).reshape([N, cfg.dMlp]) as tf.Tensor2D;
  let post: tf.Tensor2D;
  if (p.W_gate) {
    const pre = hp('mlp.hook_pre', linear(x, p.W_gate, null)); // [N, d_mlp]
    const preLinear = hp('mlp.hook_pre_linear', linear(x, p.W_in, p.b_in));
    post = tf.mul(activate(cfg.actFn, pre), preLinear);
  } else {
    // The tanh GELU in the input projection's sgemm where nothing watches the pre-activation.
    const fused =
      cfg.actFn === 'gelu_new' && !hooks.watches(hookName(layer, 'mlp.hook_pre'))
        ? linearGeluNew(x, p.W_in, p.b_in)
        : null;
    post = fused ?? (activate(cfg.actFn, hp('mlp.hook_pre', linear(x, p.W_in, p.b_in))) as tf.Tensor2D);
  }
  const hidden = hp('mlp.hook_post', post);
  return residual ? linearAdd(hidden, p.W_out, p.b_out, residual) : linear(hidden, p.W_out, p.b_out);
}

// The feed-forward block (plain or gated), with TransformerLens's mlp.hook_pre / hook_pre_linear / hook_post.
import * as tf from '@tensorflow/tfjs-core';
import { hookName } from '../../../protocol/hook-names';
import type { ModelConfig } from '../model-config';
import type { MlpParams } from '../params';
import { activate } from './activations';
import type { HookRunner } from './hook-runner';
import { linear } from './linear';

/** x: [batch * seq, d_model] normalised input → [batch * seq, d_model]. */
export function mlp(
  x: tf.Tensor2D,
  p: MlpParams<tf.Tensor>,
  cfg: ModelConfig,
  layer: number,
  shape: [number, number],
  hooks: HookRunner,
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
    post = activate(cfg.actFn, hp('mlp.hook_pre', linear(x, p.W_in, p.b_in))) as tf.Tensor2D;
  }
  return linear(hp('mlp.hook_post', post), p.W_out, p.b_out);
}

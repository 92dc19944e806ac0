// Applies user hook functions at each hook point of a forward pass and records the activations asked for.
import type * as tf from '@tensorflow/tfjs-core';
import { InputError } from '../../errors';

/** What a hook function is told besides the activation. */
export interface HookInfo {
  name: string;
  /**
   * The absolute position of the activation's first sequence row: 0 for a full forward, the number of cached
   * positions when decoding with a KV cache (so position-dependent interventions act on the same tokens).
   */
  positionOffset: number;
}

/** A hook function sees the activation at a hook point and may return a replacement of the same shape. */
export type HookFn = (activation: tf.Tensor, hook: HookInfo) => tf.Tensor | void;

export class HookRunner {
  readonly cache: Record<string, tf.Tensor> = {};

  constructor(
    private readonly hooks: ReadonlyMap<string, readonly HookFn[]>,
    private readonly cacheNames: ReadonlySet<string>,
    private readonly positionOffset = 0,
  ) {}

  point(name: string, x: tf.Tensor): tf.Tensor {
    let out = x;
    for (const fn of this.hooks.get(name) ?? []) {
      const replaced = fn(out, { name, positionOffset: this.positionOffset });
      if (replaced) {
        if (replaced.shape.length !== out.shape.length || replaced.shape.some((d, i) => d !== out.shape[i])) {
          throw new InputError(`hook '${name}' returned shape [${replaced.shape}], expected [${out.shape}]`);
        }
        out = replaced;
      }
    }
    if (this.cacheNames.has(name)) this.cache[name] = out;
    return out;
  }

  /** True when something observes or changes this hook point (lets the forward skip optional work). */
  watches(name: string): boolean {
    return this.cacheNames.has(name) || this.hooks.has(name);
  }
}

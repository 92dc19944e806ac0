// The fused step's backward-with-Adam kernel ('SaeTopKBackwardAdam') as its callers and both implementations (host.ts,
// webgpu/backward-adam.ts) see it: the parameters it updates, in order, and its attributes.
import type * as tf from '@tensorflow/tfjs-core';

/** The parameters the kernel updates, in the order of its attributes and outputs. */
export const FUSED_PARAMS = ['W_E', 'W_D', 'b_E', 'b_D'] as const;
export type FusedParam = (typeof FUSED_PARAMS)[number];

/** The backward kernel's attributes (fused-step.ts fills them; the CPU and webgpu kernels read them alike). */
export interface BackwardAdamAttrs {
  /** Each parameter's Adam step size, in the order W_E, W_D, b_E, b_D. */
  stepSizes: number[];
  /** [beta1, 1 − beta1, beta2, 1 − beta2, eps, sqrt(1 − beta2^t)]. */
  hyper: number[];
  unitRows: boolean;
  applyBias: boolean;
  /** Per parameter (same order): update in place, or into fresh outputs (another tensor shares its data). */
  inPlace: boolean[];
}

/** A BACKWARD_ADAM kernel's inputs by name, its attributes and its sizes, as both backends' kernels read them. */
export function backwardAdamCall(inputs: tf.NamedTensorInfoMap, attrs: unknown): BackwardAdamAttrs & { t: Record<string, tf.TensorInfo>; B: number; d: number; F: number; k: number } {
  const t = inputs as Record<string, tf.TensorInfo>;
  const [B, d] = t.x!.shape as [number, number];
  return { ...(attrs as BackwardAdamAttrs), t, B, d, F: t.W_E!.shape[1]!, k: t.values!.shape[1]! };
}


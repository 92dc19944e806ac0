// The fused step's backward-with-Adam kernel ('SaeTopKBackwardAdam') as its callers and both implementations (host.ts,
// webgpu/backward-adam.ts) see it: the parameters it updates, in order, and its attributes.
import type * as tf from '@tensorflow/tfjs-core';
import { matrixShape, requireInputs } from '../kernel-inputs';
import { SAE_FUSED_BACKWARD_ADAM } from '../kernel-names';

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

/** A parameter's value and its first and second moments. */
export interface ParamSet {
  p: tf.TensorInfo;
  m: tf.TensorInfo;
  v: tf.TensorInfo;
}

/** A backward kernel call as both backends' kernels read it: its inputs checked, its attributes and its sizes. */
export interface BackwardAdamCall extends BackwardAdamAttrs {
  /** The loss gradient [B, d], the batch [B, d] (the encoder's input before b_D is taken off), the selection [B, k]. */
  g: tf.TensorInfo;
  x: tf.TensorInfo;
  values: tf.TensorInfo;
  indices: tf.TensorInfo;
  /** Each parameter given (all but b_D must be) with its moments, as the inputs hold them. */
  params: Partial<Record<FusedParam, ParamSet>>;
  W_E: ParamSet;
  W_D: ParamSet;
  b_E: ParamSet;
  B: number;
  d: number;
  F: number;
  k: number;
}

/** Reads a backward kernel call: inputs 'g', 'x', 'values', 'indices' and each parameter n with 'm_n' and 'v_n'. */
export function backwardAdamCall(inputs: tf.NamedTensorInfoMap, attrs: unknown): BackwardAdamCall {
  const { g, x, values, indices } = requireInputs(SAE_FUSED_BACKWARD_ADAM, inputs, ['g', 'x', 'values', 'indices']);
  const params: Partial<Record<FusedParam, ParamSet>> = {};
  for (const n of FUSED_PARAMS) {
    const p = inputs[n];
    if (!p) continue;
    const moments = requireInputs(SAE_FUSED_BACKWARD_ADAM, inputs, [`m_${n}`, `v_${n}`]);
    params[n] = { p, m: moments[`m_${n}`], v: moments[`v_${n}`] };
  }
  const { W_E, W_D, b_E } = params;
  if (!W_E || !W_D || !b_E) throw new Error(`${SAE_FUSED_BACKWARD_ADAM}: W_E, W_D and b_E are required`);
  const a = attrs as BackwardAdamAttrs;
  if (a.applyBias && !params.b_D)
    throw new Error(`${SAE_FUSED_BACKWARD_ADAM}: b_D is applied to the encoder input but not given`);
  const [B, d] = matrixShape(SAE_FUSED_BACKWARD_ADAM, x, 'x');
  const F = matrixShape(SAE_FUSED_BACKWARD_ADAM, W_E.p, 'W_E')[1];
  const k = matrixShape(SAE_FUSED_BACKWARD_ADAM, values, 'values')[1];
  return { ...a, g, x, values, indices, params, W_E, W_D, b_E, B, d, F, k };
}

// The training step of a TopK SAE as three kernels, where the general step runs the sparse op, the loss, tfjs's
// backpropagation and one Adam kernel per parameter:
//   1. encode (the TopK: values, indices, firings; BatchTopK on the CPU backends: the batch's selection, see
//      selectBatch in tensor/kernels/sparse-topk/batch-selection.ts, and its threshold);
//   2. decode with the loss: per token the reconstruction, the residual y − x̂, Σ residual² and the gradient of
//      the mean reconstruction loss, −2 (y − x̂) / B, with the reconstruction itself never written;
//   3. backward with Adam: each parameter takes its Adam step as soon as its gradient is complete (a W_D row right
//      after its latent, W_E a group of latents at a time), so the gradients of W_E and W_D never reach memory,
//      and parameters no other tensor shares are updated in place.
// On the CPU backends they are native passes (tensor/kernels/fused-step/host.ts; native/src) doing every float operation of the
// general step in the same order, so both give the same parameters and moments to the bit; on webgpu they are
// WGSL dispatches (tensor/kernels/fused-step/webgpu.ts) that agree with the general step to float rounding. The tests hold them
// to that. It applies when the step is exactly that: the sparse path, the reconstruction loss alone, no clipping.
import * as tf from '@tensorflow/tfjs-core';
import { FUSED_PARAMS } from '../../tensor/kernels/fused-step/backward-adam-call';
import { webgpuFusedUnavailable } from '../../tensor/kernels/fused-step/webgpu';
import {
  SAE_ADAM_UPDATE,
  SAE_FUSED_BACKWARD_ADAM,
  SAE_FUSED_BATCH_ENCODE,
  SAE_FUSED_DECODE_RESIDUAL,
  SAE_FUSED_ENCODE,
} from '../../tensor/kernels/kernel-names';
import type { Adam } from '../optim/adam';
import type { StepSettings, StepStats } from '../train-step';
import { Sae } from '../variants/sae';
import { sparseTopKUnavailable } from './sparse-topk';

/** Why the fused step cannot take this step (null when it can). */
export function fusedTopKStepUnavailable(dict: unknown, adam: Adam, s: StepSettings): string | null {
  if (s.fused === false) return 'switched off';
  if (!s.sparse) return 'not on the sparse path';
  if (!(dict instanceof Sae)) return 'not an sae dictionary';
  const cfg = dict.cfg;
  if ((cfg.act_fn !== 'topk' && cfg.act_fn !== 'batchtopk') || cfg.sparsity_include_decoder_norm)
    return 'not a TopK or BatchTopK SAE without decoder norms in its selection';
  const names = Object.keys(dict.params);
  if (
    !names.every((n) => (FUSED_PARAMS as readonly string[]).includes(n)) ||
    !dict.params.W_E ||
    !dict.params.b_E ||
    !dict.params.W_D
  )
    return 'parameters other than W_E, b_E, W_D, b_D';
  if (names.some((n) => !adam.m.has(n))) return 'the optimiser does not hold every parameter';
  if (s.clipGradNorm > 0) return 'gradient clipping';
  const o = s.loss;
  if (
    (o.sparsityLossType && o.l1Coefficient > 0) ||
    o.lpCoefficient > 0 ||
    (o.auxkCoefficient > 0 && o.deadMask && o.nDead > 0)
  )
    return 'losses besides the reconstruction';
  const backend = tf.getBackend();
  if (backend === 'webgpu' && cfg.act_fn === 'batchtopk')
    return 'BatchTopK on webgpu takes the general step (its batch is selected before it)';
  if (backend === 'webgpu') {
    const why = webgpuFusedUnavailable(s.k ?? cfg.top_k, dict.params.W_D.shape[1]!);
    if (why) return why;
    // Registered when the backend started (tensor/kernels/register-custom-kernels.ts).
    return tf.getKernel(SAE_FUSED_BACKWARD_ADAM, backend)
      ? null
      : 'the webgpu fused step kernels are not registered (backend not started through initBackend)';
  }
  if (backend !== 'cpu' && backend !== 'wasm') return `backend ${backend}`;
  const why = sparseTopKUnavailable(cfg.act_fn === 'batchtopk' ? undefined : (s.k ?? cfg.top_k));
  if (why) return why;
  if (!tf.getKernel(SAE_FUSED_BACKWARD_ADAM, backend))
    return 'the native addon lacks the fused kernels (rebuild it: npm run build:native)';
  if (!tf.getKernel(SAE_ADAM_UPDATE, backend)) return 'no native Adam kernel';
  return null;
}

/** The step of trainStep (same results) for a dictionary and settings fusedTopKStepUnavailable accepts. */
export function fusedTopKStep(dict: Sae, adam: Adam, x: tf.Tensor2D, y: tf.Tensor2D, s: StepSettings): StepStats {
  const cfg = dict.cfg;
  const p = dict.params as Record<string, tf.Variable>;
  const k = s.k ?? cfg.top_k;
  const B = x.shape[0];
  const applyBias = cfg.apply_decoder_bias_to_pre_encoder && !!p.b_D;
  const run = (name: string, inputs: tf.NamedTensorMap, attrs: object) =>
    tf.engine().runKernel(name, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];

  // BatchTopK (CPU backends): the batch's selection, [B, W] codes with zeros where a token keeps fewer.
  const batch = cfg.act_fn === 'batchtopk';
  const [values, indices, fired, threshold] = run(
    batch ? SAE_FUSED_BATCH_ENCODE : SAE_FUSED_ENCODE,
    { x, we: p.W_E!, be: p.b_E!, ...(applyBias ? { bd: p.b_D! } : {}) },
    { k },
  ) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Scalar | undefined];
  // The loss is the mean over tokens of Σ (y − x̂)²; its gradient per token, 1 / B, as tfjs's Mean gradient makes it.
  const [g, rowErr] = run(
    SAE_FUSED_DECODE_RESIDUAL,
    { values, indices, wd: p.W_D!, ...(p.b_D ? { bd: p.b_D } : {}), y },
    { dyRow: Math.fround(1 / B) },
  ) as [tf.Tensor2D, tf.Tensor1D];

  const step = adam.begin(s.lr, s.lrFactors);
  const inputs: tf.NamedTensorMap = { g, x, values, indices };
  for (const n of FUSED_PARAMS)
    if (p[n]) Object.assign(inputs, { [n]: p[n], [`m_${n}`]: adam.m.get(n)!, [`v_${n}`]: adam.v.get(n)! });
  // A parameter whose value and moments no other tensor shares (tfjs shares data between clones, and a variable
  // with the tensor it was made from) is updated in place: no fresh 3 × its size to allocate and write, and none
  // of the memory traffic of bringing those new lines into cache. Shared ones get fresh outputs.
  const backend = tf.backend() as unknown as { refCount(dataId: object): number };
  const alone = (t: tf.Tensor) => backend.refCount(t.dataId) === 1;
  const inPlace = FUSED_PARAMS.map((n) => !!p[n] && alone(p[n]) && alone(adam.m.get(n)!) && alone(adam.v.get(n)!));
  const { beta1, beta2, eps } = adam.opts;
  const outs = run(SAE_FUSED_BACKWARD_ADAM, inputs, {
    stepSizes: FUSED_PARAMS.map((n) => (p[n] ? step.stepSize(n) : 0)),
    hyper: [beta1, 1 - beta1, beta2, 1 - beta2, eps, step.sqrtC2],
    unitRows: s.unitNormDecoder,
    applyBias,
    inPlace,
  });
  FUSED_PARAMS.filter((n, i) => p[n] && !inPlace[i]).forEach((n, i) =>
    adam.update(n, outs[3 * i]!, outs[3 * i + 1]!, outs[3 * i + 2]!),
  );
  tf.dispose([...outs, g]);

  const withMetrics = s.metrics ?? true;
  const parts = tf.tidy(() => {
    const l_rec = tf.mean(rowErr) as tf.Scalar;
    // The other parts are zero: the total is l_rec itself (the general step's l_rec + 0 + 0 + 0), and the zeros
    // stay on the host (on webgpu an addN would upload them every step).
    const [l_s, l_p, l_aux] = [tf.scalar(0), tf.scalar(0), tf.scalar(0)];
    return { total: tf.clone(l_rec), l_rec, l_s, l_p, l_aux };
  });
  const metrics = withMetrics
    ? tf.tidy(() => ({
        l0: tf.div(tf.sum(tf.cast(tf.greater(values, 0), 'float32')), B) as tf.Scalar,
        residualSq: tf.sum(rowErr) as tf.Scalar,
        totalSq: tf.sum(tf.square(tf.sub(y, tf.mean(y, 0)))) as tf.Scalar,
      }))
    : { l0: null, residualSq: null, totalSq: null };
  const stats: StepStats = { parts, ...metrics, fired, batchThreshold: threshold ?? null };
  tf.dispose([values, indices, rowErr]);
  return stats;
}

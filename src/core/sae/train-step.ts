// One optimisation step of a sparse dictionary: loss and gradients, optional unit-norm decoder constraint
// (gradient component parallel to each decoder row removed before the step, rows renormalised after), global
// gradient-norm clipping, Adam. Returns the step's statistics as tensors, read by the trainer when it logs.
import * as tf from '@tensorflow/tfjs-core';
import { computeLoss, type LossOptions, type LossParts } from './losses';
import { normalizeRows, projectOutRows } from '../tensor/kernels/unit-rows/op';
import type { Adam } from './optim/adam';
import { denseOutput, type SparseDictionary } from './sparse-dictionary';
import { fusedTopKStep, fusedTopKStepUnavailable } from './sparse/fused-step';
import type { PreselectedBatch } from './sparse/sparse-topk';
import type { Sae } from './variants/sae';

export interface StepSettings {
  /** Use the sparse TopK kernels (see sae/sparse). */
  sparse?: boolean;
  lr: number;
  lrFactors: Record<string, number>;
  k?: number;
  loss: LossOptions;
  clipGradNorm: number;
  unitNormDecoder: boolean;
  /** Compute l0, residualSq and totalSq (default true); a trainer asks only on the steps it logs. */
  metrics?: boolean;
  /**
   * Take the step as the fused native passes of sae/sparse/fused-step where they apply (default true): the same
   * results; false keeps the general path (tfjs backpropagation, then Adam), which the tests compare it with.
   */
  fused?: boolean;
  /** BatchTopK on the sparse path on webgpu: the batch's codes, selected before the step (preselectBatchTopK). */
  selection?: PreselectedBatch;
}

export interface StepStats {
  parts: LossParts;
  /** Mean number of active latents per token (null when metrics were not asked for). */
  l0: tf.Scalar | null;
  /** Σ (y − ŷ)² and Σ (y − ȳ)² over the batch (explained variance = 1 − a / b); null without metrics. */
  residualSq: tf.Scalar | null;
  totalSq: tf.Scalar | null;
  /** [d_sae] number of tokens of the batch each latent fired on. */
  fired: tf.Tensor1D;
  /** BatchTopK: the batch's selection threshold. */
  batchThreshold: tf.Scalar | null;
}

export function disposeStats(s: StepStats): void {
  const extra = [s.l0, s.residualSq, s.totalSq, s.batchThreshold].filter((t): t is tf.Scalar => t !== null);
  tf.dispose([...Object.values(s.parts), s.fired, ...extra]);
}

/** x: normalised input [B, d_in]; y: normalised target [B, d_out] (= x for an SAE). */
export function trainStep(
  dict: SparseDictionary,
  adam: Adam,
  x: tf.Tensor2D,
  y: tf.Tensor2D,
  s: StepSettings,
): StepStats {
  if (s.sparse && fusedTopKStepUnavailable(dict, adam, s) === null) return fusedTopKStep(dict as Sae, adam, x, y, s);
  const params = Object.entries(dict.params);
  const vars = params.map(([, v]) => v);
  const byVarName = new Map(params.map(([n, v]) => [v.name, n]));
  let stats: StepStats | undefined;

  // The returned loss is stats.parts.total (disposed with the stats).
  let sparseSide: tf.Tensor[] = [];
  let grads: tf.NamedTensorMap;
  try {
    ({ grads } = tf.variableGrads(() => {
      const fwd = dict.forward(x, {
        k: s.k,
        training: true,
        sparse: s.sparse,
        ...(s.selection ? { selection: s.selection } : {}),
      });
      const parts = computeLoss(dict, y, fwd, s.loss);
      const B = x.shape[0];
      const withMetrics = s.metrics ?? true;
      const st: StepStats = {
        parts: { ...parts },
        l0: !withMetrics
          ? null
          : fwd.sparse
            ? (tf.div(tf.sum(tf.cast(tf.greater(fwd.sparse.values, 0), 'float32')), B) as tf.Scalar)
            : (tf.mean(tf.sum(tf.cast(tf.greater(denseOutput(fwd, 'acts'), 0), 'float32'), 1)) as tf.Scalar),
        residualSq: withMetrics ? (tf.sum(tf.square(tf.sub(y, fwd.recon))) as tf.Scalar) : null,
        totalSq: withMetrics ? (tf.sum(tf.square(tf.sub(y, tf.mean(y, 0)))) as tf.Scalar) : null,
        fired: fwd.sparse
          ? fwd.sparse.fired
          : (tf.sum(tf.cast(tf.greater(denseOutput(fwd, 'acts'), 0), 'float32'), 0) as tf.Tensor1D),
        batchThreshold: fwd.batchThreshold ?? null,
      };
      // The sparse op's values and indices serve its gradient: disposed once it has been taken.
      if (fwd.sparse) sparseSide = [fwd.sparse.values, fwd.sparse.indices];
      // Kept past variableGrads' scope, which disposes everything else f creates.
      for (const t of [...Object.values(st.parts), st.l0, st.residualSq, st.totalSq, st.fired, st.batchThreshold])
        if (t) tf.keep(t);
      stats = st;
      return parts.total;
    }, vars));
  } finally {
    tf.dispose(sparseSide);
  }

  const named: Record<string, tf.Tensor> = {};
  for (const [varName, g] of Object.entries(grads)) {
    const name = byVarName.get(varName);
    if (name === undefined)
      throw new Error(`trainStep: a gradient for '${varName}', which is not a parameter of the dictionary`);
    named[name] = g;
  }

  // The unit-norm decoder: the component of each row's gradient along the (unit) row is removed, so the step moves
  // along the sphere, and the rows are renormalised after it. Without clipping Adam does both in its update (one
  // pass on the CPU); with clipping the projection must come before the gradient norm is taken.
  const W_D = dict.params.W_D;
  if (!W_D) throw new Error('trainStep: the dictionary has no W_D');
  const gradW_D = s.unitNormDecoder ? named.W_D : undefined;
  const unitRows = gradW_D ? ['W_D'] : [];
  if (s.clipGradNorm > 0) {
    if (gradW_D) {
      named.W_D = projectOutRows(gradW_D as tf.Tensor2D, W_D as unknown as tf.Tensor2D);
      gradW_D.dispose();
    }
    const clipped = tf.tidy(() => {
      const norm = tf.sqrt(tf.addN(Object.values(named).map((g) => tf.sum(tf.square(g)))));
      const scale = tf.minimum(1, tf.div(s.clipGradNorm, tf.add(norm, 1e-12)));
      return Object.fromEntries(Object.entries(named).map(([k, g]) => [k, tf.mul(g, scale)]));
    });
    tf.dispose(Object.values(named));
    Object.assign(named, clipped);
    adam.apply(named, s.lr, s.lrFactors);
  } else {
    adam.apply(named, s.lr, s.lrFactors, unitRows); // projects W_D's gradient and renormalises its rows itself
  }
  tf.dispose(Object.values(named));
  if (s.unitNormDecoder && (s.clipGradNorm > 0 || unitRows.length === 0))
    tf.tidy(() => W_D.assign(normalizeRows(W_D as unknown as tf.Tensor2D)));
  if (!stats) throw new Error('trainStep: the loss was never computed');
  return stats;
}

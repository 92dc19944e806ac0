// Per-latent sums over the latent CSR's segments on webgpu (no float atomics, no dense [B, d_sae] gradient): a
// scalar per latent (Σ of a coefficient, or a count of positive ones), and a row per latent (Σ coefficient · token row).
import type * as tf from '@tensorflow/tfjs-core';
import { matrixShape } from '../../kernel-inputs';
import { flatProgram, runner, type Program } from '../../webgpu-program';

/** Per latent: Σ over its segment of coef (mode 'sum') or of [coef > 0] (mode 'count'); [F]. */
export function segmentReduceProgram(F: number, mode: 'sum' | 'count'): Program {
  const term = mode === 'sum' ? 'coef[entries[e]]' : 'select(0.0, 1.0, coef[entries[e]] > 0.0)';
  return flatProgram(
    `SaeTopKSegment_${mode}`,
    [F],
    ['coef', 'entries', 'offs'],
    `
    var acc = 0.0;
    for (var e = offs[index]; e < offs[index + 1]; e++) { acc += ${term}; }
    setOutputAtIndex(index, acc);`,
  );
}

/** out [F, d]: row f = Σ over latent f's segment of coef[p] · rows[token(p)]. */
export function segmentOuterProgram(F: number, d: number, k: number): Program {
  return flatProgram(
    'SaeTopKSegmentOuter',
    [F, d],
    ['coef', 'rows', 'entries', 'offs'],
    `
    let d = uniforms.rowsShape.y;
    let f = index / d;
    let t = index - f * d;
    var acc = 0.0;
    for (var e = offs[f]; e < offs[f + 1]; e++) {
      let p = entries[e];
      acc += coef[p] * rows[(p / uniforms.k) * d + t];
    }
    setOutputAtIndex(index, acc);`,
    F * d,
    { k },
  );
}

/** Per latent, Σ of coef over its CSR segment ([F] float32), as a backend tensor. */
export function segmentSumInfo(
  backend: unknown,
  coef: tf.TensorInfo,
  entries: tf.TensorInfo,
  offsets: tf.TensorInfo,
): tf.TensorInfo {
  const F = matrixShape('segment sum', offsets, 'offsets')[1] - 1;
  return runner(backend).run(segmentReduceProgram(F, 'sum'), [coef, entries, offsets], 'float32');
}

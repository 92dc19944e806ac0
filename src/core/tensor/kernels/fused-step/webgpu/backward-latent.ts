// The fused step's webgpu backward, its passes before any update: the gradient at the selected latents, and b_D's
// gradient through the encoder input (from W_E before its update).
import type * as tf from '@tensorflow/tfjs-core';
import { allocate, dispatchRaw, grid1d } from '../../webgpu-dispatch';
import type { BackwardPassContext } from './backward-context';
import { GRID_BUILTINS, read, treeReduce, WG_INDEX, write } from './wgsl';

/** dz [B, k] = [v > 0] g[b]·W_D[idx]: one workgroup per token, 8 groups of 32 invocations, a slot per group. */
export function latentGradPass({ backend, g, W_D, indices, values, B, d, k }: BackwardPassContext): tf.TensorInfo {
  const dz = allocate(backend, [B, k]);
  dispatchRaw(backend, {
    key: `SaeFusedLatentGrad_k${k}`,
    storage: [read('g', g), read('wd', W_D.p), read('idx', indices, 'i32'), read('vals', values), write('dz', dz)],
    uniforms: [
      ['B', 'i32', B],
      ['d', 'i32', d],
    ],
    workgroupSize: [256, 1, 1],
    workgroups: grid1d(B),
    builtins: GRID_BUILTINS,
    body: `
      const K = ${k};
      var<workgroup> part : array<f32, 256>;
      fn main() {
        let b = ${WG_INDEX};
        if (b >= u.B) { return; }
        let lane = i32(li);
        let grp = lane / 32;
        let l = lane % 32;
        let d = u.d;
        for (var r = 0; r < ${Math.ceil(k / 8)}; r++) {
          let j = r * 8 + grp;
          var s = 0.0;
          if (j < K) {
            let row = idx[b * K + j] * d;
            for (var c = l; c < d; c += 32) { s += g[b * d + c] * wd[row + c]; }
          }
          part[lane] = s;
          workgroupBarrier();
          if (l == 0 && j < K) {
            var tot = 0.0;
            for (var q = 0; q < 32; q++) { tot += part[grp * 32 + q]; }
            dz[b * K + j] = select(0.0, tot, vals[b * K + j] > 0.0);
          }
          workgroupBarrier();
        }
      }`,
  });
  return dz;
}

/** corr [d] = W_E·db_E, b_D's gradient through the encoder input (where b_D is subtracted from it). */
export function encoderInputBiasPass({ backend, W_E, d, F }: BackwardPassContext, dbE: tf.TensorInfo): tf.TensorInfo {
  const corr = allocate(backend, [d]);
  dispatchRaw(backend, {
    key: 'SaeFusedWeDbE',
    storage: [read('we', W_E.p), read('dbE', dbE), write('corr', corr)],
    uniforms: [
      ['d', 'i32', d],
      ['F', 'i32', F],
    ],
    workgroupSize: [256, 1, 1],
    workgroups: grid1d(d),
    builtins: GRID_BUILTINS,
    body: `
      var<workgroup> red : array<f32, 256>;
      fn main() {
        let r = ${WG_INDEX};
        if (r >= u.d) { return; }
        let lane = i32(li);
        var s = 0.0;
        for (var f = lane; f < u.F; f += 256) { s += t_we(r, f); }
        red[lane] = s;
        ${treeReduce(256)}
        if (lane == 0) { corr[r] = red[0]; }
      }
      fn t_we(r : i32, f : i32) -> f32 { return we[r * u.F + f] * dbE[f]; }`,
  });
  return corr;
}

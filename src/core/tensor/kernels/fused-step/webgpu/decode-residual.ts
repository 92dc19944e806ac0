// The fused step's decode with the loss on webgpu ('SaeTopKDecodeResidual'): per token (one workgroup)
// x̂ = b_D + Σ_j v_j W_D[idx_j], the residual y − x̂, Σ residual² and the loss gradient −2 (y − x̂) / B — [g, rowErr],
// with the reconstruction itself never written.
import * as tf from '@tensorflow/tfjs-core';
import { matrixShape, requireInputs } from '../../kernel-inputs';
import { SAE_FUSED_DECODE_RESIDUAL } from '../../kernel-names';
import { allocate, dispatchRaw, grid1d } from '../../webgpu-dispatch';
import { GRID_BUILTINS, read, ROW_WG, treeReduce, WG_INDEX, write } from './wgsl';

/** Registers the kernel for webgpu (called by registerWebGpuFusedStep). */
export function registerWebGpuFusedDecode(): void {
  tf.registerKernel({
    kernelName: SAE_FUSED_DECODE_RESIDUAL,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { values, indices, wd, y } = requireInputs(SAE_FUSED_DECODE_RESIDUAL, inputs, [
        'values',
        'indices',
        'wd',
        'y',
      ]);
      const bd = inputs.bd;
      const { dyRow } = attrs as unknown as { dyRow: number };
      const [B, d] = matrixShape(SAE_FUSED_DECODE_RESIDUAL, y, 'y');
      const k = matrixShape(SAE_FUSED_DECODE_RESIDUAL, values, 'values')[1];
      const g = allocate(backend, [B, d]);
      const rowErr = allocate(backend, [B]);
      dispatchRaw(backend, {
        key: `SaeFusedDecodeResidual_k${k}_${bd ? 'bd' : 'nobd'}`,
        storage: [
          read('vals', values),
          read('idx', indices, 'i32'),
          read('wd', wd),
          ...(bd ? [read('bd', bd)] : []),
          read('y', y),
          write('g', g),
          write('rowErr', rowErr),
        ],
        uniforms: [
          ['B', 'i32', B],
          ['d', 'i32', d],
          ['scale', 'f32', -2 * dyRow],
        ],
        workgroupSize: [ROW_WG, 1, 1],
        workgroups: grid1d(B),
        builtins: GRID_BUILTINS,
        body: `
          const K = ${k};
          var<workgroup> sIdx : array<i32, K>;
          var<workgroup> sVal : array<f32, K>;
          var<workgroup> red : array<f32, ${ROW_WG}>;
          fn main() {
            let b = ${WG_INDEX};
            if (b >= u.B) { return; }
            let lane = i32(li);
            let d = u.d;
            for (var j = lane; j < K; j += ${ROW_WG}) { sIdx[j] = idx[b * K + j]; sVal[j] = vals[b * K + j]; }
            workgroupBarrier();
            var sq = 0.0;
            for (var t = lane; t < d; t += ${ROW_WG}) {
              var acc = ${bd ? 'bd[t]' : '0.0'};
              for (var j = 0; j < K; j++) { acc += sVal[j] * wd[sIdx[j] * d + t]; }
              let r = y[b * d + t] - acc;
              g[b * d + t] = r * u.scale;
              sq += r * r;
            }
            red[lane] = sq;
            ${treeReduce(ROW_WG)}
            if (lane == 0) { rowErr[b] = red[0]; }
          }`,
      });
      return [g, rowErr];
    },
  });
}

// LayerNorm / RMSNorm over the last axis with its weight and bias ('SaeRowNorm') on webgpu: a workgroup per row
// (tfjs: 9 programs), the mean, then the mean square of the centred row, as the plain formulation takes them.
import * as tf from '@tensorflow/tfjs-core';
import { SAE_ROW_NORM } from '../kernel-names';
import { allocate, dispatchRaw, grid1d, type StorageBinding } from '../webgpu-dispatch';

/** The builtins of a grid1d() dispatch. */
const GRID =
  '@builtin(workgroup_id) wg : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>, @builtin(local_invocation_index) lane : u32';
const NORM_THREADS = 128;

/** Registers the kernel for webgpu (idempotent). */
export function registerWebGpuRowNorm(): void {
  if (tf.getKernel(SAE_ROW_NORM, 'webgpu')) return;
  tf.registerKernel({
    kernelName: SAE_ROW_NORM,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, b } = inputs as { x: tf.TensorInfo; w: tf.TensorInfo; b?: tf.TensorInfo };
      const { eps, rms } = attrs as unknown as { eps: number; rms: boolean };
      const d = x.shape[x.shape.length - 1]!;
      const rows = tf.util.sizeFromShape(x.shape) / d;
      const out = allocate(backend, [...x.shape]);
      const storage: StorageBinding[] = [
        { name: 'x', tensor: x, access: 'read' },
        { name: 'w', tensor: w, access: 'read' },
        ...(b ? [{ name: 'bias', tensor: b, access: 'read' as const }] : []),
        { name: 'y', tensor: out, access: 'read_write' },
      ];
      // Sums over the row in a fixed order: each invocation its stride of elements, then a tree over the workgroup.
      const reduce = (v: string) => `
        red[lane] = ${v};
        workgroupBarrier();
        for (var st = ${NORM_THREADS / 2}u; st > 0u; st = st / 2u) {
          if (lane < st) { red[lane] += red[lane + st]; }
          workgroupBarrier();
        }`;
      dispatchRaw(backend, {
        key: `SaeRowNorm_${rms ? 'rms' : 'ln'}${b ? '_bias' : ''}`,
        storage,
        uniforms: [
          ['rows', 'i32', rows],
          ['d', 'i32', d],
          ['eps', 'f32', eps],
        ],
        workgroupSize: [NORM_THREADS, 1, 1],
        workgroups: grid1d(rows),
        builtins: GRID,
        body: `
          var<workgroup> red : array<f32, ${NORM_THREADS}>;
          fn main() {
            let row = i32(wg.y * nwg.x + wg.x);
            if (row >= u.rows) { return; }
            let o = row * u.d;
            let n = f32(u.d);
            var mean = 0.0;
            ${
              rms
                ? ''
                : `var s = 0.0;
            for (var t = i32(lane); t < u.d; t += ${NORM_THREADS}) { s += x[o + t]; }
            ${reduce('s')}
            mean = red[0] / n;
            workgroupBarrier();`
            }
            var s2 = 0.0;
            for (var t = i32(lane); t < u.d; t += ${NORM_THREADS}) { let c = x[o + t] - mean; s2 = fma(c, c, s2); }
            ${reduce('s2')}
            let scale = sqrt(red[0] / n + u.eps);
            for (var t = i32(lane); t < u.d; t += ${NORM_THREADS}) {
              y[o + t] = (x[o + t] - mean) / scale * w[t]${b ? ' + bias[t]' : ''};
            }
          }`,
      });
      return out;
    },
  });
}

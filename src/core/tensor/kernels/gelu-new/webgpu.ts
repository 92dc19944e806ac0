// HF's tanh GELU ('SaeGeluNew') on webgpu in one dispatch (tfjs: 6 programs), as x·σ(2u) with σ in the form that
// cannot overflow.
import * as tf from '@tensorflow/tfjs-core';
import { SAE_GELU_NEW } from '../kernel-names';
import { allocate, dispatchRaw, grid1d } from '../webgpu-dispatch';

/** The builtins of a grid1d() dispatch. */
const GRID =
  '@builtin(workgroup_id) wg : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>, @builtin(local_invocation_index) lane : u32';

/** Registers the kernel for webgpu (idempotent). */
export function registerWebGpuGeluNew(): void {
  if (tf.getKernel(SAE_GELU_NEW, 'webgpu')) return;
  tf.registerKernel({
    kernelName: SAE_GELU_NEW,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend }) => {
      const { x } = inputs as { x: tf.TensorInfo };
      const n = tf.util.sizeFromShape(x.shape);
      const out = allocate(backend, [...x.shape]);
      const c = Math.sqrt(2 / Math.PI);
      dispatchRaw(backend, {
        key: 'SaeGeluNew',
        storage: [
          { name: 'x', tensor: x, access: 'read' },
          { name: 'y', tensor: out, access: 'read_write' },
        ],
        uniforms: [['n', 'i32', n]],
        workgroupSize: [256, 1, 1],
        workgroups: grid1d(Math.ceil(n / 256)),
        builtins: GRID,
        body: `
          fn main() {
            let i = i32(wg.y * nwg.x + wg.x) * 256 + i32(lane);
            if (i >= u.n) { return; }
            let v = x[i];
            let u2 = v * (${(2 * c).toPrecision(9)} + v * v * ${(2 * c * 0.044715).toPrecision(9)});
            // σ(u2) from exp(−|u2|) ≤ 1: no overflow for any input
            let e = exp(-abs(u2));
            let sig = select(e / (1.0 + e), 1.0 / (1.0 + e), u2 >= 0.0);
            y[i] = v * sig;
          }`,
      });
      return out;
    },
  });
}

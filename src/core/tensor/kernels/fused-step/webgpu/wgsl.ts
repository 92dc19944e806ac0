// WGSL building blocks the fused step's webgpu passes share: storage bindings, the grid1d() workgroup index, a flat
// one-invocation-per-element dispatch, a workgroup tree reduction and the Adam step of one element.
import type * as tf from '@tensorflow/tfjs-core';
import { dispatchRaw, grid1d, type StorageBinding } from '../../webgpu-dispatch';

/** Invocations of the row passes' workgroups (a token or a W_D row per workgroup). */
export const ROW_WG = 256;

export const read = (name: string, tensor: tf.TensorInfo, type = 'f32'): StorageBinding => ({
  name,
  tensor,
  access: 'read',
  type,
});
export const write = (name: string, tensor: tf.TensorInfo, type = 'f32'): StorageBinding => ({
  name,
  tensor,
  access: 'read_write',
  type,
});

/** The linear workgroup index of a grid1d() dispatch. */
export const WG_INDEX = 'i32(wg.y * nwg.x + wg.x)';
export const GRID_BUILTINS =
  '@builtin(workgroup_id) wg : vec3<u32>, @builtin(num_workgroups) nwg : vec3<u32>, @builtin(local_invocation_index) li : u32';

/** One invocation per element i < n (uniform u.n), 256 to a workgroup: `body` runs with `i` in range. */
export function dispatchFlat(
  backend: unknown,
  key: string,
  n: number,
  storage: StorageBinding[],
  body: string,
  uniforms: Array<[string, 'f32' | 'i32', number]> = [],
): void {
  dispatchRaw(backend, {
    key,
    storage,
    uniforms: [['n', 'i32', n], ...uniforms],
    workgroupSize: [256, 1, 1],
    workgroups: grid1d(Math.ceil(n / 256)),
    builtins: GRID_BUILTINS,
    body: `fn main() {
      let i = ${WG_INDEX} * 256 + i32(li);
      if (i >= u.n) { return; }
      ${body}
    }`,
  });
}

/** Sum of red[0..WG) into red[0], every invocation of the workgroup calling it (WG a power of two). */
export function treeReduce(wg: number): string {
  return `
    workgroupBarrier();
    for (var st = ${wg / 2}; st > 0; st = st / 2) {
      if (lane < st) { red[lane] += red[lane + st]; }
      workgroupBarrier();
    }`;
}

/**
 * One Adam step of element i of a parameter whose value, first and second moments are the bindings p, m, v:
 * the general step's formula, p − (m' / (sqrt(v') / sqrtC2 + eps)) · stepSize. Leaves the new value in `pn`.
 */
export function adamElement(p: string, m: string, v: string, i: string, grad: string, stepSize: string): string {
  return `
      {
        let gr = ${grad};
        let mn = ${m}[${i}] * u.beta1 + gr * u.omb1;
        let vn = ${v}[${i}] * u.beta2 + (gr * gr) * u.omb2;
        ${m}[${i}] = mn;
        ${v}[${i}] = vn;
        pn = ${p}[${i}] - (mn / (sqrt(vn) / u.sqrtC2 + u.eps)) * ${stepSize};
      }`;
}

/** The Adam constants every update pass takes as uniforms: beta1, 1 − beta1, beta2, 1 − beta2, eps, sqrtC2. */
export type Hyper = Array<[string, 'f32', number]>;

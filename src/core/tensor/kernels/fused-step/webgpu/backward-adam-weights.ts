// The fused step's webgpu backward, its weight updates: each matrix's gradient is summed over the latent CSR's
// segments where its Adam step runs, so no dense gradient of W_E or W_D is ever written.
import { dispatchRaw, grid1d } from '../../webgpu-dispatch';
import type { ParamSet } from '../backward-adam-call';
import type { BackwardPassContext, Csr } from './backward-context';
import { adamElement, GRID_BUILTINS, read, ROW_WG, treeReduce, WG_INDEX, write } from './wgsl';
import type * as tf from '@tensorflow/tfjs-core';

/**
 * W_E [d, F]: 32 latents × 32 rows per workgroup; the gradient tile Σ dz·(x − b_D) over each latent's segment goes
 * through workgroup memory so the update runs along latents (coalesced).
 */
export function adamEncoderWeightsPass(
  { backend, x, params, d, F, k, applyBias, adamUniforms }: BackwardPassContext,
  { entries, offsets }: Csr,
  dz: tf.TensorInfo,
  WE: ParamSet,
  sWE: number,
): void {
  const bd = applyBias ? params.b_D?.p : undefined; // b_D before its update (backwardAdamCall checks it is given)
  dispatchRaw(backend, {
    key: `SaeFusedAdamWE_k${k}_${applyBias ? 'bias' : 'nobias'}`,
    storage: [
      read('entries', entries, 'i32'),
      read('offs', offsets, 'i32'),
      read('dz', dz),
      read('x', x),
      ...(bd ? [read('bd', bd)] : []),
      write('p', WE.p),
      write('m', WE.m),
      write('v', WE.v),
    ],
    uniforms: [['d', 'i32', d], ['F', 'i32', F], ...adamUniforms, ['step', 'f32', sWE]],
    workgroupSize: [256, 1, 1],
    workgroups: [Math.ceil(F / 32), Math.ceil(d / 32), 1],
    builtins: '@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32',
    body: `
      const K = ${k};
      var<workgroup> gt : array<f32, ${32 * 33}>;
      var<workgroup> seg : array<i32, 33>;
      fn main() {
        let lane = i32(li);
        let l = lane % 32;
        let w = lane / 32;
        let d = u.d; let F = u.F;
        let f0 = i32(wg.x) * 32; let t0 = i32(wg.y) * 32;
        if (lane < 33) { seg[lane] = offs[min(f0 + lane, F)]; }
        workgroupBarrier();
        for (var q = 0; q < 4; q++) {
          let fl = w + 8 * q;
          let c = t0 + l;
          var s = 0.0;
          if (f0 + fl < F && c < d) {
            for (var e = seg[fl]; e < seg[fl + 1]; e++) {
              let pp = entries[e];
              s += dz[pp] * (x[(pp / K) * d + c]${applyBias ? ' - bd[c]' : ''});
            }
          }
          gt[fl * 33 + l] = s;
        }
        workgroupBarrier();
        for (var q = 0; q < 4; q++) {
          let r = t0 + w + 8 * q;
          let f = f0 + l;
          if (r < d && f < F) {
            let i = r * F + f;
            var pn = 0.0;
            ${adamElement('p', 'm', 'v', 'i', `gt[l * 33 + w + 8 * q]`, 'u.step')}
            p[i] = pn;
          }
        }
      }`,
  });
}

/**
 * W_D [F, d]: a row per workgroup; its gradient Σ v·g over the latent's segment stays in registers through the
 * projection (unit-norm rows), the Adam step and the renormalisation.
 */
export function adamDecoderWeightsPass(
  { backend, g, values, d, F, k, unitRows, adamUniforms }: BackwardPassContext,
  { entries, offsets }: Csr,
  WD: ParamSet,
  sWD: number,
): void {
  const per = Math.ceil(d / ROW_WG);
  dispatchRaw(backend, {
    key: `SaeFusedAdamWD_k${k}_per${per}_${unitRows ? 'unit' : 'free'}`,
    storage: [
      read('entries', entries, 'i32'),
      read('offs', offsets, 'i32'),
      read('vals', values),
      read('g', g),
      write('p', WD.p),
      write('m', WD.m),
      write('v', WD.v),
    ],
    uniforms: [['d', 'i32', d], ['F', 'i32', F], ...adamUniforms, ['step', 'f32', sWD]],
    workgroupSize: [ROW_WG, 1, 1],
    workgroups: grid1d(F),
    builtins: GRID_BUILTINS,
    body: `
      const K = ${k};
      const PER = ${per};
      var<workgroup> red : array<f32, ${ROW_WG}>;
      fn main() {
        let f = ${WG_INDEX};
        if (f >= u.F) { return; }
        let lane = i32(li);
        let d = u.d;
        let lo = offs[f]; let hi = offs[f + 1];
        var gr : array<f32, PER>;
        var dot = 0.0;
        for (var q = 0; q < PER; q++) {
          let c = lane + q * ${ROW_WG};
          var s = 0.0;
          if (c < d) {
            for (var e = lo; e < hi; e++) { let pp = entries[e]; s += vals[pp] * g[(pp / K) * d + c]; }
            dot += s * p[f * d + c];
          }
          gr[q] = s;
        }
        ${unitRows ? `red[lane] = dot; ${treeReduce(ROW_WG)} let along = red[0]; workgroupBarrier();` : ''}
        var nsq = 0.0;
        for (var q = 0; q < PER; q++) {
          let c = lane + q * ${ROW_WG};
          if (c < d) {
            let i = f * d + c;
            var pn = 0.0;
            ${adamElement('p', 'm', 'v', 'i', unitRows ? 'gr[q] - along * p[i]' : 'gr[q]', 'u.step')}
            gr[q] = pn;
            nsq += pn * pn;
          }
        }
        ${unitRows ? `red[lane] = nsq; ${treeReduce(ROW_WG)} let norm = sqrt(red[0]);` : ''}
        for (var q = 0; q < PER; q++) {
          let c = lane + q * ${ROW_WG};
          if (c < d) { p[f * d + c] = ${unitRows ? 'gr[q] / norm' : 'gr[q]'}; }
        }
      }`,
  });
}

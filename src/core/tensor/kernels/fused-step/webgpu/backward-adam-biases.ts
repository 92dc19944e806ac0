// The fused step's webgpu backward, its bias updates: b_E from its segment sums, b_D from the column sums of the
// loss gradient (less W_E·db_E where b_D feeds the encoder).
import type * as tf from '@tensorflow/tfjs-core';
import { allocate, dispatchRaw } from '../../webgpu-dispatch';
import type { ParamSet } from '../backward-adam-call';
import type { BackwardPassContext } from './backward-context';
import { adamElement, dispatchFlat, read, write } from './wgsl';

/** b_E [F]: its gradient db_E (the segment sums of dz) and the Adam step, one invocation per element. */
export function adamEncoderBiasPass(
  { backend, F, adamUniforms }: BackwardPassContext,
  dbE: tf.TensorInfo,
  BE: ParamSet,
  sBE: number,
): void {
  dispatchFlat(
    backend,
    'SaeFusedAdamVec',
    F,
    [read('grad', dbE), write('p', BE.p), write('m', BE.m), write('v', BE.v)],
    `
      var pn = 0.0;
      ${adamElement('p', 'm', 'v', 'i', 'grad[i]', 'u.step')}
      p[i] = pn;`,
    [...adamUniforms, ['step', 'f32', sBE]],
  );
}

/** b_D [d]: Σ_b g[b] in 128-row chunks, then the update (less `corr` = W_E·db_E where b_D feeds the encoder). */
export function adamDecoderBiasPass(
  { backend, g, B, d, adamUniforms }: BackwardPassContext,
  bD: ParamSet,
  corr: tf.TensorInfo | null,
  sBD: number,
): void {
  const chunks = Math.ceil(B / 128);
  const partial = allocate(backend, [chunks, d]);
  dispatchRaw(backend, {
    key: 'SaeFusedColumnSums',
    storage: [read('g', g), write('partial', partial)],
    uniforms: [
      ['B', 'i32', B],
      ['d', 'i32', d],
    ],
    workgroupSize: [256, 1, 1],
    workgroups: [Math.ceil(d / 256), chunks, 1],
    builtins: '@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) li : u32',
    body: `fn main() {
      let c = i32(wg.x) * 256 + i32(li);
      let ch = i32(wg.y);
      if (c >= u.d) { return; }
      var s = 0.0;
      for (var b = ch * 128; b < min(u.B, ch * 128 + 128); b++) { s += g[b * u.d + c]; }
      partial[ch * u.d + c] = s;
    }`,
  });
  dispatchFlat(
    backend,
    `SaeFusedAdamBD_${corr ? 'corr' : 'plain'}`,
    d,
    [
      read('partial', partial),
      ...(corr ? [read('corr', corr)] : []),
      write('p', bD.p),
      write('m', bD.m),
      write('v', bD.v),
    ],
    `
      var s = 0.0;
      for (var ch = 0; ch < u.chunks; ch++) { s += partial[ch * u.n + i]; }
      var pn = 0.0;
      ${adamElement('p', 'm', 'v', 'i', corr ? 's - corr[i]' : 's', 'u.step')}
      p[i] = pn;`,
    [['chunks', 'i32', chunks], ...adamUniforms, ['step', 'f32', sBD]],
  );
  (backend as tf.KernelBackend).disposeData(partial.dataId);
}

// Causal attention ('SaeCausalAttention') on webgpu as one WGSL dispatch where tfjs's formulation runs three
// transposes, two batched matmuls, the mask addition and a softmax of several programs, and materialises the
// [B, H, S, S] scores and pattern (the LM forward on a GPU is bound by the host's per-program cost, ~30 µs each).
// A workgroup takes 64 queries of one (batch, head); each invocation keeps its query row and its output row in
// registers and walks the keys its workgroup needs in tiles held in workgroup memory (k and v, 16 KB at most), with
// the softmax taken online: per tile the scores (soft-capped where the model does, as Gemma 2), their maximum, one
// rescaling of the running sum and output, then the tile's exp-weighted values. Keys beyond the causal limit or
// outside the window never enter a score.
import * as tf from '@tensorflow/tfjs-core';
import { SAE_CAUSAL_ATTENTION } from '../kernel-names';
import { allocate, dispatchRaw } from '../webgpu-dispatch';
import { WEBGPU_ATTENTION_MAX_DHEAD } from './op';

const QUERIES = 64;
/** Workgroup memory WebGPU guarantees (maxComputeWorkgroupStorageSize's default), in floats: the k and v tiles. */
const TILE_FLOATS = 16384 / 4 / 2;

/** Keys per tile for heads of dh: as many as fit, at most 32. */
function keysPerTile(dh: number): number {
  return Math.max(1, Math.min(32, Math.floor(TILE_FLOATS / dh)));
}

function shaderBody(dh: number): string {
  const TK = keysPerTile(dh);
  return `
    const DH = ${dh};
    const TK = ${TK};
    const NEG = -3.0e38;
    var<workgroup> ks : array<f32, ${TK * dh}>;
    var<workgroup> vs : array<f32, ${TK * dh}>;
    fn main() {
      let b = i32(wg.z);
      let h = i32(wg.y);
      let i0 = i32(wg.x) * ${QUERIES};
      let i = i0 + i32(lane);
      let live = i < u.S;
      let kh = h / (u.H / u.Kh);
      var qv : array<f32, DH>;
      var acc : array<f32, DH>;
      if (live) {
        let qo = ((b * u.S + i) * u.H + h) * DH;
        for (var t = 0; t < DH; t++) { qv[t] = q[qo + t] * u.scale; acc[t] = 0.0; }
      }
      var m = NEG;
      var l = 0.0;
      // The keys some query of this workgroup sees: up to its last query, from the first query's window on.
      let jend = min(u.S - 1, i0 + ${QUERIES - 1});
      var jstart = 0;
      if (u.window > 0) { jstart = max(0, i0 - u.window + 1); }
      for (var j0 = jstart; j0 <= jend; j0 += TK) {
        for (var e = i32(lane); e < TK * DH; e += ${QUERIES}) {
          let jj = j0 + e / DH;
          var kv = 0.0;
          var vv = 0.0;
          if (jj <= jend) {
            let o = ((b * u.S + jj) * u.Kh + kh) * DH + e % DH;
            kv = k[o];
            vv = v[o];
          }
          ks[e] = kv;
          vs[e] = vv;
        }
        workgroupBarrier();
        if (live) {
          var s : array<f32, TK>;
          var tmax = NEG;
          for (var c = 0; c < TK; c++) {
            let jj = j0 + c;
            s[c] = NEG;
            if (jj <= i && (u.window <= 0 || jj > i - u.window)) {
              var dot = 0.0;
              for (var t = 0; t < DH; t++) { dot = fma(qv[t], ks[c * DH + t], dot); }
              if (u.softcap > 0.0) { dot = tanh(dot / u.softcap) * u.softcap; }
              s[c] = dot;
              tmax = max(tmax, dot);
            }
          }
          if (tmax > NEG) {
            let mn = max(m, tmax);
            let corr = exp(m - mn);
            l = l * corr;
            for (var t = 0; t < DH; t++) { acc[t] = acc[t] * corr; }
            for (var c = 0; c < TK; c++) {
              if (s[c] > NEG) {
                let p = exp(s[c] - mn);
                l = l + p;
                for (var t = 0; t < DH; t++) { acc[t] = fma(p, vs[c * DH + t], acc[t]); }
              }
            }
            m = mn;
          }
        }
        workgroupBarrier();
      }
      if (live) {
        let zo = ((b * u.S + i) * u.H + h) * DH;
        for (var t = 0; t < DH; t++) { z[zo + t] = acc[t] / l; }
      }
    }`;
}

/** Registers the kernel for webgpu (idempotent). */
export function registerWebGpuCausalAttention(): void {
  if (tf.getKernel(SAE_CAUSAL_ATTENTION, 'webgpu')) return;
  tf.registerKernel({
    kernelName: SAE_CAUSAL_ATTENTION,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { q, k, v } = inputs as { q: tf.TensorInfo; k: tf.TensorInfo; v: tf.TensorInfo };
      const { window, scale, softcap } = attrs as unknown as { window: number; scale: number; softcap?: number };
      const [B, S, H, dh] = q.shape as [number, number, number, number];
      const Kh = k.shape[2]!;
      if (dh < 1 || dh > WEBGPU_ATTENTION_MAX_DHEAD || H % Kh !== 0) {
        throw new Error(
          `${SAE_CAUSAL_ATTENTION} (webgpu): d_head ${dh} with ${H} query and ${Kh} key heads is not supported (d_head ≤ ${WEBGPU_ATTENTION_MAX_DHEAD}, heads a multiple of key heads)`,
        );
      }
      const z = allocate(backend, [B, S, H, dh]);
      dispatchRaw(backend, {
        key: `SaeCausalAttention_dh${dh}`,
        storage: [
          { name: 'q', tensor: q, access: 'read' },
          { name: 'k', tensor: k, access: 'read' },
          { name: 'v', tensor: v, access: 'read' },
          { name: 'z', tensor: z, access: 'read_write' },
        ],
        uniforms: [
          ['S', 'i32', S],
          ['H', 'i32', H],
          ['Kh', 'i32', Kh],
          ['window', 'i32', window],
          ['softcap', 'f32', softcap ?? 0],
          ['scale', 'f32', scale],
        ],
        workgroupSize: [QUERIES, 1, 1],
        workgroups: [Math.ceil(S / QUERIES), H, B],
        builtins: '@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_index) lane : u32',
        body: shaderBody(dh),
      });
      return z;
    },
  });
}

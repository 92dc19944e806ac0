// The fused step's encoder matmul on webgpu: pre = (x − b_D) W_E + bias in 128×128 output tiles (each thread an 8×8
// block, K in stages through workgroup memory, x and W read as vec4 where K and N allow). The sparse TopK op's
// forward uses it too, through the 'SaeTiledEncoder' kernel.
import type * as tf from '@tensorflow/tfjs-core';
import { matrixShape } from '../../kernel-inputs';
import { dispatchRaw } from '../../webgpu-dispatch';
import { read, write } from './wgsl';

/** The encoder's tiling: k steps per stage of workgroup memory, and whether x and W are read as vec4. */
export interface EncoderTiling {
  bk: 8 | 16;
  vec4: boolean;
}

/** What the fused step uses (chosen on an H200: README, "On a GPU"); bench/gpu.ts changes it to compare tilings. */
export const DEFAULT_ENCODER_TILING: EncoderTiling = { bk: 16, vec4: true };

/**
 * pre [M, N] = (x − bd) [M, K] · w [K, N] + bias: 128×128 output tiles per workgroup of 16×16 threads, each thread
 * rows ty·4 + [0, 4) and 64 + ty·4 + [0, 4) by columns tx·4 + [0, 4) and 64 + tx·4 + [0, 4) (64 accumulators), K in
 * stages of `bk` through workgroup memory (x's tile stored transposed, rows padded to 33 vec4 against bank
 * conflicts). With vec4 (K and N multiples of 4) each thread reads its share of a stage as whole vec4s.
 */
export function encoderKernel(
  backend: unknown,
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  bias: tf.TensorInfo,
  bd: tf.TensorInfo | null,
  pre: tf.TensorInfo,
  tiling: EncoderTiling = DEFAULT_ENCODER_TILING,
  rowOffset = 0,
) {
  const K = matrixShape('tiled encoder', x, 'x')[1];
  const M = matrixShape('tiled encoder', pre, 'pre')[0]; // pre holds x's rows rowOffset … rowOffset + M
  const N = matrixShape('tiled encoder', w, 'W')[1];
  const BK = tiling.bk;
  const vec4 = tiling.vec4 && K % 4 === 0 && N % 4 === 0;
  const fma: string[] = [];
  for (let kk = 0; kk < BK; kk++) {
    fma.push(
      `{ let a0 = As[${kk * 33} + ty]; let a1 = As[${kk * 33 + 16} + ty]; let b0 = Bs[${kk * 32} + tx]; let b1 = Bs[${kk * 32 + 16} + tx];`,
    );
    ['a0.x', 'a0.y', 'a0.z', 'a0.w', 'a1.x', 'a1.y', 'a1.z', 'a1.w'].forEach((a, r) =>
      fma.push(`c${r}0 += ${a} * b0; c${r}1 += ${a} * b1;`),
    );
    fma.push('}');
  }
  const decl: string[] = [];
  const store: string[] = [];
  for (let r = 0; r < 8; r++) {
    decl.push(`var c${r}0 = vec4<f32>(0.0); var c${r}1 = vec4<f32>(0.0);`);
    const row = r < 4 ? `m0 + ty * 4 + ${r}` : `m0 + 64 + ty * 4 + ${r - 4}`;
    store.push(
      `{ let m = ${row}; if (m < M) { store4(m, n0 + tx * 4, c${r}0); store4(m, n0 + 64 + tx * 4, c${r}1); } }`,
    );
  }
  // A stage: 128 × BK of x and BK × 128 of w, spread over the 256 threads.
  const load = vec4
    ? `
          for (var q = 0; q < ${BK / 8}; q++) {
            let e = lane + 256 * q;
            let r = e / ${BK / 4}; let c4 = e % ${BK / 4};
            let m = m0 + r; let k = k0 + c4 * 4;
            var v = vec4<f32>(0.0);
            if (m < M && k < K) { v = x[((u.r0 + m) * K + k) / 4]${bd ? ' - bd[k / 4]' : ''}; }
            for (var j = 0; j < 4; j++) { As[(c4 * 4 + j) * 33 + r / 4][r % 4] = v[j]; }
            let kr = e / 32; let n4 = e % 32;
            var wv = vec4<f32>(0.0);
            if (k0 + kr < K && n0 + n4 * 4 < N) { wv = w[((k0 + kr) * N + n0) / 4 + n4]; }
            Bs[kr * 32 + n4] = wv;
          }`
    : `
          for (var q = 0; q < ${BK / 2}; q++) {
            let e = lane + 256 * q;
            let r = e / ${BK}; let c = e % ${BK};
            let m = m0 + r; let k = k0 + c;
            var v = 0.0;
            if (m < M && k < K) { v = x[(u.r0 + m) * K + k]${bd ? ' - bd[k]' : ''}; }
            As[c * 33 + r / 4][r % 4] = v;
            let kr = e / 128; let n = e % 128;
            var wv = 0.0;
            if (k0 + kr < K && n0 + n < N) { wv = w[(k0 + kr) * N + n0 + n]; }
            Bs[kr * 32 + n / 4][n % 4] = wv;
          }`;
  const t = vec4 ? 'vec4<f32>' : 'f32';
  dispatchRaw(backend, {
    key: `SaeTiledEncoder_bk${BK}_${vec4 ? 'vec4' : 'f32'}_${bd ? 'bd' : 'nobd'}`,
    storage: [
      read('x', x, t),
      read('w', w, t),
      read('bias', bias),
      ...(bd ? [read('bd', bd, t)] : []),
      write('pre', pre),
    ],
    uniforms: [
      ['M', 'i32', M],
      ['K', 'i32', K],
      ['N', 'i32', N],
      ['r0', 'i32', rowOffset],
    ],
    workgroupSize: [16, 16, 1],
    workgroups: [Math.ceil(N / 128), Math.ceil(M / 128), 1],
    builtins:
      '@builtin(workgroup_id) wg : vec3<u32>, @builtin(local_invocation_id) lid : vec3<u32>, @builtin(local_invocation_index) li : u32',
    body: `
      var<workgroup> As : array<vec4<f32>, ${BK * 33}>; // [k][128 rows / 4], padded to 33
      var<workgroup> Bs : array<vec4<f32>, ${BK * 32}>; // [k][128 columns / 4]
      fn store4(m : i32, n : i32, c : vec4<f32>) {
        let N = u.N;
        for (var j = 0; j < 4; j++) { if (n + j < N) { pre[m * N + n + j] = c[j] + bias[n + j]; } }
      }
      fn main() {
        let M = u.M; let K = u.K; let N = u.N;
        let tx = i32(lid.x); let ty = i32(lid.y); let lane = i32(li);
        let n0 = i32(wg.x) * 128; let m0 = i32(wg.y) * 128;
        ${decl.join('\n        ')}
        for (var k0 = 0; k0 < K; k0 += ${BK}) {
          ${load}
          workgroupBarrier();
          ${fma.join('\n          ')}
          workgroupBarrier();
        }
        ${store.join('\n        ')}
      }`,
  });
}
